"""Black-box: ``keel dev`` as a subprocess, on free ports, exactly as a developer starts it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.runtime import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
STARTUP_BUDGET_SECONDS = 10


@dataclass
class DevServer:
    process: subprocess.Popen[str]
    url: str
    started_in: float
    state_dir: Path

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.call("GET", path)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def _wait_for_health(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"keel dev exited early with {process.returncode}: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # answering at all is up (a 503 says which component is not)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"/health did not answer within {STARTUP_BUDGET_SECONDS} s")


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    port, state_dir = free_port(), tmp_path_factory.mktemp("keel-dev")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "layers" / "keel" / "python")]),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    command = [
        sys.executable, "-m", "infra.local.cli", "dev",
        "--port", str(port), "--moto-port", str(free_port()), "--state-dir", str(state_dir), "--quiet",
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_health(f"http://127.0.0.1:{port}", process, started + STARTUP_BUDGET_SECONDS)
        yield DevServer(process, f"http://127.0.0.1:{port}", time.monotonic() - started, state_dir)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


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


def test_ctrl_c_stops_it_cleanly_with_exit_0(dev_server: DevServer) -> None:
    dev_server.process.send_signal(signal.SIGINT)

    assert dev_server.process.wait(15) == 0
    output = dev_server.process.stdout.read() if dev_server.process.stdout else ""
    assert f"{dev_server.url}/docs" in output
    assert "/_local/emails" in output
    assert "/_local/dlq" in output
    assert "curl -s" in output
    assert "stopped" in output
    assert "Traceback" not in output, output
    assert not (dev_server.state_dir / "dev.json").exists()
