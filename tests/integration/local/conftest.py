"""A local runtime per test module, rendered from the test topology, on free ports."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.provision import AwsClients
from infra.local.runtime import LocalRuntime, aws_clients
from tests.integration.local.app.topology import REF, TOPOLOGY


@dataclass
class Running:
    runtime: LocalRuntime
    state_dir: Path
    aws: AwsClients
    #: What ``keel dev`` would print on its console while it runs (one line per request and per event).
    shown: list[str]

    @property
    def port(self) -> int:
        return int(self.runtime.api_url.rsplit(":", 1)[1])

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, body = self.request(method, path, **kwargs)
        return status, json.loads(body)


def eventually(check: Callable[[], Any], *, timeout: float = 10, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still {value!r} after {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state_dir = tmp_path_factory.mktemp("keel-state")
    shown: list[str] = []
    runtime = LocalRuntime(
        TOPOLOGY, topology_ref=REF, port=0, moto_port=0, state_dir=state_dir, retry_delay_seconds=0, show=shown.append
    )
    runtime.start()
    try:
        yield Running(runtime, state_dir, aws_clients(runtime.moto_endpoint), shown)
    finally:
        runtime.stop()
