"""HTTP: Stripe's wire format on ``/v1/...`` (auth, versions, idempotency, errors), the pages, ``/_local``.

``StripeApp.handle`` maps one request to one response and knows no sockets; ``StripeServer`` is
the threaded HTTP/1.1 server around it, like the local API gateway's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.local.lingering import linger
from infra.local.stripe import pages, routes
from infra.local.stripe.account import Account
from infra.local.stripe.errors import StripeError, invalid, unauthenticated
from infra.local.stripe.forms import parse_form
from infra.local.stripe.params import Params
from infra.local.stripe.settings import API_VERSION
from infra.local.stripe.store import IdempotencyCache, Saved, expand, new_id
from infra.local.stripe.webhooks import Dispatcher

log = logging.getLogger("keel.local.stripe")
MAX_BODY_BYTES = 1024 * 1024
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """An injected failure: the next ``count`` API requests under ``path`` answer ``status`` after ``delay``."""

    status: int | None
    count: int
    path: str = "/v1/"
    delay: float = 0.0


@dataclass
class Controls:
    """What ``/_local`` changes at run time."""

    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and path.startswith(fault.path):
                    fault.count -= 1
                    return fault
        return None


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, indent=2).encode()
    return Response(status, [("Content-Type", "application/json"), *(headers or [])], body)


class StripeApp:
    """The request path, without sockets."""

    def __init__(self, account: Account, dispatcher: Dispatcher) -> None:
        self.account = account
        self.dispatcher = dispatcher
        self.idempotency = IdempotencyCache()
        self.controls = Controls()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        if url.path.startswith("/v1/"):
            lowered = {name.lower(): value for name, value in headers.items()}
            return self._api(method, url.path, url.query, lowered, body)
        if pages.is_page(url.path) and method in ("GET", "POST"):
            with self.account.lock:
                try:
                    page = pages.serve(self.account, method, url.path, body)
                finally:
                    self.account.flush()
            headers_out = [("Content-Type", page.content_type), *page.headers]
            return Response(page.status, headers_out, page.body)
        if url.path.startswith("/_local/"):
            return self._local(method, url.path, url.query, body)
        error = invalid(f"Unrecognized request URL ({method}: {url.path}).")
        return _json(404, error.body())

    # -- the API -------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        request_id = new_id("req", 14)
        version = headers.get("stripe-version") or API_VERSION
        out = [("Request-Id", request_id), ("Stripe-Version", version)]
        key = headers.get("idempotency-key")
        if key:
            out.append(("Idempotency-Key", key))
        try:
            self._authenticate(headers.get("authorization"))
            if not _VERSION.match(version):
                raise invalid(f"Invalid Stripe API version: {version}", code="api_version_invalid")
            fault = self.controls.take(path)
            if fault is not None:
                time.sleep(fault.delay)
                if fault.status is not None:
                    return _fault_response(fault.status, out)
            params = parse_form(query)
            if body:  # POST, and DELETE from clients that send a form body
                params.update(parse_form(body.decode("utf-8", "replace")))
        except StripeError as exc:
            return _json(exc.status, exc.body(), out)
        found = routes.find(method, path)
        if found is None:
            return _json(404, invalid(f"Unrecognized request URL ({method}: {path}).").body(), out)
        if key and method == "POST":
            return self._idempotent(
                key=key, method=method, path=path, params=params, found=found, request_id=request_id, out=out
            )
        return self._execute(found, params, request_id, None, out)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise unauthenticated(
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            )
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(credential).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                credential = ""
        elif scheme.lower() != "bearer":
            raise unauthenticated("Invalid authorization header: use Bearer auth with your secret key.")
        if not _KEY.match(credential.strip()):
            masked = credential[:8] + "*" * 4 + credential[-4:] if len(credential) > 12 else "****"
            raise unauthenticated(f"Invalid API Key provided: {masked}")

    def _idempotent(
        self,
        *,
        key: str,
        method: str,
        path: str,
        params: dict[str, Any],
        found: tuple[routes.Route, tuple[str, ...]],
        request_id: str,
        out: list[tuple[str, str]],
    ) -> Response:
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        try:
            saved = self.idempotency.begin(key, fingerprint)
        except StripeError as exc:
            return _json(exc.status, exc.body(), out)
        if saved is not None:
            replayed = [("Idempotent-Replayed", "true"), ("Original-Request", saved.request_id)]
            return Response(saved.status, [("Content-Type", "application/json"), *out, *replayed], saved.body)
        response = None
        try:
            response = self._execute(found, params, request_id, key, out)
        finally:
            keep = response is not None and (response.status < 400 or response.status == 402)
            kept = Saved(fingerprint, response.status, response.body, request_id) if keep and response else None
            self.idempotency.finish(key, kept)
        return response

    def _execute(
        self,
        found: tuple[routes.Route, tuple[str, ...]],
        params: dict[str, Any],
        request_id: str,
        key: str | None,
        out: list[tuple[str, str]],
    ) -> Response:
        route, ids = found
        acct = self.account
        with acct.lock:
            acct.request = (request_id, key)
            try:
                wrapped = Params(params)
                obj = route.handler(acct, wrapped, ids)
                rendered = expand(obj, wrapped.expand(), acct.store.find, routes.include(acct))
                return _json(200, rendered, out)
            except StripeError as exc:
                return _json(exc.status, exc.body(), out)
            except Exception:
                log.exception("stripe emulator: %s failed", route.template)
                error = StripeError(500, "api_error", "An unknown error occurred while processing the request.")
                return _json(500, error.body(), out)
            finally:
                acct.request = (None, None)
                acct.flush()

    # -- local controls ------------------------------------------------------------------------

    def _local(self, method: str, path: str, query: str, body: bytes) -> Response:
        args = {k: v[-1] for k, v in parse_qs(query).items()}
        args.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        try:
            if path == "/_local/deliveries" and method == "GET":
                after, wait = int(args.get("after", "0")), min(float(args.get("wait", "0")), 30.0)
                found = self.dispatcher.wait_for(after, wait) if wait else self.dispatcher.deliveries(after)
                return _json(200, {"deliveries": found})
            if path == "/_local/chaos":
                if method == "POST":
                    self.dispatcher.chaos = args.get("enabled", "true") in ("true", "1", "on")
                return _json(200, {"chaos": self.dispatcher.chaos})
            if path == "/_local/faults":
                return self._faults(method, args)
            if path == "/_local/health":
                return _json(
                    200, {"status": "ok", "api_version": API_VERSION, "webhooks": self.dispatcher.is_running()}
                )
        except ValueError as exc:
            return _json(400, invalid(f"Invalid value: {exc}").body())
        return _json(404, invalid(f"Unrecognized request URL ({method}: {path}).").body())

    def _faults(self, method: str, args: dict[str, str]) -> Response:
        with self.controls.lock:
            if method == "DELETE":
                self.controls.faults.clear()
            elif method == "POST":
                status = int(args["status"]) if args.get("status") else None
                if status is not None and status not in (402, 409, 429, 500, 502, 503):
                    raise ValueError(f"status {status} (use 409, 429, 500, 502 or 503)")
                fault = Fault(
                    status, int(args.get("count", "1")), args.get("path", "/v1/"), float(args.get("delay", "0"))
                )
                self.controls.faults.append(fault)
            faults = [vars(fault) for fault in self.controls.faults if fault.count > 0]
        return _json(200, {"faults": faults})


def _fault_response(status: int, out: list[tuple[str, str]]) -> Response:
    if status == 429:
        error = StripeError(429, "invalid_request_error", "Request rate limit exceeded.", code="rate_limit")
    elif status == 409:
        error = StripeError(
            409, "invalid_request_error", "This object cannot be accessed right now.", code="lock_timeout"
        )
    else:
        error = StripeError(status, "api_error", "An unknown error occurred while processing the request.")
    return _json(status, error.body(), out)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: StripeServer

    def do_GET(self) -> None:
        started = time.perf_counter()
        length = (self.headers.get("Content-Length") or "0").strip()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower() or not length.isdigit():
            response = _json(411, invalid("Send the request body with a Content-Length.").body())
            self.close_connection = True
        elif int(length) > MAX_BODY_BYTES:
            response = _json(413, invalid("Request body too large.").body())
            self.close_connection = True
        else:
            body = self.rfile.read(int(length)) if int(length) else b""
            response = self.server.app.handle(self.command, self.path, dict(self.headers.items()), body)
        self._write(response)
        if self.close_connection:
            linger(self)
        log.debug(
            "%s %s -> %d (%.1f ms)", self.command, self.path, response.status, (time.perf_counter() - started) * 1000
        )

    do_POST = do_DELETE = do_GET

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            self.wfile.write(response.body)
        except ConnectionError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class StripeServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server around ``StripeApp``; the port is bound on construction."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: StripeApp, host: str, port: int) -> None:
        self.app = app
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.server_port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-emulator", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            stopper = threading.Thread(target=self.shutdown, daemon=True)
            stopper.start()
            with contextlib.suppress(OSError):  # a connection wakes the loop now instead of at its next poll
                socket.create_connection((str(self.server_address[0]), self.server_port), timeout=0.5).close()
            stopper.join(5)
            self._thread.join(5)
            self._thread = None
        self.server_close()
