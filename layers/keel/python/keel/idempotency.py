"""``Idempotency-Key`` for POST routes that create or charge (Powertools idempotency, DynamoDB).

The same key (per tenant, or per user before a tenant exists, and per route) returns the first
response; the same key with another body is a 422; a retry while the first is still running is a 409.
Requests without the header run normally. Each context's records start with ``record_prefix(context)``,
so IAM can confine a context to its own records in the shared table (``dynamodb:LeadingKeys``).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from keel import aws, settings
from keel.errors import BadRequest, Conflict, Unprocessable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from keel.http import KeelResolver

# Powertools' idempotency utility is imported on the first request that carries the header, not at
# import: most requests never need it (cold start).
# ruff: noqa: PLC0415

HEADER = "Idempotency-Key"
EXPIRES_AFTER_SECONDS = 24 * 3600
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
RouteT = TypeVar("RouteT", bound=Callable[..., Any])
#: The services (contexts) with at least one idempotent route, as their handler modules register them.
_SERVICES: set[str] = set()


def record_prefix(service: str) -> str:
    """How every idempotency record of ``service`` (a context's resolver) starts: ``<service>#``."""
    return f"{service}#"


def services() -> frozenset[str]:
    """The services whose routes use ``idempotent`` (those whose handler modules are imported)."""
    return frozenset(_SERVICES)


@functools.cache
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        raise_on_no_idempotency_key=True,
    )


@functools.cache
def _replayable(service: str) -> Callable[..., dict[str, Any]]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    # The function's own client, never a tenant's: the records live in the shared idempotency table.
    store = DynamoDBPersistenceLayer(
        table_name=settings.platform().idempotency_table, boto3_client=aws.client("dynamodb")
    )

    def run_once(*, request: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return run()

    replayable: Callable[..., dict[str, Any]] = idempotent_function(
        run_once,
        data_keyword_argument="request",
        persistence_store=store,
        config=_config(),
        key_prefix=service,  # Powertools writes "<key_prefix>#<hash>", which is record_prefix(service)
    )
    return replayable


def reset() -> None:
    """Forget the persistence layer (it holds a boto3 client; tests make a new moto per test)."""
    _replayable.cache_clear()
    _config.cache_clear()


def _as_record(result: Any, status_code: int) -> dict[str, Any]:
    if isinstance(result, Response):
        return {"status": result.status_code, "body": result.body}
    if isinstance(result, BaseModel):
        return {"status": status_code, "body": result.model_dump(mode="json")}
    return {"status": status_code, "body": result}


def idempotent(app: KeelResolver, *, status_code: int = 201) -> Callable[[RouteT], RouteT]:
    """Make a POST route honour ``Idempotency-Key``. Put it under the route decorator."""

    _SERVICES.add(app.service)

    def decorate(route: RouteT) -> RouteT:
        @functools.wraps(route)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = app.current_event.headers.get(HEADER) or app.current_event.headers.get(HEADER.lower())
            if key is None:
                return route(*args, **kwargs)
            if not _VALID_KEY.match(key):
                raise BadRequest(f"{HEADER} must be 1-255 printable ASCII characters")
            caller = app.caller
            scope = caller.tenant.tenant_id if caller.tenant else f"user:{caller.user_id}"
            rule = app.context["_route"].path
            request = {
                "key": f"{scope}:{app.current_event.http_method} {rule}:{key}",
                "body": app.current_event.json_body if app.current_event.body else None,
            }
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyValidationError,
            )

            _config().register_lambda_context(app.lambda_context)
            try:
                record = _replayable(app.service)(
                    request=request, run=lambda: _as_record(route(*args, **kwargs), status_code)
                )
            except IdempotencyValidationError:
                raise Unprocessable(f"this {HEADER} was already used with a different request body") from None
            except IdempotencyAlreadyInProgressError:
                raise Conflict(f"a request with this {HEADER} is still in progress; retry shortly") from None
            return Response(status_code=record["status"], content_type="application/json", body=record["body"])

        # Powertools reads the route's signature to validate; resolve its (string) annotations in the
        # route's own module, since the wrapper lives here.
        wrapper.__signature__ = inspect.signature(route, eval_str=True)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
