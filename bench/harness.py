"""Drives the real handlers through the real local gateway and authorizer, in-process, on a local
runtime provisioned from the topology (moto server, Cognito as the IdP), for ``make bench``."""

from __future__ import annotations

import contextvars
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from infra.local.gateway import GatewayRequest, LocalApi
from infra.local.runtime import LocalRuntime, free_port
from infra.topology import TOPOLOGY, Topology


@dataclass(frozen=True)
class Call:
    """One request as a client sent it through the harness."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]


#: Which function the current DynamoDB request is made for: "api" (the request the step sends, or what
#: it runs with ``as_api``), "authorizer", or "background" (pollers, consumers, webhook deliveries).
_caller: contextvars.ContextVar[str] = contextvars.ContextVar("bench_caller", default="background")
T = TypeVar("T")


class Harness:
    """Calls the API the way a client does (through the local gateway, authorizer included) and
    counts DynamoDB requests per function with botocore's ``before-call`` event."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        assert runtime.gateway is not None
        self.api: LocalApi = runtime.gateway.api
        # The bench sends each route many times for one tenant: it measures the path, not the tenant's rate.
        self.api.throttle = None
        self.counts: dict[str, Counter[str]] = {"api": Counter(), "authorizer": Counter(), "background": Counter()}
        #: Requests to Stripe's API (the local emulator's ``/v1/...``), whoever made them.
        self.stripe_requests = 0
        if runtime.stripe is not None:
            handle = runtime.stripe.app.handle

            def counted(method: str, target: str, headers: Any, body: bytes) -> Any:
                if target.startswith("/v1/"):
                    self.stripe_requests += 1
                return handle(method, target, headers, body)

            runtime.stripe.app.handle = counted  # type: ignore[method-assign]
        #: The first request sent to each context's API (the first-response figure sends it again).
        self.first_calls: dict[str, Call] = {}
        authorizer = runtime.authorizer_function
        if authorizer is not None:
            invoke = authorizer.invoke

            def counted_as_authorizer(event: Any) -> Any:
                token = _caller.set("authorizer")
                try:
                    return invoke(event)
                finally:
                    _caller.reset(token)

            authorizer.invoke = counted_as_authorizer  # type: ignore[method-assign]

    def record(self, operation: str) -> None:
        self.counts[_caller.get()][operation] += 1

    def reset_counts(self) -> None:
        for count in self.counts.values():
            count.clear()
        self.stripe_requests = 0

    def as_api(self, work: Callable[[], T]) -> T:
        """Run ``work`` here, its DynamoDB requests counted as the step's own (a consumer invoked by hand)."""
        token = _caller.set("api")
        try:
            return work()
        finally:
            _caller.reset(token)

    def token(self, email: str, *, operator: bool = False) -> str:
        return str(self.runtime.token(email, operator=operator)["id_token"])

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        sent = dict(headers or {})
        ctx = self.runtime.topology.api_context_for(path.split("?", 1)[0])
        if ctx is not None:
            self.first_calls.setdefault(ctx.name, Call(method, path, body, dict(sent)))
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = GatewayRequest(method, path, list(sent.items()), data, "127.0.0.1", "bench.local")
        response = self.as_api(lambda: self.api.handle(request))
        is_json = any(k.lower() == "content-type" and v.startswith("application/json") for k, v in response.headers)
        payload = (json.loads(response.body) if is_json else response.body.decode()) if response.body else None
        return response.status, payload

    def expect(
        self, status: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        got, payload = self.call(method, path, body, headers)
        if got != status:
            raise AssertionError(f"{method} {path}: expected {status}, got {got}: {payload}")
        return payload


def wait_for(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """What ``check`` answers once it is truthy (polled every 50 ms): the background work a step waits
    for (a consumer, a poller, a webhook). An ``AssertionError`` naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"bench: {what} did not happen within {timeout} s")
        time.sleep(0.05)
    return found


@contextmanager
def local_runtime(topology: Topology = TOPOLOGY) -> Iterator[LocalRuntime]:
    """The local runtime on free ports, with its state in a temporary folder."""
    with (
        tempfile.TemporaryDirectory(prefix="keel-bench-") as state,
        LocalRuntime(topology, port=free_port(), state_dir=Path(state)) as runtime,
    ):
        yield runtime


@contextmanager
def counting(harness: Harness) -> Iterator[None]:
    """Count every DynamoDB request made while active, attributed to the API or the authorizer."""
    import botocore.session

    idempotency = harness.runtime.topology.idempotency_table

    def before_call(model: Any, params: Any = None, **_: Any) -> None:
        # The kernel's Idempotency-Key records are not the route's own requests: named apart, not judged.
        body = params.get("body", b"") if isinstance(params, dict) else b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        on_idempotency_table = f'"TableName": "{idempotency}"' in text or f'"TableName":"{idempotency}"' in text
        harness.record(f"idempotency:{model.name}" if on_idempotency_table else model.name)

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-call.dynamodb.*", before_call)
        return client

    from keel import reset_caches

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    reset_caches()  # clients made from now on carry the hook
    try:
        yield
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
