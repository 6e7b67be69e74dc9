"""Black-box: ``keel dev`` as a subprocess, on free ports, exactly as a developer starts it."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from infra.topology import TOPOLOGY
from tests.e2e.conftest import REPO, STARTUP_BUDGET_SECONDS, DevServer, started_dev_server

pytestmark = pytest.mark.e2e


def test_keel_dev_answers_health_within_ten_seconds(dev_server: DevServer) -> None:
    assert dev_server.started_in < STARTUP_BUDGET_SECONDS


def test_health_reports_every_local_component(dev_server: DevServer) -> None:
    status, _, body = dev_server.get("/health")

    health: dict[str, Any] = json.loads(body)
    assert {"moto", "gateway", "handlers"} <= set(health["components"])
    assert health["components"]["moto"]["status"] == "ok"
    assert health["components"]["gateway"]["status"] == "ok"
    assert status == (200 if health["status"] == "ok" else 503)


def test_dev_json_tells_other_commands_where_moto_is(dev_server: DevServer) -> None:
    info = json.loads((dev_server.state_dir / "dev.json").read_text())

    assert info["api_url"] == dev_server.url
    assert info["moto_endpoint"].startswith("http://127.0.0.1:")


def test_docs_is_html_that_loads_only_our_own_assets(dev_server: DevServer) -> None:
    status, headers, body = dev_server.get("/docs")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    html = body.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""url\s*:\s*["']([^"']+)["']""", html)
    assert urls, "the page references no assets"
    for url in urls:
        assert url.startswith("/"), f"external asset: {url}"
        assert not url.startswith("//"), f"external asset: {url}"
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower()
    for url in {u for u in urls if u.startswith("/docs/")}:
        assert dev_server.get(url)[0] == 200, url


def test_openapi_json_is_json(dev_server: DevServer) -> None:
    status, headers, body = dev_server.get("/openapi.json")

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["openapi"].startswith("3.")


def test_unknown_routes_are_404_in_the_error_shape(dev_server: DevServer) -> None:
    status, _, body = dev_server.get("/v9/nothing")

    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


def test_a_demo_user_signs_up_a_tenant_through_the_real_authorizer(dev_server: DevServer) -> None:
    # Given a token from the local identity provider
    status, _, token = dev_server.get("/_local/token?email=ada@example.com&raw=1")
    assert status == 200
    auth = {"Authorization": f"Bearer {token.decode()}"}

    # When the user creates a tenant
    status, _, body = dev_server.call("POST", "/v1/tenants", {"name": "Acme"}, auth)

    # Then they are its owner
    assert status == 201, body
    tenant_id = json.loads(body)["id"]
    status, _, body = dev_server.call("GET", "/v1/me", None, auth)
    assert status == 200, body
    assert {"tenant_id": tenant_id, "role": "owner"}.items() <= json.loads(body)["memberships"][0].items()
    # And tenant routes need the tenant named, as API Gateway's tenant authorizer does
    status, _, body = dev_server.call("GET", "/v1/tenant", None, auth | {"X-Tenant-Id": tenant_id})
    assert status == 200, body
    assert json.loads(body)["id"] == tenant_id
    assert dev_server.call("GET", "/v1/tenant", None, auth)[0] == 401


def test_post_local_token_signs_a_user_in(dev_server: DevServer) -> None:
    status, _, body = dev_server.call("POST", "/_local/token", {"email": "grace@example.com"}, {})
    assert status == 200, body
    tokens = json.loads(body)
    auth = {"Authorization": f"Bearer {tokens['id_token']}"}
    assert dev_server.call("GET", "/v1/me", None, auth)[0] == 200
    assert dev_server.call("POST", "/_local/token", {"email": "not-an-email"}, {})[0] == 400


@pytest.mark.parametrize(
    "body",
    [b"[" * 1000 + b"]" * 1000, '{"name": "Acme"}'.encode("utf-16"), '{"name": "Acme"}'.encode("utf-32-le")],
    ids=["nested-1000-deep", "utf-16", "utf-32-without-bom"],
)
def test_a_body_that_is_too_deep_or_not_utf8_is_a_400_at_sign_up(dev_server: DevServer, body: bytes) -> None:
    # Given a signed-in user
    auth = {"Authorization": f"Bearer {dev_server.token('deep@example.com')}", "Content-Type": "application/json"}
    # When the body of a sign-up nests a thousand deep, or is UTF-16 / UTF-32 JSON
    status, headers, answer = dev_server.call_raw("POST", "/v1/tenants", body, auth)
    # Then it is a 400 in the error shape (not a dropped connection, not a 500)
    assert status == 400, answer
    assert json.loads(answer)["error"]["code"] == "bad_request"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_answers_carry_the_security_headers_and_are_never_stored(dev_server: DevServer) -> None:
    owner = dev_server.sign_up()

    status, headers, _ = dev_server.call("GET", "/v1/members", None, owner.headers)

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_trace_is_refused_in_the_error_shape_as_api_gateway_refuses_it(dev_server: DevServer) -> None:
    owner = dev_server.sign_up()

    status, headers, body = dev_server.call("TRACE", "/v1/tenant", None, owner.headers)

    assert status == 403
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "forbidden"


