"""The HTTP edge every context shares: error shape, access before validation, body limits, methods,
expiry and the headers on every answer."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from aws_lambda_powertools.event_handler import Response
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.clock import FixedClock, SystemClock
from keel.http import MAX_BODY_BYTES, MAX_JSON_DEPTH, KeelResolver, nests_deeper_than
from keel.openapi import document
from keel.tenancy import Access
from tests.support import things
from tests.support.events import api_event, authorizer_context, response_json

MEMBER = authorizer_context(role="member")
ADMIN = authorizer_context(role="admin")


def call(event: dict) -> tuple[int, dict]:
    response = things.handler(event, None)  # type: ignore[arg-type]
    return response["statusCode"], response_json(response)


def test_unknown_route_is_a_404_in_the_error_shape() -> None:
    status, body = call(api_event("GET", "/v1/nothing-here", authorizer=ADMIN))
    assert status == 404
    assert body == {"error": {"code": "not_found", "message": "no such route", "request_id": "req-1"}}


def test_malformed_json_is_a_400_not_a_422() -> None:
    status, body = call(api_event("POST", "/v1/things", body="{not json", authorizer=ADMIN))
    assert status == 400
    assert body["error"]["message"] == "request body is not valid JSON"


def test_wrong_content_type_is_a_400() -> None:
    event = api_event(
        "POST", "/v1/things", body='{"name": "a"}', headers={"Content-Type": "text/plain"}, authorizer=ADMIN
    )
    status, body = call(event)
    assert status == 400
    assert "application/json" in body["error"]["message"]


def test_a_body_over_256_kb_is_a_413() -> None:
    big = json.dumps({"name": "x" * MAX_BODY_BYTES})
    status, body = call(api_event("POST", "/v1/things", body=big, authorizer=ADMIN))
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"


def test_no_authorizer_context_on_a_private_route_is_a_401() -> None:
    status, body = call(api_event("GET", "/v1/things/thg_1", authorizer={}))
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


def test_member_calling_an_admin_route_is_a_403_before_the_body_is_validated() -> None:
    # An invalid body too: the caller must learn about the role, not about the schema.
    status, body = call(api_event("POST", "/v1/things", body={"nope": 1}, authorizer=MEMBER))
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_a_tenant_route_without_a_tenant_is_a_403() -> None:
    status, _ = call(api_event("GET", "/v1/things/thg_1", authorizer=authorizer_context(tenant_id=None)))
    assert status == 403


def test_an_unexpected_error_is_a_500_without_internals() -> None:
    status, body = call(api_event("GET", "/v1/boom"))
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    assert "hunter2" not in json.dumps(body)
    assert "Traceback" not in json.dumps(body)


def test_validation_errors_match_the_documented_422_schema() -> None:
    # Given the document every client is generated from
    spec = document([things.app], version="test")
    schema_ref = spec["paths"]["/v1/things"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    # When a body breaks the model
    status, body = call(api_event("POST", "/v1/things", body={"name": "", "extra": "s3cr3t-value"}, authorizer=ADMIN))
    # Then the 422 answers in the documented shape, with msg on every issue
    assert status == 422
    resolver = {"$ref": schema_ref["$ref"], "components": spec["components"]}
    jsonschema.validate(body, resolver)
    issues = body["error"]["details"]
    assert {tuple(i["loc"]) for i in issues} >= {("body", "name"), ("body", "extra")}
    assert all(i["msg"] for i in issues)
    assert all(set(i) == {"loc", "msg", "type"} for i in issues)
    assert "s3cr3t-value" not in json.dumps(body)


def test_the_request_and_correlation_ids_come_back_as_headers() -> None:
    response = things.handler(
        api_event("GET", "/v1/boom", headers={"X-Correlation-Id": "corr-7"}, request_id="req-9"),
        None,  # type: ignore[arg-type]
    )
    assert response["headers"]["X-Request-Id"] == "req-9"
    assert response["headers"]["X-Correlation-Id"] == "corr-7"


def test_every_route_declares_its_access_in_the_document() -> None:
    spec = document([things.app], version="test")
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert operations
    assert all(op.get("x-keel-access") for op in operations)


def test_a_route_without_an_access_level_cannot_be_declared() -> None:
    with pytest.raises(TypeError):
        things.app.get("/v1/undeclared")(lambda: None)  # type: ignore[call-arg]


def test_an_authenticated_route_never_sees_a_tenant() -> None:
    # Given a caller whose (token-keyed, cached) authorizer answer names a tenant and a role
    app = KeelResolver(service="probe")

    @app.get("/v1/whoami", access=Access.AUTHENTICATED)
    def whoami() -> dict[str, str | None]:
        caller = app.caller
        return {"user": caller.user_id, "tenant": caller.tenant.tenant_id if caller.tenant else None}

    # When it calls a route that needs only a signed-in user
    response = app.resolve(api_event("GET", "/v1/whoami", authorizer=ADMIN), None)  # type: ignore[arg-type]
    # Then the handler sees the user and no tenant
    assert response_json(response) == {"user": ADMIN["user_id"], "tenant": None}


# -- operators: /v1/admin only, and nothing else ---------------------------------------------------


def test_an_operator_route_outside_v1_admin_cannot_be_declared() -> None:
    app = KeelResolver(service="probe")
    for rule in ("/v1/tenants", "/v1/adminx", "/admin", "/v2/admin/tenants"):
        with pytest.raises(ValueError, match="/v1/admin"):
            app.get(rule, access=Access.OPERATOR)(lambda: None)


@pytest.mark.parametrize("access", [a for a in Access if a is not Access.OPERATOR])
def test_a_route_under_v1_admin_must_be_an_operator_route(access: Access) -> None:
    app = KeelResolver(service="probe")
    with pytest.raises(ValueError, match=r"Access\.OPERATOR"):
        app.post("/v1/admin/tenants/<tenant_id>/suspend", access=access)(lambda tenant_id: None)


def _operator_app() -> KeelResolver:
    app = KeelResolver(service="probe")

    @app.get("/v1/admin/whoami", access=Access.OPERATOR)
    def whoami() -> dict[str, str | bool | None]:
        caller = app.caller
        tenant = caller.tenant.tenant_id if caller.tenant else None
        return {"user": caller.user_id, "operator": caller.operator, "tenant": tenant}

    return app


def test_an_operator_reaches_an_operator_route_and_acts_in_no_tenant() -> None:
    # Given the authorizer's answer for an operator (even one naming a tenant, e.g. a stale cached one)
    operator = ADMIN | {"operator": "true"}

    response = _operator_app().resolve(api_event("GET", "/v1/admin/whoami", authorizer=operator), None)  # type: ignore[arg-type]

    assert response_json(response) == {"user": ADMIN["user_id"], "operator": True, "tenant": None}


@pytest.mark.parametrize(
    "authorizer",
    [
        authorizer_context(role="owner"),  # a tenant's owner
        authorizer_context(tenant_id=None),  # a signed-in user
        authorizer_context(role="owner") | {"operator": "false"},
        authorizer_context(role="owner") | {"operator": "yes"},
    ],
    ids=["owner", "user", "operator-false", "operator-yes"],
)
def test_anyone_but_an_operator_gets_403_on_an_operator_route(authorizer: dict[str, object]) -> None:
    response = _operator_app().resolve(api_event("GET", "/v1/admin/whoami", authorizer=authorizer), None)  # type: ignore[arg-type]

    assert response["statusCode"] == 403
    assert response_json(response)["error"]["code"] == "forbidden"


def test_an_operator_route_documents_its_403() -> None:
    spec = document([_operator_app()], version="test")

    operation = spec["paths"]["/v1/admin/whoami"]["get"]
    assert operation["x-keel-access"] == "operator"
    assert {"401", "403"} <= set(operation["responses"])


# -- bodies: bounded nesting, UTF-8 only ------------------------------------------------------------


def test_a_deeply_nested_body_is_a_400_not_a_crash() -> None:
    # Given the body that made json.loads raise RecursionError
    nested = "[" * 1000 + "]" * 1000
    # When it is posted to a route, then the answer is a 400 in the error shape
    status, body = call(api_event("POST", "/v1/things", body=nested, authorizer=ADMIN))
    assert status == 400
    assert body["error"]["code"] == "bad_request"
    assert f"deeper than {MAX_JSON_DEPTH}" in body["error"]["message"]


def test_nesting_up_to_the_limit_passes_the_precheck() -> None:
    # Given a body exactly MAX_JSON_DEPTH deep (the model then refuses it: not an object)
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert call(api_event("POST", "/v1/things", body=at_limit, authorizer=ADMIN))[0] == 422
    one_more = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert call(api_event("POST", "/v1/things", body=one_more, authorizer=ADMIN))[0] == 400


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    name = '[{"\\"' * 20  # brackets, braces, quotes and escapes, all inside one string
    status, body = call(api_event("POST", "/v1/things", body={"name": name, "nope": 1}, authorizer=ADMIN))
    assert status == 422, body  # reached the model


# Strings full of what a naive count would take for structure: brackets, quotes, backslashes.
_TRICKY_TEXT = st.text(alphabet='[]{}"\\,:ab', max_size=8)


@given(
    st.recursive(
        st.none() | st.integers() | _TRICKY_TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_TEXT, inner, max_size=3),
        max_leaves=12,
    )
)
@settings(max_examples=100, deadline=None)
def test_the_nesting_count_agrees_with_the_parsed_document(document: object) -> None:
    def depth(value: object) -> int:
        if isinstance(value, dict):
            value = list(value.values())
        return 1 + max(map(depth, value), default=0) if isinstance(value, list) else 0

    text, deepest = json.dumps(document), depth(document)
    assert not nests_deeper_than(text, deepest)
    if deepest:
        assert nests_deeper_than(text, deepest - 1)


def test_a_crafted_unterminated_string_is_refused_in_linear_time() -> None:
    # Given 250 KB of escaped quotes in a string that never ends (quadratic for a naive string pattern)
    crafted = '["' + '\\"[' * 80_000
    started = time.perf_counter()
    status, body = call(api_event("POST", "/v1/things", body=crafted, authorizer=ADMIN))
    # Then it is a 400 within a second or so (a quadratic scan takes minutes)
    assert status == 400, body
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_a_json_body_in_another_unicode_encoding_is_a_400(encoding: str) -> None:
    # Given {"name": "Acme"} encoded as UTF-16 or UTF-32 (json.loads would have guessed the encoding)
    raw = json.dumps({"name": "Acme"}).encode(encoding)
    event = api_event("POST", "/v1/things", body=base64.b64encode(raw).decode(), authorizer=ADMIN)
    event["isBase64Encoded"] = True
    # Then it is refused before any handler decodes it
    status, body = call(event)
    assert status == 400
    assert body["error"]["message"] == "request body is not UTF-8"


def test_a_json_body_in_another_encoding_sent_as_text_is_a_400() -> None:
    # Given UTF-16-LE without a BOM: valid UTF-8 bytes (NULs between the letters), not JSON
    text = json.dumps({"name": "Acme"}).encode("utf-16-le").decode("utf-8")
    status, body = call(api_event("POST", "/v1/things", body=text, authorizer=ADMIN))
    assert status == 400
    assert body["error"]["code"] == "bad_request"


@pytest.mark.parametrize("charset", ["utf-16", "UTF-32", '"iso-8859-1"'])
def test_a_body_declared_in_another_charset_is_a_415_naming_it(charset: str) -> None:
    headers = {"Content-Type": f"application/json; charset={charset}"}
    status, body = call(api_event("POST", "/v1/things", body={"name": "a"}, headers=headers, authorizer=ADMIN))
    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"
    assert charset.strip('"').lower() in body["error"]["message"]


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
def test_a_body_declared_as_utf8_passes(charset: str) -> None:
    headers = {"Content-Type": f"application/json; charset={charset}"}
    status, body = call(api_event("POST", "/v1/things", body={"nope": 1}, headers=headers, authorizer=ADMIN))
    assert status == 422, body  # reached the model


# -- expiry ------------------------------------------------------------------------------------------


def test_a_credential_is_refused_with_401_from_its_valid_until_on() -> None:
    # Given a caller whose credential the authorizer said is valid until T, and a body the model refuses
    valid_until = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    event = api_event(
        "POST", "/v1/things", body={"nope": 1}, authorizer=ADMIN | {"valid_until": str(int(valid_until.timestamp()))}
    )
    try:
        # When it calls one second before T, it gets past the credential check (to the model's 422)
        things.app.clock = FixedClock(valid_until - timedelta(seconds=1))
        before = call(event)
        # And at T, the same request is a 401 before anything else runs
        things.app.clock = FixedClock(valid_until)
        after = call(event)
    finally:
        things.app.clock = SystemClock()
    assert before[0] == 422
    assert after[0] == 401
    assert after[1]["error"] == {"code": "unauthorized", "message": "the credential has expired", "request_id": "req-1"}


# -- methods -----------------------------------------------------------------------------------------


def _probe() -> KeelResolver:
    app = KeelResolver(service="probe")

    @app.get("/v1/gadgets/<gadget_id>", access=Access.MEMBER)
    def get_gadget(gadget_id: str) -> dict[str, str]:
        return {"id": gadget_id}

    @app.delete("/v1/gadgets/<gadget_id>", access=Access.ADMIN)
    def delete_gadget(gadget_id: str) -> dict[str, str]:
        return {"id": gadget_id}

    @app.post("/v1/gadgets/search", access=Access.MEMBER)
    def search() -> dict[str, str]:
        return {}

    return app


def test_a_method_the_path_does_not_answer_is_a_405_listing_those_it_does() -> None:
    response = _probe().resolve(api_event("PUT", "/v1/gadgets/gdg_1", authorizer=ADMIN), None)  # type: ignore[arg-type]
    assert response["statusCode"] == 405
    assert response["multiValueHeaders"]["Allow"] == ["DELETE, GET"]
    assert response_json(response)["error"]["code"] == "method_not_allowed"


def test_a_literal_path_shadows_a_template_for_every_method() -> None:
    # Given /v1/gadgets/search (POST) next to /v1/gadgets/{gadget_id} (GET, DELETE), as OpenAPI matches them
    app = _probe()
    # When the literal path is called with the template's method, then it is the literal path's 405
    response = app.resolve(api_event("DELETE", "/v1/gadgets/search", authorizer=ADMIN), None)  # type: ignore[arg-type]
    assert response["statusCode"] == 405
    assert response["multiValueHeaders"]["Allow"] == ["POST"]
    assert app.resolve(api_event("GET", "/v1/gadgets/gdg_1", authorizer=ADMIN), None)["statusCode"] == 200  # type: ignore[arg-type]


# -- headers -----------------------------------------------------------------------------------------


def _headers(response: dict) -> dict[str, str]:
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    merged |= {k.lower(): ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
    return merged


@pytest.mark.parametrize(
    "event",
    [
        api_event("GET", "/v1/boom"),
        api_event("GET", "/v1/nothing-here", authorizer=ADMIN),
        api_event("POST", "/v1/things", body="{not json", authorizer=ADMIN),
        api_event("POST", "/v1/things", body={"nope": 1}, authorizer=ADMIN),
        api_event("GET", "/v1/things/thg_1", authorizer={}),
    ],
    ids=["500", "404", "400-precheck", "422", "401"],
)
def test_every_answer_carries_the_security_headers_and_no_store(event: dict) -> None:
    headers = _headers(things.handler(event, None))  # type: ignore[arg-type]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert headers["cache-control"] == "no-store"


def test_a_route_may_set_its_own_cache_control() -> None:
    app = KeelResolver(service="probe")

    @app.get("/v1/logo", access=Access.PUBLIC)
    def logo() -> Response[str]:
        return Response(200, content_type="text/plain", body="logo", headers={"Cache-Control": "public, max-age=60"})

    headers = _headers(app.resolve(api_event("GET", "/v1/logo"), None))  # type: ignore[arg-type]
    assert headers["cache-control"] == "public, max-age=60"
    assert headers["x-content-type-options"] == "nosniff"


def test_only_the_exact_one_click_unsubscribe_form_passes_the_body_check() -> None:
    from keel.http import precheck_body

    def form(body: str) -> dict[str, object]:
        return {"httpMethod": "POST", "body": body, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}

    assert precheck_body(form("List-Unsubscribe=One-Click")) is None
    assert precheck_body(form("List-Unsubscribe=One-Click&x=1")) == (
        400,
        "bad_request",
        "Content-Type must be application/json",
    )
