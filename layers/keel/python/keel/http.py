"""The HTTP edge every context's API is built on: ``KeelResolver``.

It is Powertools' ``APIGatewayRestResolver`` with validation on, plus what Keel promises on every
route: one error shape (``{"error": {"code", "message", "details"?, "request_id"}}``), no stack
traces, a bounded UTF-8 JSON body, an access level that each route must name (deny by default),
credentials refused once they expire, the security headers on every response, and a tenant's
routes acting with that tenant's credentials only (``keel.isolation``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from keel import cors, isolation, observability, settings
from keel.clock import Clock, SystemClock
from keel.errors import (
    BadRequest,
    KeelError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from keel.tenancy import ADMIN_PREFIX, Access, Caller, TenantContext, is_admin_path

MAX_BODY_BYTES = 256 * 1024
#: How deeply a JSON body may nest arrays and objects (``[[1]]`` is 2): deeper bodies are a 400.
MAX_JSON_DEPTH = 32
ACCESS_EXTENSION = "x-keel-access"
#: The error statuses a route declares beyond those its access, parameters and body imply.
ERRORS_EXTENSION = "x-keel-errors"
CORRELATION_HEADER = observability.CORRELATION_HEADER
#: On every response, from every context and from the gateways: no content-type sniffing, HTTPS only.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
#: Unless a route sets its own: answers may carry secrets or tenant data, so nothing may keep them.
DEFAULT_CACHE_CONTROL = "no-store"
#: What a gateway answers (403) to a method or path no route takes, as API Gateway does.
NO_ROUTE_MESSAGE = "no route answers this method on this path"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: What a mail client POSTs to a ``List-Unsubscribe`` link (RFC 8058), exactly.
ONE_CLICK_MEDIA_TYPE, ONE_CLICK_BODY = "application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click"
_UTF8 = frozenset({"utf-8", "utf8"})
# A JSON string, or what is left of an unterminated one: the optional closing quote keeps the
# match from failing and being retried at every later quote (quadratic on a crafted body).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
RouteT = TypeVar("RouteT", bound=Callable[..., Any])


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: list[ValidationIssue] | dict[str, Any] | None = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of every Keel API."""

    error: ErrorBody


def default_headers() -> dict[str, str]:
    """The headers every response carries unless it sets its own: security headers, ``no-store``."""
    return {**SECURITY_HEADERS, "Cache-Control": DEFAULT_CACHE_CONTROL}


def with_default_headers(response: dict[str, Any]) -> None:
    """Add to ``response`` (a proxy result) each of ``default_headers()`` it does not set itself."""
    headers = response.get("headers")
    if headers is None:
        headers = response["headers"] = {}
    present = {name.lower() for name in (*headers, *(response.get("multiValueHeaders") or {}))}
    for name, value in default_headers().items():
        if name.lower() not in present:
            headers[name] = value


