"""Logger, Metrics and Tracer, made once per service, and the correlation id that follows a request.

Every log line carries ``service``, ``tenant_id``, ``user_id``, ``request_id`` and
``correlation_id`` once ``bind`` has run for the current invocation. The correlation id starts at
the API (``X-Correlation-Id`` or the API request id), goes into every event envelope written during
the request, and is bound again by consumers from the envelope.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Keel"

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("keel_correlation_id", default=None)


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics
    tracer: Tracer


@cache
def for_service(service: str) -> Observability:
    """The one Logger/Metrics/Tracer trio of ``service`` (names are explicit: contexts share a process locally)."""
    return Observability(
        logger=Logger(service=service),
        metrics=Metrics(service=service, namespace=NAMESPACE),
        tracer=Tracer(service=service),
    )


def bind(
    service: str,
    *,
    correlation_id: str | None,
    request_id: str | None = None,
    tenant_id: str | None = None,
    user_id: str | None = None,
) -> None:
    """Start an invocation: reset the log keys of ``service`` and remember the correlation id."""
    logger = for_service(service).logger
    logger.remove_keys(["tenant_id", "user_id", "request_id", "correlation_id"])
    logger.append_keys(tenant_id=tenant_id, user_id=user_id, request_id=request_id, correlation_id=correlation_id)
    _correlation_id.set(correlation_id)


def correlation_id() -> str | None:
    """The correlation id of the work in progress; new envelopes carry it."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)
