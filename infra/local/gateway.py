"""The local API Gateway: HTTP on 127.0.0.1 -> REST proxy event -> authorizer -> handler -> HTTP.

``LocalApi`` is the request path and knows no sockets; ``GatewayServer`` is a small threaded
HTTP/1.1 server around it. Besides the topology's routes it serves, in local mode only:

- ``GET /health``: the platform handler's answer plus ``components``, the state of moto, the
  gateway, every poller and the scheduler (which the platform handler cannot see);
- ``GET /_local/health``, ``GET /_local/emails`` (JSON, or a mail catcher's page for a browser, each
  email at ``/_local/emails/<id>``), ``GET /_local/push`` and FCM's send endpoint under ``/_local/fcm``
  (``infra/local/push.py``), ``GET|POST /_local/duplicates`` (deliver every message twice), ``GET /_local/dlq``,
  ``POST /_local/dlq/<queue>/redrive``, ``GET|POST /_local/token?email=...[&operator=1]``,
  ``GET /_local/traces/<correlation id>`` (JSON, or a page for a browser): developer conveniences that
  are never deployed.

Each request it answers is told to the console (``DevConsole.requested``), which prints its line.

Like API Gateway with CORS origins configured, it answers a browser's preflight (``OPTIONS`` with
``Access-Control-Request-Method``) for an allowed origin and refuses any other, and its own answers
carry ``Access-Control-Allow-Origin`` for an allowed origin (the handlers add it to theirs, ``keel.cors``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local.authorizer import TENANT_SOURCES, USER_SOURCES, Allowed, AuthorizerGate
from infra.local.lambdas import FunctionBusy, LocalFunction
from infra.local.lingering import linger
from infra.local.mailbox import email_page, inbox_page
from infra.local.push import SEND_PATH
from infra.local.shapes import method_arn, proxy_event, traced_headers
from infra.local.throttle import TenantThrottle, Throttled
from infra.local.traces import CAPACITY, RequestSeen, as_html
from infra.model import LOCAL_CORS_ORIGINS
from infra.topology import Topology
from keel import cors
from keel.errors import Forbidden
from keel.http import MAX_BODY_BYTES, NO_ROUTE_MESSAGE, default_headers, error_payload, precheck_body
from keel.observability import MAX_CORRELATION_ID

log = logging.getLogger("keel.local.gateway")

_REDRIVE = re.compile(r"^/_local/dlq/([A-Za-z0-9_.\-/]+)/redrive$")
_TRACE = re.compile(r"^/_local/traces/(.+)$")
_EMAIL = re.compile(r"^/_local/emails/([^/]+)$")
#: Who ``GET /_local/token`` signs in when no ``email`` is given.
DEMO_EMAIL = "demo@keel.local"
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
#: What a REST API's ``ANY`` method covers. API Gateway answers any other method (TRACE, CONNECT,
#: QUERY...) itself, before routing or the authorizer: 403, its MISSING_AUTHENTICATION_TOKEN
#: response, which the cloud stack renders in Keel's error shape as the local gateway does here.
ROUTED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
UNROUTED_METHOD = (403, Forbidden.code, NO_ROUTE_MESSAGE)


class DevConsole(Protocol):
    """What the runtime shows on the local-only pages."""

    def components(self) -> dict[str, dict[str, Any]]: ...

    def emails(self) -> list[dict[str, Any]]: ...

    def dead_letters(self) -> list[dict[str, Any]]: ...

    def push(self, project: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
        """FCM's answer to one ``messages:send`` (``infra/local/push.py``)."""
        ...

    def pushes(self) -> list[dict[str, Any]]: ...

    def duplicate_delivery(self, enabled: bool | None = None) -> bool:
        """Switch every consumer's delivery of every message twice on or off (``None``: just say)."""
        ...

    def redrive(self, queue: str) -> int:
        """Move a DLQ's messages back; raises ``LookupError`` for an unknown queue."""
        ...

    def token(self, email: str, *, operator: bool = False) -> dict[str, Any]:
        """Tokens for ``email`` from the local identity provider (the user is made on first use; with
        ``operator``, put in the operators' group); ``ValueError`` when the provider refuses the address."""
        ...

    def requested(self, seen: RequestSeen) -> None:
        """The gateway answered a request."""
        ...

    def trace(self, correlation_id: str) -> dict[str, Any] | None:
        """What a correlation id caused (``None`` when unknown)."""
        ...


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    target: str  # the request-target: path and query, still percent-encoded
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    source_ip: str
    host: str


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _from_proxy_result(result: Any) -> GatewayResponse | None:
    """An HTTP response from a Lambda proxy result; ``None`` when API Gateway would call it malformed."""
    if not isinstance(result, Mapping):
        return None
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        return None
    body = result.get("body") or ""
    try:
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    except ValueError:
        return None
    multi: Mapping[str, Any] = result.get("multiValueHeaders") or {}
    multi_names = {name.lower() for name in multi}
    headers = [
        (name, str(value))
        for name, value in (result.get("headers") or {}).items()
        if name.lower() not in multi_names and name.lower() not in _HOP_BY_HOP
    ]
    for name, values in multi.items():
        if name.lower() not in _HOP_BY_HOP:
            headers.extend((name, str(value)) for value in values or [])
    return GatewayResponse(status, headers, data)


