"""Black-box: ``keel dev`` as a subprocess, on free ports, exactly as a developer starts it."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import STARTUP_BUDGET_SECONDS, DevServer, started_dev_server

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