def test_ctrl_c_stops_it_cleanly_with_exit_0(tmp_path: Path) -> None:
    # Given a server of its own (the session's keeps serving the other tests)
    with started_dev_server(tmp_path) as dev_server:
        # When it gets Ctrl-C
        dev_server.process.send_signal(signal.SIGINT)

        # Then it stops with exit 0, having printed the URLs and quickstart, and cleaned up
        assert dev_server.process.wait(15) == 0
        output = dev_server.output()
    assert f"{dev_server.url}/docs" in output
    assert "/_local/emails" in output
    assert "/_local/dlq" in output
    assert "curl -s" in output
    assert "stopped" in output
    assert "Traceback" not in output, output
    assert not (dev_server.state_dir / "dev.json").exists()


# -- what keel dev shows of what happens -------------------------------------------------------------

SIGN_UP_EVENTS = ("identity.tenant.created.v1", "identity.member.joined.v1")


def consumers_of(event_type: str) -> set[str]:
    """The topology's consumers of ``event_type``, as a trace names them (``<context> <subscription>``);
    a subscription to replays only (a rebuild's) never receives a live event."""
    return {
        f"{ctx.name} {sub.name}"
        for ctx, sub in TOPOLOGY.subscriptions
        if not sub.replays_only and any(fnmatch.fnmatchcase(event_type, pattern) for pattern in sub.event_types)
    }


def traced_sign_up(dev_server: DevServer) -> tuple[str, str]:
    """A sign-up sent with a correlation id of its own: (correlation id, tenant id)."""
    correlation_id = f"corr-sign-up-{uuid.uuid4()}"
    token = dev_server.token(f"traced-{uuid.uuid4().hex[:12]}@example.com")
    headers = {"Authorization": f"Bearer {token}", "X-Correlation-Id": correlation_id}
    status, answer_headers, body = dev_server.call("POST", "/v1/tenants", {"name": "Traced"}, headers)
    assert status == 201, body
    assert answer_headers["X-Correlation-Id"] == correlation_id
    return correlation_id, str(json.loads(body)["id"])


def settled_trace(dev_server: DevServer, correlation_id: str, timeout: float = 20) -> dict[str, Any]:
    """The trace once every sign-up event is published and each consumer the topology names for it
    has handled it (whichever consumers exist when this runs)."""
    deadline = time.monotonic() + timeout
    chain: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status, _, body = dev_server.get(f"/_local/traces/{quote(correlation_id)}")
        chain = json.loads(body) if status == 200 else {}
        events = {e["type"]: e for e in chain.get("events", []) if e["published_at"]}
        if set(SIGN_UP_EVENTS) <= set(events) and all(
            consumers_of(t) <= {d["consumer"] for d in events[t]["deliveries"] if d["outcome"] == "ok"}
            for t in SIGN_UP_EVENTS
        ):
            return chain
        time.sleep(0.1)
    raise AssertionError(f"the sign-up's trace did not settle in {timeout} s: {chain}")


def test_a_sign_ups_trace_shows_the_request_the_events_and_the_consumers_they_reached(dev_server: DevServer) -> None:
    # When a person signs up
    correlation_id, tenant_id = traced_sign_up(dev_server)

    # Then its trace shows the request, the events it published, and each consumer with its outcome
    chain = settled_trace(dev_server, correlation_id)
    [request] = chain["requests"]
    assert (request["method"], request["path"], request["status"]) == ("POST", "/v1/tenants", 201)
    assert request["tenant_id"] == tenant_id
    assert re.fullmatch(r"[0-9a-f]{32}", chain["trace_id"])
    for event in (e for e in chain["events"] if e["type"] in SIGN_UP_EVENTS):
        assert event["tenant_id"] == tenant_id
        assert {d["consumer"] for d in event["deliveries"]} >= consumers_of(event["type"])
        assert all(d["attempt"] >= 1 for d in event["deliveries"])


def test_keel_dev_prints_a_readable_line_per_request_and_keel_trace_prints_the_chain(dev_server: DevServer) -> None:
    correlation_id, tenant_id = traced_sign_up(dev_server)
    settled_trace(dev_server, correlation_id)

    # keel dev's console: one readable line for the request, none of the handlers' JSON
    console = dev_server.output()
    assert re.search(rf"POST /v1/tenants 201 \d+ ms {tenant_id} corr={correlation_id}", console)
    assert f"identity.tenant.created.v1 published {tenant_id} corr={correlation_id}" in console
    assert '"level":"INFO"' not in console

    # keel trace, in another terminal
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "layers" / "keel" / "python")])}
    command = [
        sys.executable,
        "-m",
        "infra.local.cli",
        "trace",
        correlation_id,
        "--state-dir",
        str(dev_server.state_dir),
    ]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"correlation id {correlation_id}" in result.stdout
    assert re.search(rf"POST /v1/tenants 201 \d+ ms {tenant_id}", result.stdout)
    assert "identity.member.joined.v1" in result.stdout