def _error(status: int, code: str, message: str, request_id: str) -> GatewayResponse:
    response = _from_proxy_result(error_payload(status, code, message, request_id=request_id))
    assert response is not None
    return response


def _local(status: int, content_type: str, body: bytes) -> GatewayResponse:
    # The gateway's own answers carry the same headers as the kernel's (tokens among them: no-store).
    return GatewayResponse(status, [("Content-Type", content_type), *default_headers().items()], body)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    # The last of repeated headers, as the proxy event's ``headers`` hands it to the handler.
    wanted = name.lower()
    return next((value for key, value in reversed(headers) if key.lower() == wanted), None)


def _json(status: int, payload: Any) -> GatewayResponse:
    return _local(status, "application/json", json.dumps(payload, indent=2, default=str).encode())


def _resource(prefix: str, path: str) -> tuple[str, dict[str, str] | None]:
    # Each API prefix is a proxy resource: "/v1/members" and "/v1/members/{proxy+}".
    if path == prefix:
        return prefix, None
    base = prefix.rstrip("/")
    return f"{base}/{{proxy+}}", {"proxy": path[len(base) + 1 :]}


class LocalApi:
    """The request path of the local API Gateway (no sockets: ``handle`` maps a request to a response)."""

    def __init__(
        self,
        topology: Topology,
        *,
        api_functions: Mapping[str, LocalFunction],
        authorizer: AuthorizerGate | None,
        region: str,
        console: DevConsole | None = None,
        cors_origins: Collection[str] = LOCAL_CORS_ORIGINS,
        throttle: TenantThrottle | None = None,
    ) -> None:
        self.topology = topology
        self.api_functions = dict(api_functions)
        self.authorizer = authorizer
        self.region = region
        self.console = console
        self.cors_origins = frozenset(cors_origins)
        #: Each tenant's own rate, as API Gateway's usage plans apply it (``None``: unlimited).
        self.throttle = throttle

    # -- entry points -----------------------------------------------------------------------

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        origin = _header(request.headers, "Origin")
        response = self._preflight(request, origin, request_id) or self._dispatch(request, request_id)
        present = {name.lower() for name, _ in response.headers}
        for name, value in cors.response_headers(origin, self.cors_origins).items():
            if name.lower() not in present:  # the handler's own CORS headers stand
                response.headers.append((name, value))
        response.headers.append(("x-amzn-RequestId", request_id))
        if self.console is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.console.requested(_seen(request, response, request_id, elapsed_ms))
        return response

    def _preflight(self, request: GatewayRequest, origin: str | None, request_id: str) -> GatewayResponse | None:
        """A browser's CORS preflight: answered here for allowed origins, refused for any other."""
        if request.method != "OPTIONS" or _header(request.headers, "Access-Control-Request-Method") is None:
            return None
        if origin is None or origin not in self.cors_origins:
            return _error(403, "forbidden", "this origin may not call the API", request_id)
        if self.topology.api_context_for(unquote(urlsplit(request.target).path)) is None:
            return _error(404, "not_found", "no such route", request_id)
        return GatewayResponse(204, list(cors.preflight_headers(origin).items()), b"")

    def refuse(self, status: int, code: str, message: str) -> GatewayResponse:
        """An error answered before the request is read (oversized or unsized bodies)."""
        request_id = str(uuid.uuid4())
        response = _error(status, code, message, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    # -- routing ------------------------------------------------------------------------------

    def _dispatch(self, request: GatewayRequest, request_id: str) -> GatewayResponse:
        split = urlsplit(request.target)
        path = unquote(split.path) or "/"
        if self.console is not None and (path == "/_local" or path.startswith("/_local/")):
            accept = _header(request.headers, "accept") or ""
            return self._local_page(request.method, path, split.query, request.body, request_id, accept=accept)
        if request.method not in ROUTED_METHODS:
            return _error(*UNROUTED_METHOD, request_id)
        response = self._api(request, path, split.query, request_id)
        if self.console is not None and request.method == "GET" and path == "/health":
            return self._with_components(response)
        return response

    def _api(self, request: GatewayRequest, path: str, query: str, request_id: str) -> GatewayResponse:
        endpoint = self.topology.endpoint_for(path)
        if endpoint is not None:
            ctx, own = endpoint
            function = self.api_functions.get(ctx.endpoint_function_name(own))
            resource, path_parameters = path, None
        else:
            found = self.topology.api_context_for(path)
            function = self.api_functions.get(found.name) if found is not None else None
            if found is None:
                return _error(404, "not_found", "no such route", request_id)
            resource, path_parameters = _resource(found.api_prefix_for(path) or path, path)
        if function is None:
            return _error(404, "not_found", "no such route", request_id)
        event = proxy_event(
            method=request.method,
            path=path,
            resource=resource,
            path_parameters=path_parameters,
            headers=traced_headers(request.headers),
            query=parse_qsl(query, keep_blank_values=True),
            body=request.body,
            source_ip=request.source_ip,
            domain_name=request.host,
            request_id=request_id,
            epoch_ms=int(time.time() * 1000),
        )
        refused = self._authorize(event, request.method, path)
        if isinstance(refused, Throttled):
            response = _error(refused.status, refused.code, refused.message, request_id)
            response.headers.append(("Retry-After", str(refused.retry_after)))
            return response
        if refused is None:
            refused = precheck_body(event)  # the same 400/413 the kernel's resolver gives
        if refused is not None:
            return _error(*refused, request_id)
        return self._invoke(function, event, request_id)

    def _authorize(self, event: dict[str, Any], method: str, path: str) -> tuple[int, str, str] | Throttled | None:
        """Fill ``requestContext.authorizer``, or say why API Gateway would refuse the request."""
        if self.topology.is_public(method, path):
            return None
        if self.authorizer is None:
            return 401, "unauthorized", "this route needs credentials and no authorizer is configured"
        tenantless = self.topology.is_tenantless(method, path)
        sources = USER_SOURCES if tenantless else TENANT_SOURCES
        decision = self.authorizer.check(event, method_arn(self.region, method, path), sources)
        if not isinstance(decision, Allowed):
            return decision.status, decision.code, decision.message
        if self.throttle is not None and not tenantless:
            # Tenant routes require a key, as the cloud's methods do: the key's own budget is spent.
            refused = self.throttle.admit(decision.usage_key)
            if refused is not None:
                return refused
        event["requestContext"]["authorizer"] = decision.authorizer
        return None

    def _invoke(self, function: LocalFunction, event: dict[str, Any], request_id: str) -> GatewayResponse:
        try:
            result = function.invoke(event)
        except FunctionBusy as exc:
            return _error(503, "service_unavailable", str(exc), request_id)
        except Exception:  # the caller gets the error shape; the developer gets the traceback
            log.exception("%s raised on %s %s", function.name, event["httpMethod"], event["path"])
            message = "something went wrong; quote the request id if you report it"
            return _error(500, "internal_error", message, request_id)
        response = _from_proxy_result(result)
        if response is None:
            log.error("%s returned a malformed proxy response: %r", function.name, result)
            return _error(502, "bad_gateway", "the handler returned a malformed response", request_id)
        return response

    # -- local mode ------------------------------------------------------------------------------

    def _with_components(self, platform: GatewayResponse) -> GatewayResponse:
        assert self.console is not None
        components = self.console.components()
        try:
            body = platform.json() if platform.status < 500 else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"status": "degraded", "platform": {"status": platform.status}}
        body["components"] = components
        healthy = platform.status == 200 and all(c.get("status") == "ok" for c in components.values())
        if not healthy:
            body["status"] = "degraded"
        return _json(200 if healthy else 503, body)

    def _local_page(
        self, method: str, path: str, query: str, body: bytes | None, request_id: str, *, accept: str = ""
    ) -> GatewayResponse:
        console = self.console
        assert console is not None
        pages: dict[tuple[str, str], Callable[[], GatewayResponse]] = {
            ("GET", "/_local"): lambda: _json(200, {"components": console.components()}),
            ("GET", "/_local/health"): lambda: _json(200, {"components": console.components()}),
            ("GET", "/_local/emails"): lambda: self._emails("text/html" in accept),
            ("GET", "/_local/push"): lambda: _json(200, {"messages": console.pushes()}),
            ("GET", "/_local/duplicates"): lambda: _json(200, {"enabled": console.duplicate_delivery()}),
            ("POST", "/_local/duplicates"): lambda: _json(
                200, {"enabled": console.duplicate_delivery(_is_set(_json_object(body).get("enabled")))}
            ),
            ("GET", "/_local/dlq"): lambda: _json(200, {"queues": console.dead_letters()}),
            ("GET", "/_local/token"): lambda: self._token(dict(parse_qsl(query)), request_id),
            ("POST", "/_local/token"): lambda: self._token(_json_object(body), request_id),
        }
        page = pages.get((method, path.rstrip("/")))
        if page is not None:
            try:
                return page()
            except Exception:  # a local page that fails answers in the error shape, never a dropped connection
                log.exception("the local page %s %s failed", method, path)
                return _error(500, "internal_error", "the local page failed; see the keel dev log", request_id)
        patterned: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], GatewayResponse]]] = [
            ("POST", _REDRIVE, lambda m: self._redrive(m.group(1), request_id)),
            ("GET", _EMAIL, lambda m: self._email(unquote(m.group(1)), "text/html" in accept, request_id)),
            ("POST", SEND_PATH, lambda m: _json(*console.push(m.group(1), body))),
            ("GET", _TRACE, lambda m: self._trace(m.group(1), "text/html" in accept, request_id)),
        ]
        for wanted, pattern, answer in patterned:
            matched = pattern.match(path)
            if method == wanted and matched:
                return answer(matched)
        return _error(404, "not_found", "no such local page", request_id)

    def _redrive(self, queue: str, request_id: str) -> GatewayResponse:
        assert self.console is not None
        try:
            moved = self.console.redrive(queue)
        except LookupError as exc:
            return _error(404, "not_found", str(exc.args[0] if exc.args else exc), request_id)
        return _json(200, {"queue": queue, "moved": moved})

    def _emails(self, as_page: bool) -> GatewayResponse:
        assert self.console is not None
        emails = self.console.emails()
        if as_page:
            return _local(200, "text/html; charset=utf-8", inbox_page(emails).encode())
        return _json(200, {"emails": emails})

    def _email(self, message_id: str, as_page: bool, request_id: str) -> GatewayResponse:
        assert self.console is not None
        found = next((m for m in self.console.emails() if m["id"] == message_id), None)
        if found is None:
            return _error(404, "not_found", "no such email", request_id)
        if as_page:
            return _local(200, "text/html; charset=utf-8", email_page(found).encode())
        return _json(200, found)

    def _trace(self, correlation_id: str, as_page: bool, request_id: str) -> GatewayResponse:
        assert self.console is not None
        chain = self.console.trace(correlation_id)
        if chain is None:
            message = f"nothing seen for this correlation id (keel dev keeps the last {CAPACITY} since it started)"
            return _error(404, "not_found", message, request_id)
        if as_page:
            return _local(200, "text/html; charset=utf-8", as_html(chain).encode())
        return _json(200, chain)

    def _token(self, params: dict[str, Any], request_id: str) -> GatewayResponse:
        assert self.console is not None
        email = params.get("email", DEMO_EMAIL)
        if not isinstance(email, str) or "@" not in email or len(email) > 254:
            return _error(400, "bad_request", "email must be an email address", request_id)
        try:
            tokens = self.console.token(email, operator=_is_set(params.get("operator")))
        except ValueError as refused:  # the local IdP refuses the address
            return _error(400, "bad_request", str(refused), request_id)
        if params.get("raw"):
            return _local(200, "text/plain", tokens["id_token"].encode())
        return _json(200, tokens)


