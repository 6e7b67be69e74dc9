"""The HTTP edge every context's API is built on: ``KeelResolver``.

It is Powertools' ``APIGatewayRestResolver`` with validation on, plus what Keel promises on every
route: one error shape (``{"error": {"code", "message", "details"?, "request_id"}}``), no stack
traces, a bounded JSON body, and an access level that each route must name (deny by default).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from keel import cors, observability, settings
from keel.errors import BadRequest, KeelError, NotFound, PayloadTooLarge, Unauthorized
from keel.tenancy import Access, Caller, TenantContext

MAX_BODY_BYTES = 256 * 1024
ACCESS_EXTENSION = "x-keel-access"
CORRELATION_HEADER = "X-Correlation-Id"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
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


def error_payload(
    status: int, code: str, message: str, *, request_id: str | None, details: Any = None
) -> dict[str, Any]:
    """An API Gateway proxy response carrying the error shape (also used by the local gateway)."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        body["details"] = details
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps({"error": body}, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def precheck_body(event: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """Reject an over-large, non-JSON or malformed body before routing: ``(status, code, message)``."""
    body = event.get("body")
    if not body or str(event.get("httpMethod", "")).upper() not in _BODY_METHODS:
        return None
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    if len(raw) > MAX_BODY_BYTES:
        return 413, PayloadTooLarge.code, f"request body exceeds {MAX_BODY_BYTES // 1024} KB"
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return 400, BadRequest.code, "Content-Type must be application/json"
    try:
        json.loads(raw)
    except ValueError:
        return 400, BadRequest.code, "request body is not valid JSON"
    return None


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

    def __init__(self, service: str) -> None:
        super().__init__(enable_validation=True)
        self.service = service
        self._access: dict[tuple[str, str], Access] = {}
        validation: Callable[..., Response[Any]] = self._request_validation_middleware

        def authorize_then_validate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
            # Access is checked before the body is validated so callers without the role learn nothing.
            route = app.context["_route"]
            access = self._access.get((route.method, route.path))
            if access is None:  # only Powertools' not-found route lacks one: answer 404, deny by default
                raise NotFound("no such route")
            caller = self.caller_for(access)
            if caller is not None:
                app.context["keel_caller"] = caller
            return validation(app, next_middleware)

        self._request_validation_middleware = authorize_then_validate  # type: ignore[assignment]
        self.exception_handler(KeelError)(self._keel_error)
        self.exception_handler(RequestValidationError)(self._validation_error)
        self.exception_handler(ServiceError)(self._service_error)
        self.exception_handler(Exception)(self._unexpected_error)
        self.not_found(self._route_not_found)

    # -- routes ---------------------------------------------------------------------------------

    def _keel_route(self, rule: str, method: str, access: Access, kwargs: dict[str, Any]) -> Callable[[RouteT], RouteT]:
        if not isinstance(access, Access):
            raise TypeError(f"{method} {rule}: access must be an Access, got {access!r}")
        self._access[(method, rule)] = access
        extensions = dict(kwargs.pop("openapi_extensions", None) or {})
        extensions[ACCESS_EXTENSION] = access.value
        decorator: Callable[[RouteT], RouteT] = super().route(rule, method, openapi_extensions=extensions, **kwargs)
        return decorator

    def get(self, rule: str, *, access: Access, **kwargs: Any) -> Callable[[RouteT], RouteT]:  # type: ignore[override]
        return self._keel_route(rule, "GET", access, kwargs)

    def post(self, rule: str, *, access: Access, **kwargs: Any) -> Callable[[RouteT], RouteT]:  # type: ignore[override]
        return self._keel_route(rule, "POST", access, kwargs)

    def put(self, rule: str, *, access: Access, **kwargs: Any) -> Callable[[RouteT], RouteT]:  # type: ignore[override]
        return self._keel_route(rule, "PUT", access, kwargs)

    def patch(self, rule: str, *, access: Access, **kwargs: Any) -> Callable[[RouteT], RouteT]:  # type: ignore[override]
        return self._keel_route(rule, "PATCH", access, kwargs)

    def delete(self, rule: str, *, access: Access, **kwargs: Any) -> Callable[[RouteT], RouteT]:  # type: ignore[override]
        return self._keel_route(rule, "DELETE", access, kwargs)

    def route(self, *args: Any, **kwargs: Any) -> Callable[[RouteT], RouteT]:
        if "access" not in kwargs:
            raise TypeError("KeelResolver routes must name their access: route(rule, method, access=...)")
        rule, method = args[0], args[1]
        access = kwargs.pop("access")
        return self._keel_route(rule, str(method).upper(), access, kwargs)

    @property
    def access_rules(self) -> dict[tuple[str, str], Access]:
        """Every route's declared access, keyed by (method, rule)."""
        return dict(self._access)

    # -- the caller -----------------------------------------------------------------------------

    def caller_for(self, access: Access) -> Caller | None:
        """The authenticated caller, checked against ``access``; ``None`` on public routes.

        On ``AUTHENTICATED`` routes the caller carries no tenant even if the authorizer named one:
        those routes are authorized by a token-only cache key, so a tenant there could be stale."""
        if access is Access.PUBLIC:
            return None
        caller = Caller.from_authorizer(self.current_event.request_context.authorizer.raw_event)
        caller.require(access)
        if access is Access.AUTHENTICATED:
            caller = Caller(user_id=caller.user_id, email=caller.email)
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
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        correlation_id = str(headers.get(CORRELATION_HEADER.lower()) or request_id or "")[:128] or None
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
        response.setdefault("headers", {})
        if response["headers"] is not None:
            response["headers"]["X-Request-Id"] = request_id or ""
            if correlation_id:
                response["headers"][CORRELATION_HEADER] = correlation_id
            allowed = cors.origins(settings.platform().cors_origins)
            response["headers"].update(cors.response_headers(cors.header(event.get("headers"), "Origin"), allowed))
        return response

    # -- errors ---------------------------------------------------------------------------------

    def _error(self, status: int, code: str, message: str, details: Any = None) -> Response[Any]:
        body: dict[str, Any] = {"code": code, "message": message, "request_id": self.request_id}
        if details is not None:
            body["details"] = details
        return Response(status_code=status, content_type="application/json", body={"error": body})

    def _keel_error(self, exc: KeelError) -> Response[Any]:
        return self._error(exc.status, exc.code, exc.message, exc.details)

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
