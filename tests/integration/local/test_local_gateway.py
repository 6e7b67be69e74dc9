"""The local API Gateway: event shapes, the authorizer, the error shapes, and its overhead."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import quote

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from infra.contexts.platform import CONTEXT as PLATFORM
from infra.local.gateway import GatewayRequest, LocalApi
from infra.local.runtime import LocalRuntime, api_functions
from infra.local.shapes import API_ID as LOCAL_API_ID
from infra.topology import LOCAL_STAGE, TOPOLOGY, Context, Route, Topology
from keel.tenancy import DEFAULT_OPERATORS_GROUP, Caller, Role
from tests.integration.local.app import authorizer
from tests.integration.local.app.topology import COUNT_THINGS, LOCAL_THINGS, SINK_QUEUE
from tests.integration.local.conftest import Running
from tests.support.events import sample

TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"


def echoed(running: Running, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, body = running.json(method, path, **kwargs)
    assert status == 200, body
    return dict(body["event"])


def assert_error_shape(body: bytes, status: int, code: str) -> dict[str, Any]:
    payload = json.loads(body)
    assert set(payload) == {"error"}
    assert payload["error"]["code"] == code, payload
    assert payload["error"]["request_id"]
    assert "Traceback" not in body.decode()
    assert "hunter2" not in body.decode()
    return dict(payload["error"])


# -- the proxy event --------------------------------------------------------------------------------


def test_proxy_event_has_exactly_the_samples_keys_and_parses_with_powertools(running: Running) -> None:
    # Given a request with a repeated query parameter and a repeated header
    connection = http.client.HTTPConnection("127.0.0.1", running.port)
    connection.putrequest("GET", "/v1/probe/public?p=1&p=2&q=x%20y")
    connection.putheader("X-Many", "a")
    connection.putheader("X-Many", "b")
    connection.putheader("User-Agent", "probe/1")
    connection.endheaders()
    event = json.loads(connection.getresponse().read())["event"]
    connection.close()

    # Then the event has the sample's keys at every level
    proxy = sample("apiGatewayProxyEvent")
    assert set(event) == set(proxy)
    assert set(event["requestContext"]) == set(proxy["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(proxy["requestContext"]["identity"])
    # And Powertools reads it as API Gateway's own
    parsed = APIGatewayProxyEvent(event)
    assert parsed.path == "/v1/probe/public"
    assert parsed.http_method == "GET"
    assert parsed.resource == "/v1/probe/{proxy+}"
    assert parsed.path_parameters == {"proxy": "public"}
    assert parsed.query_string_parameters == {"p": "2", "q": "x y"}
    assert parsed.multi_value_query_string_parameters == {"p": ["1", "2"], "q": ["x y"]}
    assert parsed.multi_value_headers["X-Many"] == ["a", "b"]
    assert parsed.headers["X-Many"] == "b"
    assert parsed.request_context.identity.source_ip == "127.0.0.1"
    assert parsed.request_context.identity.user_agent == "probe/1"
    assert parsed.request_context.request_id
    assert parsed.request_context.stage == "$default"
    assert abs(parsed.request_context.request_time_epoch - time.time() * 1000) < 60_000
    assert parsed.body is None
    assert parsed.is_base64_encoded is False
    APIGatewayProxyEventModel.model_validate(event)


def test_a_body_that_is_not_utf8_arrives_base64_encoded(running: Running) -> None:
    event = echoed(running, "DELETE", "/v1/probe/public", body=b"\xff\xfe\x00binary")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00binary"


def test_a_json_body_arrives_as_text(running: Running) -> None:
    event = echoed(
        running, "POST", "/v1/probe/public", body='{"name": "ok"}', headers={"Content-Type": "application/json"}
    )

    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "ok"}


def test_response_headers_and_multi_value_headers_are_both_written(running: Running) -> None:
    status, headers, _ = running.request("GET", "/v1/probe/public")

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["x-probe"] == "two"  # http.client keeps the last of a repeated header
    assert headers["x-amzn-requestid"]


# -- the authorizer -----------------------------------------------------------------------------------


def test_an_allowed_caller_reaches_the_handler_with_the_authorizer_context(running: Running) -> None:
    event = echoed(
        running, "GET", "/v1/probe/private", headers={"Authorization": f"Bearer admin:{TENANT}", "X-Tenant-Id": "a"}
    )

    context = event["requestContext"]["authorizer"]
    assert context["principalId"] == "usr_admin"
    assert isinstance(context["integrationLatency"], int)
    assert context["seats"] == "3"  # API Gateway hands context values on as strings
    caller = Caller.from_authorizer(context)
    assert caller.tenant is not None
    assert caller.tenant.tenant_id == TENANT
    assert caller.tenant.role is Role.ADMIN


def test_the_authorizer_gets_a_request_event_shaped_like_the_sample(running: Running) -> None:
    authorizer.CALLS.clear()
    running.request(
        "GET", "/v1/probe/private?x=1", headers={"Authorization": f"Bearer member:{TENANT}-shape", "X-Tenant-Id": "t"}
    )

    event = authorizer.CALLS[-1]
    expected = sample("apiGatewayAuthorizerRequestEvent")
    assert set(event) == set(expected)
    assert set(event["requestContext"]) == set(expected["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(expected["requestContext"]["identity"])
    parsed = APIGatewayAuthorizerRequestEvent(event)
    assert parsed.get_type == "REQUEST"
    assert parsed.method_arn == "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/v1/probe/private"
    assert parsed.parsed_arn.http_method == "GET"
    assert parsed.query_string_parameters == {"x": "1"}


def test_the_authorizers_answer_is_cached_per_authorization_and_tenant_header(running: Running) -> None:
    authorizer.CALLS.clear()
    token = {"Authorization": f"Bearer member:{TENANT}-cache", "X-Tenant-Id": TENANT}

    for _ in range(3):
        assert running.request("GET", "/v1/probe/private", headers=token)[0] == 200
    assert len(authorizer.CALLS) == 1
    # Another X-Tenant-Id is another cache key
    assert running.request("GET", "/v1/probe/other", headers=token | {"X-Tenant-Id": "ten_other"})[0] == 200
    assert len(authorizer.CALLS) == 2


def test_an_explicit_deny_is_403(running: Running) -> None:
    status, _, body = running.request(
        "GET", "/v1/probe/private", headers={"Authorization": "Bearer deny", "X-Tenant-Id": TENANT}
    )

    assert status == 403
    assert_error_shape(body, 403, "forbidden")


def test_a_tenant_route_whose_allow_names_no_usage_key_is_403_as_api_gateway_answers(running: Running) -> None:
    # Given an authorizer that allows the caller but names no usage key (a tenant with no key of its own)
    authorizer.CALLS.clear()
    headers = {"Authorization": f"Bearer keyless:{TENANT}", "X-Tenant-Id": TENANT}
    # When it calls a tenant route, which requires a key as the cloud's methods do
    status, _, body = running.request("GET", "/v1/probe/private", headers=headers)
    # Then the gateway refuses it without calling the handler, as API Gateway does
    assert status == 403
    assert_error_shape(body, 403, "forbidden")
    assert len(authorizer.CALLS) == 1


def test_a_deny_naming_an_error_code_is_a_403_with_that_code_and_message(running: Running) -> None:
    # Given an authorizer that denies with an error code in its context (identity's tenant_suspended)
    headers = {"Authorization": "Bearer deny:tenant_suspended", "X-Tenant-Id": TENANT}

    status, _, body = running.request("GET", "/v1/probe/private", headers=headers)

    # Then the 403 carries that code and message, as the cloud's ACCESS_DENIED response renders them
    assert status == 403
    assert assert_error_shape(body, 403, "tenant_suspended")["message"] == "denied: tenant_suspended"


def test_flushing_the_stages_authorizer_cache_on_moto_empties_the_local_gateways_cache(running: Running) -> None:
    # Given an answer the local gateway cached
    authorizer.CALLS.clear()
    token = {"Authorization": f"Bearer member:{TENANT}-flush", "X-Tenant-Id": TENANT}
    for _ in range(2):
        assert running.request("GET", "/v1/probe/private", headers=token)[0] == 200
    assert len(authorizer.CALLS) == 1
    # When a handler flushes the authorizer cache of the local API's stage (on moto), as identity does
    # on a suspension
    apigateway_on_moto(running).flush_stage_authorizers_cache(restApiId=LOCAL_API_ID, stageName=LOCAL_STAGE)
    # Then the next request is authorized afresh
    assert running.request("GET", "/v1/probe/private", headers=token)[0] == 200
    assert len(authorizer.CALLS) == 2


def test_flushing_another_apis_cache_is_404_as_api_gateway_answers(running: Running) -> None:
    apigateway = apigateway_on_moto(running)
    for api_id, stage in ((LOCAL_API_ID, "prod"), ("nope", LOCAL_STAGE)):
        with pytest.raises(apigateway.exceptions.NotFoundException):
            apigateway.flush_stage_authorizers_cache(restApiId=api_id, stageName=stage)


def test_keel_devs_moto_answers_a_release_from_sess_suppression_list_as_ses_does_for_an_address_not_on_it(
    running: Running,
) -> None:
    # Over keel dev's moto server (its URL map must route the call): moto keeps no account-level list
    sesv2 = boto3.client("sesv2", endpoint_url=running.runtime.moto_endpoint, region_name="us-east-1")
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.delete_suppressed_destination(EmailAddress="ada+test@example.com")


def apigateway_on_moto(running: Running) -> Any:
    return boto3.client("apigateway", endpoint_url=running.runtime.moto_endpoint, region_name="us-east-1")


def test_an_admin_route_is_authorized_on_the_token_alone_and_cached_apart(running: Running) -> None:
    # Given a route under the operators' prefix /v1/admin (the probe's /v1/admin/probe)
    authorizer.CALLS.clear()
    token = {"Authorization": f"Bearer member:{TENANT}-admin"}

    # Then it needs no X-Tenant-Id, the authorizer never sees one, and one answer serves both calls
    assert running.request("GET", "/v1/admin/probe/x", headers=token)[0] == 200
    assert running.request("GET", "/v1/admin/probe/y", headers=token | {"X-Tenant-Id": "ten_other"})[0] == 200
    assert len(authorizer.CALLS) == 1
    assert authorizer.CALLS[0]["headers"].get("X-Tenant-Id") is None


def test_unauthorized_from_the_authorizer_is_401(running: Running) -> None:
    status, _, body = running.request(
        "GET", "/v1/probe/private", headers={"Authorization": "Bearer nonsense", "X-Tenant-Id": TENANT}
    )

    assert status == 401
    assert_error_shape(body, 401, "unauthorized")


def test_a_missing_authorization_header_is_401_without_calling_the_authorizer(running: Running) -> None:
    authorizer.CALLS.clear()

    status, _, body = running.request("GET", "/v1/probe/private")

    assert status == 401
    assert_error_shape(body, 401, "unauthorized")
    assert authorizer.CALLS == []


def test_a_tenant_route_without_x_tenant_id_is_401_without_calling_the_authorizer(running: Running) -> None:
    # As API Gateway does when an identity source of the (tenant) authorizer is missing
    authorizer.CALLS.clear()

    status, _, body = running.request("GET", "/v1/probe/private", headers={"Authorization": f"Bearer admin:{TENANT}"})

    assert status == 401
    assert_error_shape(body, 401, "unauthorized")
    assert authorizer.CALLS == []


def test_a_tenantless_route_is_authorized_on_the_token_alone_and_cached_apart(running: Running) -> None:
    authorizer.CALLS.clear()
    token = {"Authorization": f"Bearer member:{TENANT}-tenantless"}

    # No X-Tenant-Id needed, and one call to the authorizer however often it is asked
    assert running.request("GET", "/v1/probe/me", headers=token)[0] == 200
    assert running.request("GET", "/v1/probe/me", headers=token | {"X-Tenant-Id": "ten_other"})[0] == 200
    assert len(authorizer.CALLS) == 1
    assert authorizer.CALLS[0]["headers"].get("X-Tenant-Id") is None


def test_without_an_authorizer_every_non_public_route_is_401() -> None:
    # Given a topology whose authorizer is not written yet
    probe = Context(
        name="probe",
        api_handler="tests.integration.local.app.echo",
        api_prefixes=("/v1/probe",),
        public_routes=(Route("GET", "/v1/probe/public"),),
        table=False,
    )
    topology = Topology(
        authorizer_handler=None,
        outbox_relay_handler="keel.outbox_relay",
        contexts=(PLATFORM, probe),
        stage=LOCAL_STAGE,
    )
    api = LocalApi(topology, api_functions=api_functions(topology), authorizer=None, region="us-east-1")

    def get(path: str) -> int:
        headers = [("Authorization", "Bearer x"), ("X-Tenant-Id", "ten_x")]
        request = GatewayRequest("GET", path, headers, None, "127.0.0.1", "localhost")
        return api.handle(request).status

    assert get("/v1/probe/private") == 401
    assert get("/v1/probe/public") == 200


# -- bad requests: the error shape, never a 500 ---------------------------------------------------


def test_an_unknown_route_is_404_in_the_error_shape(running: Running) -> None:
    status, _, body = running.request("GET", "/v2/nowhere")

    assert status == 404
    assert_error_shape(body, 404, "not_found")


def test_an_oversized_body_is_refused_by_its_content_length_before_it_is_sent(running: Running) -> None:
    # Given only the headers of a 300 KB upload
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/probe/public HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 307200\r\nExpect: 100-continue\r\n\r\n"
        )
        # Then the answer comes without the body being read
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = answer.read()
    assert answer.status == 413
    assert answer.getheader("Connection") == "close"
    assert_error_shape(body, 413, "payload_too_large")


def test_an_oversized_body_sent_anyway_still_gets_413(running: Running) -> None:
    status, _, body = running.request(
        "POST", "/v1/probe/public", body=b"x" * (300 * 1024), headers={"Content-Type": "application/json"}
    )

    assert status == 413
    assert_error_shape(body, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": ', "application/json"),
        (b'{"name": "x"}', "text/plain"),
        (b"[" * 1000 + b"]" * 1000, "application/json"),
        ('{"name": "Acme"}'.encode("utf-16"), "application/json"),
        ('{"name": "Acme"}'.encode("utf-16-le"), "application/json"),
        ('{"name": "Acme"}'.encode("utf-32"), "application/json"),
    ],
    ids=["malformed-json", "wrong-content-type", "nested-1000-deep", "utf-16", "utf-16-without-bom", "utf-32"],
)
def test_a_bad_body_is_400_like_the_kernel_resolver(running: Running, body: bytes, content_type: str) -> None:
    status, _, raw = running.request("POST", "/v1/probe/public", body=body, headers={"Content-Type": content_type})

    assert status == 400
    assert_error_shape(raw, 400, "bad_request")


def test_a_body_in_another_declared_charset_is_415_naming_it(running: Running) -> None:
    headers = {"Content-Type": "application/json; charset=utf-16"}
    status, _, raw = running.request(
        "POST", "/v1/probe/public", body='{"name": "Acme"}'.encode("utf-16"), headers=headers
    )

    assert status == 415
    assert "utf-16" in assert_error_shape(raw, 415, "unsupported_media_type")["message"]


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "CONNECT", "PROPFIND"])
def test_a_method_api_gateway_does_not_route_is_its_403_in_the_error_shape(running: Running, method: str) -> None:
    # Given a method outside what a REST API's ANY covers, on a route that exists, with credentials
    authorizer.CALLS.clear()
    headers = {"Authorization": f"Bearer admin:{TENANT}", "X-Tenant-Id": TENANT}
    # When it is sent, then the gateway answers itself, as API Gateway does: 403, before the authorizer
    status, answer_headers, body = running.request(method, "/v1/things", headers=headers)
    assert status == 403
    assert_error_shape(body, 403, "forbidden")
    assert answer_headers["content-type"] == "application/json"
    assert authorizer.CALLS == []


def test_a_method_the_route_does_not_answer_is_the_kernels_405_with_allow(running: Running) -> None:
    headers = {"Authorization": f"Bearer admin:{TENANT}", "X-Tenant-Id": TENANT}

    status, answer_headers, body = running.request("PUT", "/v1/things", headers=headers)

    assert status == 405
    assert answer_headers["allow"] == "GET, POST"
    assert_error_shape(body, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v2/nowhere", {}),
        ("GET", "/v1/probe/private", {}),
        ("TRACE", "/v1/probe/public", {}),
        ("POST", "/v1/probe/public", {"Content-Type": "application/json", "Content-Length": "999999"}),
        ("GET", "/_local/token?email=security@example.com&raw=1", {}),
        ("GET", "/_local/dlq", {}),
    ],
    ids=["404", "401", "403-method", "413", "local-token", "local-page"],
)
def test_the_gateways_own_answers_carry_the_security_headers_and_no_store(
    running: Running, method: str, path: str, headers: dict[str, str]
) -> None:
    if "Content-Length" in headers:  # a refusal made before reading the body: send only the headers
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n".encode())
            answer = http.client.HTTPResponse(sock)
            answer.begin()
            received = {k.lower(): v for k, v in answer.getheaders()}
    else:
        _, received, _ = running.request(method, path, headers=headers)
    assert received["x-content-type-options"] == "nosniff"
    assert received["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert received["cache-control"] == "no-store"


def test_a_handler_that_raises_is_500_without_a_stack_trace(running: Running) -> None:
    status, _, body = running.request("GET", "/v1/probe/raise")

    assert status == 500
    assert_error_shape(body, 500, "internal_error")


def test_a_malformed_handler_response_is_502(running: Running) -> None:
    status, _, body = running.request("GET", "/v1/probe/malformed")

    assert status == 502
    assert_error_shape(body, 502, "bad_gateway")


def test_a_kernel_route_answers_through_the_gateway_with_the_kernels_error_shape(running: Running) -> None:
    status, _, body = running.request("GET", "/v1/boom")

    assert status == 500
    assert_error_shape(body, 500, "internal_error")


# -- local mode ------------------------------------------------------------------------------------


def test_health_merges_the_platform_answer_with_every_local_component(running: Running) -> None:
    status, body = running.json("GET", "/health")

    assert status == 200, body
    assert body["status"] == "ok"
    assert body["stage"] == "local"
    components = body["components"]
    assert {"moto", "gateway", "handlers", "scheduler:jobs"} <= set(components)
    assert f"queue-poller:{LOCAL_THINGS.queue_name(COUNT_THINGS)}" in components
    assert f"queue-poller:{SINK_QUEUE}" in components
    assert f"stream-poller:{LOCAL_THINGS.table_name}" in components
    assert all(c["status"] == "ok" for c in components.values()), components
    assert components["scheduler:jobs"]["jobs"]["probe/tick"]["next_run"]


def test_docs_and_openapi_are_served_by_the_platform_handler(running: Running) -> None:
    status, headers, body = running.request("GET", "/docs")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"/docs/swagger-ui-bundle.min.js" in body
    status, headers, body = running.request("GET", "/openapi.json")
    assert status == 200
    assert json.loads(body)["openapi"].startswith("3.")


def test_unknown_local_pages_are_404(running: Running) -> None:
    status, _, body = running.request("GET", "/_local/nothing-here")

    assert status == 404
    assert_error_shape(body, 404, "not_found")


def test_emails_sent_through_ses_are_listed(running: Running) -> None:
    running.aws.ses.send_email(
        Source="welcome@keel.local",
        Destination={"ToAddresses": ["ada@example.com"]},
        Message={"Subject": {"Data": "Welcome"}, "Body": {"Text": {"Data": "Hello Ada"}}},
    )

    status, body = running.json("GET", "/_local/emails")

    assert status == 200
    assert {"source": "welcome@keel.local", "subject": "Welcome", "body": "Hello Ada"}.items() <= body["emails"][
        -1
    ].items()


def test_local_token_signs_a_user_in_at_the_local_identity_provider(running: Running) -> None:
    status, tokens = running.json("GET", "/_local/token?email=ada@example.com")

    assert status == 200
    # Verified the way identity's authorizer verifies: against the local IdP's issuer, app client and JWKS
    assert running.runtime.provisioned is not None
    idp = running.runtime.provisioned.identity_provider
    jwks = jwt.PyJWKClient(idp.jwks_url(running.runtime.moto_endpoint))
    claims = jwt.decode(
        tokens["id_token"],
        jwks.get_signing_key_from_jwt(tokens["id_token"]).key,
        algorithms=["RS256"],
        audience=idp.client_id,
        issuer=idp.issuer,
    )
    assert claims["email"] == "ada@example.com"
    assert claims["token_use"] == "id"
    assert tokens["authorization"] == f"Bearer {tokens['id_token']}"


def _groups(token: str) -> Any:
    return jwt.decode(token, options={"verify_signature": False}).get("cognito:groups")


def test_local_token_with_operator_signs_in_a_member_of_the_operators_group(running: Running) -> None:
    # Given the local pool's operators' group, then operator=1 (query or JSON body) signs in a member
    # of it: the groups claim of both tokens names it, as Cognito's do
    _, by_query = running.json("GET", "/_local/token?email=ops@example.com&operator=1")
    _, by_body = running.json("POST", "/_local/token", body=json.dumps({"email": "ops2@example.com", "operator": True}))
    for tokens in (by_query, by_body):
        assert _groups(tokens["id_token"]) == [DEFAULT_OPERATORS_GROUP]
        assert _groups(tokens["access_token"]) == [DEFAULT_OPERATORS_GROUP]


def test_local_token_without_operator_signs_in_a_user_in_no_group(running: Running) -> None:
    _, tokens = running.json("GET", "/_local/token?email=plain@example.com")

    assert _groups(tokens["id_token"]) is None


def test_local_token_raw_is_just_the_token_and_a_second_sign_in_works(running: Running) -> None:
    status, headers, body = running.request("GET", "/_local/token?email=bob@example.com&raw=1")
    again, _, _ = running.request("GET", "/_local/token?email=bob@example.com&raw=1")

    assert status == 200
    assert again == 200
    assert headers["content-type"] == "text/plain"
    assert jwt.decode(body, options={"verify_signature": False})["email"] == "bob@example.com"


def test_local_token_wants_an_email_address(running: Running) -> None:
    status, _, body = running.request("GET", "/_local/token?email=nobody")

    assert status == 400
    assert_error_shape(body, 400, "bad_request")


@pytest.mark.parametrize(
    "address", ["a b@example.com", "a@b@example.com", "ada\u202e@example.com", "ada@example.com\n"]
)
def test_local_token_answers_400_for_an_address_the_local_identity_provider_refuses(
    running: Running, address: str
) -> None:
    # Cognito refuses these: the page used to drop the connection instead of answering
    status, _, body = running.request("GET", f"/_local/token?email={quote(address)}")

    assert status == 400
    assert "refuses" in assert_error_shape(body, 400, "bad_request")["message"]


def test_local_token_by_post_answers_400_for_a_refused_address(running: Running) -> None:
    status, _, body = running.request("POST", "/_local/token", body=json.dumps({"email": "a b@example.com"}))

    assert status == 400
    assert_error_shape(body, 400, "bad_request")


def test_a_local_page_that_fails_answers_500_in_the_error_shape() -> None:
    # Given the local pages of a runtime that is not running (its identity provider is not there)
    runtime = LocalRuntime(TOPOLOGY)
    api = LocalApi(runtime.topology, api_functions={}, authorizer=None, region="us-east-1", console=runtime)
    # When the token page is asked for a token
    response = api.handle(GatewayRequest("GET", "/_local/token", [], None, "127.0.0.1", "localhost"))
    # Then the answer is a 500 in the error shape, not a dropped connection
    assert response.status == 500
    assert_error_shape(response.body, 500, "internal_error")


def test_a_chunked_upload_is_411(running: Running) -> None:
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/probe/public HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        )
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = answer.read()

    assert answer.status == 411
    assert_error_shape(body, 411, "length_required")