def _seen(request: GatewayRequest, response: GatewayResponse, request_id: str, elapsed_ms: float) -> RequestSeen:
    # The kernel echoes the correlation id it used; a request refused before any handler has the same rule.
    correlation_id = (
        _header(response.headers, "x-correlation-id") or _header(request.headers, "x-correlation-id") or request_id
    )
    return RequestSeen(
        method=request.method,
        path=unquote(urlsplit(request.target).path) or "/",
        status=response.status,
        duration_ms=elapsed_ms,
        request_id=request_id,
        correlation_id=correlation_id[:MAX_CORRELATION_ID],
    )


def _is_set(flag: Any) -> bool:
    """``operator=1`` in a query (``1``, ``true``, ``yes``) or ``"operator": true`` in a JSON body."""
    return flag is True or (isinstance(flag, str | int) and str(flag).lower() in {"1", "true", "yes"})


def _json_object(body: bytes | None) -> dict[str, Any]:
    """A JSON object body, or ``{}`` (then the demo defaults apply) for an empty or non-object body."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {"email": None}
    return parsed if isinstance(parsed, dict) else {"email": None}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; Nagle would hold the second 40 ms
    server: GatewayServer

    def do_GET(self) -> None:
        self._serve()

    def handle_expect_100(self) -> bool:
        # Answer an oversized or unsized upload with its error instead of "100 Continue".
        length = (self.headers.get("Content-Length") or "").strip()
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked or (length.isdigit() and int(length) > MAX_BODY_BYTES):
            return True
        return super().handle_expect_100()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method it has no ``do_<METHOD>`` for with an HTML 501; API Gateway
        # answers every method, so every method is served (and answered as API Gateway would).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _refusal(self) -> GatewayResponse | None:
        """An answer given before reading the body: no size, a bad size, or too large."""
        api = self.server.api
        length = self.headers.get("Content-Length")
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return api.refuse(411, "length_required", "send the body with a Content-Length")
        if length is not None and not length.strip().isdigit():
            return api.refuse(400, "bad_request", "Content-Length is not a number")
        if length is not None and int(length) > MAX_BODY_BYTES:
            return api.refuse(413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES // 1024} KB")
        return None

    def _serve(self) -> None:
        started = time.perf_counter()
        response = self._refusal()
        if response is not None:
            self.close_connection = True  # the unread body cannot be skipped safely
            self._write(response)
            linger(self)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            response = self.server.api.handle(
                GatewayRequest(
                    method=self.command,
                    target=self.path,
                    headers=list(self.headers.items()),
                    body=self.rfile.read(length) if length else None,
                    source_ip=self.client_address[0],
                    host=self.headers.get("Host") or self.server.url.split("//", 1)[1],
                )
            )
            self._write(response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The console prints each request readably (DevConsole.requested); this is the wire-level record.
        log.debug("%s %s -> %d (%.1f ms)", self.command, self.path, response.status, elapsed_ms)

    def _write(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except ConnectionError:  # the client hung up before reading its answer: nothing to tell it
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class GatewayServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 (keep-alive) server; the port is bound on construction."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's backlog is 5: a burst of clients (20 concurrent creates) must queue, not be reset.
    request_queue_size = 128

    def __init__(self, api: LocalApi, host: str, port: int) -> None:
        self.api = api
        super().__init__((host, port), _RequestHandler)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        host = self.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.server_port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True
        )
        self._thread.start()

    def is_serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        if not self._closed:
            self.server_close()
            self._closed = True
