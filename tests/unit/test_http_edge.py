"""The HTTP edge every context shares: error shape, access before validation, body limits."""

from __future__ import annotations

import json

import jsonschema
import pytest

from keel.http import MAX_BODY_BYTES
from keel.openapi import document
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
    from keel.http import KeelResolver
    from keel.tenancy import Access

    app = KeelResolver(service="probe")

    @app.get("/v1/whoami", access=Access.AUTHENTICATED)
    def whoami() -> dict[str, str | None]:
        caller = app.caller
        return {"user": caller.user_id, "tenant": caller.tenant.tenant_id if caller.tenant else None}

    # When it calls a route that needs only a signed-in user
    response = app.resolve(api_event("GET", "/v1/whoami", authorizer=ADMIN), None)  # type: ignore[arg-type]
    # Then the handler sees the user and no tenant
    assert response_json(response) == {"user": ADMIN["user_id"], "tenant": None}
