"""``keel dev`` as a subprocess, on free ports, exactly as a developer starts it.

One server serves the whole session (``dev_server``): it starts in about a second, but every later
context adds e2e tests, and a server per module would multiply that. Tests that share it must not
depend on a fresh state: each signs up its own users (``DevServer.sign_up``) and tenants.
``started_dev_server`` starts a private one, for a test that stops it (Ctrl-C).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from infra.local.runtime import free_port

REPO = Path(__file__).resolve().parents[2]
STARTUP_BUDGET_SECONDS = 10
#: How long the fixtures wait for a start; the budget itself is one test's assertion, so that a slow
#: machine fails that test alone instead of every e2e test.
STARTUP_WAIT_SECONDS = 60


@dataclass
class Owner:
    """A signed-in user and the tenant they own: the headers to act in it."""

    email: str
    token: str
    tenant_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Tenant-Id": self.tenant_id}


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    url: str
    started_in: float
    state_dir: Path

    @property
    def log(self) -> Path:
        return self.state_dir / "keel-dev.log"

    def output(self) -> str:
        """What it printed so far (to a file: a pipe nobody reads would block it once full)."""
        return self.log.read_text(errors="replace")

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.call("GET", path)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """``body`` sent as JSON."""
        data = json.dumps(body).encode() if body is not None else None
        return self.call_raw(method, path, data, {"Content-Type": "application/json", **(headers or {})})

    def call_raw(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """``data`` sent as it is."""
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def token(self, email: str) -> str:
        """An ID token for ``email`` from the local identity provider (the user is made on first use)."""
        status, _, body = self.call("POST", "/_local/token", {"email": email})
        assert status == 200, body
        return str(json.loads(body)["id_token"])

    def sign_up(self, name: str = "Acme") -> Owner:
        """A new user (never seen before in this session) who creates a tenant and owns it."""
        email = f"owner-{uuid4().hex[:12]}@example.com"
        token = self.token(email)
        status, _, body = self.call("POST", "/v1/tenants", {"name": name}, {"Authorization": f"Bearer {token}"})
        assert status == 201, body
        return Owner(email=email, token=token, tenant_id=str(json.loads(body)["id"]))


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"keel dev exited early with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # answering at all is up (a 503 says which component is not)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"/health did not answer within {STARTUP_WAIT_SECONDS} s")


@contextmanager
def started_dev_server(state_dir: Path) -> Iterator[DevServer]:
    """``keel dev`` on free ports, killed on exit if it is still running."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "layers" / "keel" / "python")]),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    command = [
        sys.executable, "-m", "infra.local.cli", "dev",
        "--port", str(port), "--moto-port", str(free_port()), "--state-dir", str(state_dir),
    ]  # fmt: skip
    log = state_dir / "keel-dev.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_health(f"http://127.0.0.1:{port}", process, log, started + STARTUP_WAIT_SECONDS)
        yield DevServer(process, f"http://127.0.0.1:{port}", time.monotonic() - started, state_dir)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """The session's one ``keel dev``, shared by every e2e test."""
    with started_dev_server(tmp_path_factory.mktemp("keel-dev")) as server:
        yield server