def error_payload(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None,
    details: Any = None,
) -> dict[str, Any]:
    """An API Gateway proxy response carrying the error shape (also used by the local gateway)."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        body["details"] = details
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **default_headers()},
        "multiValueHeaders": {},
        "body": json.dumps({"error": body}, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def nests_deeper_than(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` deep, counted without
    recursion (``json.loads`` recurses: a thousand ``[`` exhaust Python's stack) and in linear time."""
    if text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to nest that deep
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    # The running depth at each bracket, outside strings; its highest point is the nesting.
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def _media_type(content_type: str) -> tuple[str, str | None]:
    """``("application/json", "utf-16")`` from ``application/json; charset="UTF-16"``."""
    media_type, *parameters = content_type.split(";")
    charset = None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def precheck_body(event: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """Refuse, before routing, a body that is too large (413), not JSON, not UTF-8, nested deeper
    than ``MAX_JSON_DEPTH`` or malformed (400), or declared in another charset (415):
    ``(status, code, message)``, or ``None`` when the body may go on."""
    body = event.get("body")
    if not body or str(event.get("httpMethod", "")).upper() not in _BODY_METHODS:
        return None
    try:
        _check_body(body, bool(event.get("isBase64Encoded")), event.get("headers") or {})
    except KeelError as refused:
        return refused.status, refused.code, refused.message
    return None


def _check_body(body: Any, is_base64: bool, headers: Mapping[str, Any]) -> None:
    try:
        raw = base64.b64decode(body) if is_base64 else str(body).encode()
    except ValueError:  # undecodable base64, or lone surrogates that no UTF-8 encodes
        raise BadRequest("request body is not UTF-8") from None
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES // 1024} KB")
    lowered = {name.lower(): value for name, value in headers.items()}
    media_type, charset = _media_type(str(lowered.get("content-type", "")))
    if media_type == ONE_CLICK_MEDIA_TYPE and raw.strip() == ONE_CLICK_BODY:
        return  # a mail client's one-click unsubscribe (RFC 8058): the one non-JSON body any route takes
    if media_type != "application/json":
        raise BadRequest("Content-Type must be application/json")
    if charset is not None and charset not in _UTF8:
        raise UnsupportedMediaType(f"charset {charset[:40]} is not accepted: send UTF-8")
    try:
        text = raw.decode("utf-8")  # strictly: json.loads(bytes) would guess UTF-16 or UTF-32
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8") from None
    if "\x00" in text:  # JSON never holds a raw NUL: this is UTF-16 or UTF-32 without a byte-order mark
        raise BadRequest("request body is not UTF-8")
    if nests_deeper_than(text):
        raise BadRequest(f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: unbalanced brackets, thousands deep
        raise BadRequest("request body is not valid JSON") from None


def _template(rule: str) -> str:
    """A route as OpenAPI writes it: ``/v1/members/{user_id}`` for Powertools' ``/v1/members/<user_id>``."""
    return rule.replace("<", "{").replace(">", "}")


def _issues(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the offending input back: it may hold a secret.
    return [
        ValidationIssue(
            loc=[p for p in err.get("loc", ()) if isinstance(p, str | int)],
            msg=str(err.get("msg") or err.get("type") or "invalid value"),
            type=str(err.get("type", "value_error")),
        ).model_dump()
        for err in exc.errors()
    ]


class KeelResolver(APIGatewayRestResolver):
    """The API resolver of one context. Routes must say who may call them:

    ``@app.get("/v1/members", access=Access.MEMBER)``
    """

    def __init__(self, service: str, *, clock: Clock | None = None) -> None:
        super().__init__(enable_validation=True)
        self.service = service
        #: What "now" is when a credential's expiry is checked (tests move it).
        self.clock: Clock = clock or SystemClock()
        self._access: dict[tuple[str, str], Access] = {}
        validation: Callable[..., Response[Any]] = self._request_validation_middleware

        def authorize_then_validate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
            # Access is checked before the body is validated so callers without the role learn nothing.
            route = app.context["_route"]
            access = self._access.get((route.method, route.path))
            allowed = self._methods_of(str(app.context.get("_path", "")))
            if access is not None:
                observability.note_route(_template(route.path))
            if access is None or route.method not in allowed:  # Powertools' not-found route, or a shadowed one
                if allowed:
                    raise MethodNotAllowed(f"{route.method} is not allowed here", allow=allowed)
                raise NotFound("no such route")
            caller = self.caller_for(access)
            if caller is not None:
                app.context["keel_caller"] = caller
            # A tenant's route reaches the tables with that tenant's credentials only (``keel.isolation``).
            with isolation.acting_for(caller.tenant.tenant_id if caller and caller.tenant else None):
                return validation(app, next_middleware)

        self._request_validation_middleware = authorize_then_validate  # type: ignore[assignment]
        self.exception_handler(KeelError)(self._keel_error)
        self.exception_handler(RequestValidationError)(self._validation_error)
        self.exception_handler(ServiceError)(self._service_error)
        self.exception_handler(Exception)(self._unexpected_error)
        self.not_found(self._route_not_found)

    # -- routes ---------------------------------------------------------------------------------

    def _keel_route(
        self, rule: str, method: str, access: Access, errors: Iterable[int], kwargs: dict[str, Any]
    ) -> Callable[[RouteT], RouteT]:
        if not isinstance(access, Access):
            raise TypeError(f"{method} {rule}: access must be an Access, got {access!r}")
        # Both ways: the admin prefix is served by the token-only authorizer (no tenant to check a
        # role against), and operator access must never leak onto a tenant's routes.
        if (access is Access.OPERATOR) != is_admin_path(rule):
            raise ValueError(
                f"{method} {rule}: routes under {ADMIN_PREFIX} need Access.OPERATOR, and only they may have it"
            )
        self._access[(method, rule)] = access
        extensions = dict(kwargs.pop("openapi_extensions", None) or {})
        extensions[ACCESS_EXTENSION] = access.value
        if errors:
            extensions[ERRORS_EXTENSION] = sorted(set(errors))
        decorator: Callable[[RouteT], RouteT] = super().route(rule, method, openapi_extensions=extensions, **kwargs)
        return decorator

    # Each takes ``errors``: the statuses the route's own rules answer (a 404 for an unknown invitation
    # token, a 409 for the last owner) beyond those that ``keel.openapi`` derives from its access,
    # parameters and body, so that the document lists exactly what the route can answer.

    def get(  # type: ignore[override]
        self, rule: str, *, access: Access, errors: Iterable[int] = (), **kwargs: Any
    ) -> Callable[[RouteT], RouteT]:
        return self._keel_route(rule, "GET", access, errors, kwargs)

    def post(  # type: ignore[override]
        self, rule: str, *, access: Access, errors: Iterable[int] = (), **kwargs: Any
    ) -> Callable[[RouteT], RouteT]:
        return self._keel_route(rule, "POST", access, errors, kwargs)

    def put(  # type: ignore[override]
        self, rule: str, *, access: Access, errors: Iterable[int] = (), **kwargs: Any
    ) -> Callable[[RouteT], RouteT]:
        return self._keel_route(rule, "PUT", access, errors, kwargs)

    def patch(  # type: ignore[override]
        self, rule: str, *, access: Access, errors: Iterable[int] = (), **kwargs: Any
    ) -> Callable[[RouteT], RouteT]:
        return self._keel_route(rule, "PATCH", access, errors, kwargs)

    def delete(  # type: ignore[override]
        self, rule: str, *, access: Access, errors: Iterable[int] = (), **kwargs: Any
    ) -> Callable[[RouteT], RouteT]:
        return self._keel_route(rule, "DELETE", access, errors, kwargs)

    def route(self, *args: Any, **kwargs: Any) -> Callable[[RouteT], RouteT]:
        if "access" not in kwargs:
            raise TypeError("KeelResolver routes must name their access: route(rule, method, access=...)")
        rule, method = args[0], args[1]
        access = kwargs.pop("access")
        errors = kwargs.pop("errors", ())
        return self._keel_route(rule, str(method).upper(), access, errors, kwargs)

    def _methods_of(self, path: str) -> list[str]:
        """The methods routes answer on ``path`` (the ``Allow`` of a 405). As in OpenAPI, a literal path
        shadows a template that also matches it: ``/v1/invitations/accept`` is not an invitation id."""
        for routes in (self._static_routes, self._dynamic_routes):
            methods = {r.method for r in routes if (r.method, r.path) in self._access and r.rule.match(path)}
            if methods:
                return sorted(methods)
        return []

    @property
    def access_rules(self) -> dict[tuple[str, str], Access]:
        """Every route's declared access, keyed by (method, rule)."""
        return dict(self._access)

    # -- the caller -----------------------------------------------------------------------------

    def caller_for(self, access: Access) -> Caller | None:
        """The authenticated caller, checked against ``access``; ``None`` on public routes.

        On ``AUTHENTICATED`` and ``OPERATOR`` routes the caller carries no tenant even if the authorizer
        named one: those routes are authorized by a token-only cache key, so a tenant there could be stale."""
        if access is Access.PUBLIC:
            return None
        caller = Caller.from_authorizer(self.current_event.request_context.authorizer.raw_event, now=self.clock.now())
        caller.require(access)
        if access in (Access.AUTHENTICATED, Access.OPERATOR):
            caller = Caller(user_id=caller.user_id, email=caller.email, operator=caller.operator)
        return caller

    @property
    def caller(self) -> Caller:
        """The caller this route's access check let through (not available on public routes)."""
        caller = self.context.get("keel_caller")
        if not isinstance(caller, Caller):
            raise Unauthorized("missing or invalid credentials")
        return caller

    def tenant(self) -> TenantContext:
        """The tenant of this request, from the authorizer context only."""
        return self.caller.in_tenant()

    @property
    def request_id(self) -> str | None:
        return self.current_event.request_context.request_id

    # -- lifecycle ------------------------------------------------------------------------------

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        request_context = event.get("requestContext") or {}
        request_id = request_context.get("requestId")
        correlation_id = observability.correlation_id_of(event)
        authorizer = request_context.get("authorizer") or {}
        observability.bind(
            self.service,
            correlation_id=correlation_id,
            request_id=request_id,
            tenant_id=authorizer.get("tenant_id"),
            user_id=authorizer.get("user_id"),
        )
        rejected = precheck_body(event)
        if rejected is not None:
            status, code, message = rejected
            response = error_payload(status, code, message, request_id=request_id)
        else:
            response = super().resolve(event, context)
        with_default_headers(response)
        response["headers"]["X-Request-Id"] = request_id or ""
        if correlation_id:
            response["headers"][CORRELATION_HEADER] = correlation_id
        allowed = cors.origins(settings.platform().cors_origins)
        response["headers"].update(cors.response_headers(cors.header(event.get("headers"), "Origin"), allowed))
        return response

    # -- errors ---------------------------------------------------------------------------------

    def _error(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> Response[Any]:
        body: dict[str, Any] = {"code": code, "message": message, "request_id": self.request_id}
        if details is not None:
            body["details"] = details
        return Response(status_code=status, content_type="application/json", body={"error": body}, headers=headers)

    def _keel_error(self, exc: KeelError) -> Response[Any]:
        headers = {"Allow": ", ".join(exc.allow)} if isinstance(exc, MethodNotAllowed) else None
        return self._error(exc.status, exc.code, exc.message, exc.details, headers)

    def _validation_error(self, exc: RequestValidationError) -> Response[Any]:
        return self._error(422, "validation_error", "the request is not valid", _issues(exc))

    def _service_error(self, exc: ServiceError) -> Response[Any]:
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "error"
        )
        return self._error(exc.status_code, code, str(exc.msg))

    def _unexpected_error(self, exc: Exception) -> Response[Any]:
        observability.for_service(self.service).logger.exception("unhandled error")
        return self._error(500, "internal_error", "something went wrong; quote the request id if you report it")

    def _route_not_found(self, exc: Exception) -> Response[Any]:
        return self._error(404, "not_found", "no such route")
