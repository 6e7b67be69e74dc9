"""Browsers calling the local API: preflights for allowed origins only, and answers they may read."""

from __future__ import annotations

from infra.contexts.platform import CONTEXT as PLATFORM
from infra.local.gateway import GatewayRequest, GatewayResponse, LocalApi
from infra.local.runtime import api_functions
from infra.model import LOCAL_CORS_ORIGINS, LOCAL_STAGE
from infra.topology import Context, Route, Topology

ALLOWED = LOCAL_CORS_ORIGINS[0]
OTHER = "https://evil.example"

PROBE = Context(
    name="probe",
    api_handler="tests.integration.local.app.echo",
    api_prefixes=("/v1/probe",),
    public_routes=(Route("GET", "/v1/probe/public"),),
    table=False,
)
TOPOLOGY = Topology(
    authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=(PLATFORM, PROBE), stage=LOCAL_STAGE
)
API = LocalApi(TOPOLOGY, api_functions=api_functions(TOPOLOGY), authorizer=None, region="us-east-1")


def send(method: str, path: str, headers: dict[str, str]) -> GatewayResponse:
    return API.handle(GatewayRequest(method, path, list(headers.items()), None, "127.0.0.1", "localhost"))


def preflight(origin: str, path: str = "/v1/probe/public") -> GatewayResponse:
    return send(
        "OPTIONS",
        path,
        {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
    )


def header(response: GatewayResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


def test_a_preflight_from_an_allowed_origin_is_answered_with_what_it_may_send() -> None:
    # When a page of an allowed origin asks before a cross-origin POST
    response = preflight(ALLOWED)
    # Then the gateway answers it itself, for that origin, with Keel's request headers and methods
    assert response.status == 204
    assert header(response, "Access-Control-Allow-Origin") == ALLOWED
    allowed_headers = {h.strip() for h in (header(response, "Access-Control-Allow-Headers") or "").split(",")}
    assert allowed_headers == {"Authorization", "X-Tenant-Id", "Idempotency-Key", "X-Correlation-Id", "Content-Type"}
    assert "POST" in (header(response, "Access-Control-Allow-Methods") or "")


def test_a_preflight_from_another_origin_is_refused() -> None:
    # When a page of an origin that is not configured asks
    response = preflight(OTHER)
    # Then it is refused in the error shape, and nothing tells the browser it may go on
    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert header(response, "Access-Control-Allow-Origin") is None


def test_a_preflight_for_a_path_no_context_routes_is_404() -> None:
    assert preflight(ALLOWED, "/v9/nowhere").status == 404


def test_an_answer_to_an_allowed_origin_may_be_read_by_its_page() -> None:
    # When an allowed origin's page calls a route
    response = send("GET", "/v1/probe/public", {"Origin": ALLOWED})
    # Then the answer names that origin and lets the page read Keel's response headers
    assert response.status == 200
    assert header(response, "Access-Control-Allow-Origin") == ALLOWED
    assert "X-Request-Id" in (header(response, "Access-Control-Expose-Headers") or "")
    assert header(response, "Vary") == "Origin"


def test_the_gateways_own_refusals_are_readable_by_allowed_origins_only() -> None:
    # Given a route the gateway refuses itself (no authorizer configured)
    allowed = send("GET", "/v1/probe/private", {"Origin": ALLOWED})
    other = send("GET", "/v1/probe/private", {"Origin": OTHER})
    # Then the allowed origin's page can read the 401; another origin's cannot
    assert allowed.status == other.status == 401
    assert header(allowed, "Access-Control-Allow-Origin") == ALLOWED
    assert header(other, "Access-Control-Allow-Origin") is None


def test_a_repeated_origin_header_counts_by_its_last_value_as_the_handler_sees_it() -> None:
    # Given a preflight that names two origins (the proxy event's single-value headers keep the last)
    def preflight_from(*origins: str) -> GatewayResponse:
        headers = [*(("Origin", origin) for origin in origins), ("Access-Control-Request-Method", "POST")]
        return API.handle(GatewayRequest("OPTIONS", "/v1/probe/public", headers, None, "127.0.0.1", "localhost"))

    # Then the gateway decides on the last one, the origin a handler would answer
    assert preflight_from(OTHER, ALLOWED).status == 204
    assert preflight_from(ALLOWED, OTHER).status == 403
