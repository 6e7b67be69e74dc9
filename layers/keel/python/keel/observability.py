"""How every handler is observed: one decorator, the keys every log line carries, and the correlation
id and trace that follow a request across the event path.

``@instrumented(service, kind)`` wraps every Lambda handler (API, authorizer, consumer, relay, job):

- the Powertools Logger of ``service`` carries the Lambda context (``cold_start``, ``function_name``,
  ``function_memory_size``, ``function_arn``, ``function_request_id``) and, once ``bind`` has run,
  ``tenant_id``, ``user_id``, ``request_id``, ``correlation_id`` and ``trace_id``;
- where tracing is on (in Lambda, unless ``POWERTOOLS_TRACE_DISABLED``), the Tracer captures the
  handler (never its response: it may hold a secret) with ``tenant_id``, ``route``, ``correlation_id``
  and ``trace_id`` annotations (a consumer adds a subsegment per event, annotated with the trace of
  the request that caused it).
  Elsewhere no Tracer is made, so the X-Ray SDK is not even imported;
- an API handler logs one ``request`` line per call: method, route template, status_code,
  duration_ms, tenant_id, user_id, request_id, correlation_id, trace_id. Never a header, a token or a
  body. ``keel.consumer`` logs one ``event consumed`` line per event and the relay one ``event
  published`` line per event (``report``).

The correlation id starts at the API (``X-Correlation-Id``, or the API Gateway request id) and the
trace at the API too (X-Ray's ``_X_AMZN_TRACE_ID`` in Lambda, the ``X-Amzn-Trace-Id`` header API
Gateway and the local gateway add, or a new one); every envelope written during the work carries
both, and consumers bind them again from the envelope.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from aws_lambda_powertools import Logger, Metrics

from keel import trace_context
from keel.trace_context import TraceContext

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

NAMESPACE = "Keel"
CORRELATION_HEADER = "X-Correlation-Id"
TRACE_HEADER = "X-Amzn-Trace-Id"
#: Set by the Lambda runtime for each invocation: the X-Ray trace the function runs in.
LAMBDA_TRACE_ENV = "_X_AMZN_TRACE_ID"
#: The longest correlation id taken from a caller (a longer one is cut).
MAX_CORRELATION_ID = 128

HandlerKind = Literal["api", "authorizer", "consumer", "relay", "job"]
HANDLER_KINDS: tuple[HandlerKind, ...] = get_args(HandlerKind)
LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], Any]
#: Called with each line ``report`` logs (``"request"``, ``"event consumed"`` ...) and its fields.
Watcher = Callable[[str, Mapping[str, Any]], None]

_INSTRUMENTED = "__keel_instrumented__"
_BOUND_KEYS = ("tenant_id", "user_id", "request_id", "correlation_id", "trace_id")


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics
    #: ``None`` where tracing is off (outside Lambda, or ``POWERTOOLS_TRACE_DISABLED``).
    tracer: Tracer | None


def tracing_enabled() -> bool:
    """Powertools' rule: traced in Lambda (``LAMBDA_TASK_ROOT``) unless ``POWERTOOLS_TRACE_DISABLED``.

    Checked here, before any Tracer exists, because making one imports the X-Ray SDK even when it is
    disabled (a quarter of a second of cold start)."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


@cache
def for_service(service: str) -> Observability:
    """The one Logger/Metrics/Tracer trio of ``service`` (names are explicit: contexts share a process locally)."""
    tracer = None
    if tracing_enabled():
        from aws_lambda_powertools import Tracer  # noqa: PLC0415 - loads the X-Ray SDK: only where it records

        tracer = Tracer(service=service)
    return Observability(
        logger=Logger(service=service),
        metrics=Metrics(service=service, namespace=NAMESPACE),
        tracer=tracer,
    )


# -- the work in progress ---------------------------------------------------------------------------


@dataclass
class _Invocation:
    """What one invocation has bound so far: the request line and the trace annotations read it."""

    service: str
    kind: HandlerKind
    function_name: str | None
    started: float
    #: The trace the invocation runs in (Lambda's, the request's, or a new one).
    trace: TraceContext
    tenant_id: str | None = None
    user_id: str | None = None
    request_id: str | None = None
    route: str | None = None
    #: The tenant a business fact recorded during the invocation was about (a sign-up's new tenant).
    fact_tenant_id: str | None = None


_invocation: ContextVar[_Invocation | None] = ContextVar("keel_invocation", default=None)
_correlation_id: ContextVar[str | None] = ContextVar("keel_correlation_id", default=None)
_trace: ContextVar[TraceContext | None] = ContextVar("keel_trace", default=None)
#: The Lambda context's log keys of the running invocation, which every ``bind`` keeps.
_lambda_keys: ContextVar[dict[str, Any] | None] = ContextVar("keel_lambda_keys", default=None)
_watchers: list[Watcher] = []


def bind(
    service: str,
    *,
    correlation_id: str | None,
    request_id: str | None = None,
    tenant_id: str | None = None,
    user_id: str | None = None,
    trace: TraceContext | None = None,
) -> None:
    """Start a unit of work (a request, one event): its log keys, its correlation id and, when given,
    the trace it continues (otherwise the invocation's own)."""
    invocation = _invocation.get()
    if trace is None and invocation is not None:
        trace = invocation.trace
    if trace is not None:
        _trace.set(trace)
    _correlation_id.set(correlation_id)
    current = _trace.get()
    logger = for_service(service).logger
    logger.thread_safe_clear_keys()  # one dict for every Logger of this thread: each unit of work starts clean
    logger.thread_safe_append_keys(
        **(_lambda_keys.get() or {}),
        tenant_id=tenant_id,
        user_id=user_id,
        request_id=request_id,
        correlation_id=correlation_id,
        trace_id=current.trace_id if current else None,
    )
    if invocation is not None:
        invocation.tenant_id, invocation.user_id, invocation.request_id = tenant_id, user_id, request_id


def correlation_id() -> str | None:
    """The correlation id of the work in progress; new envelopes carry it."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


def trace() -> TraceContext | None:
    """The trace of the work in progress; new envelopes carry it (as a W3C ``traceparent``)."""
    return _trace.get()


def set_trace(value: TraceContext | None) -> None:
    _trace.set(value)


def correlation_id_of(event: Mapping[str, Any]) -> str | None:
    """A request's correlation id: the caller's ``X-Correlation-Id`` (at most 128 characters), else
    API Gateway's request id."""
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(headers.get(CORRELATION_HEADER.lower()) or request_id or "")[:MAX_CORRELATION_ID] or None


def note_route(route: str) -> None:
    """The route template the current request matched (``/v1/members/{user_id}``), for its request line."""
    invocation = _invocation.get()
    if invocation is not None:
        invocation.route = route


def note_fact(tenant_id: str) -> None:
    """A business fact about ``tenant_id`` was recorded: a request without a tenant of its own (a
    sign-up) names this one in its request line."""
    invocation = _invocation.get()
    if invocation is not None and invocation.fact_tenant_id is None:
        invocation.fact_tenant_id = tenant_id


def current_service() -> str | None:
    """The service of the instrumented handler running now (``None`` outside one)."""
    invocation = _invocation.get()
    return invocation.service if invocation else None


# -- lines other code watches (the local runtime's console and traces) -------------------------------


def watch(watcher: Watcher) -> None:
    """Call ``watcher`` with every line ``report`` logs, in the thread that logs it. Lambda has no
    watcher; the local runtime's console and trace store are watchers."""
    _watchers.append(watcher)


def unwatch(watcher: Watcher) -> None:
    if watcher in _watchers:
        _watchers.remove(watcher)


def report(
    service: str, message: str, fields: Mapping[str, Any], *, level: int = logging.INFO, exc_info: bool = False
) -> None:
    """Log one activity line (``request``, ``event consumed``, ``event published``) with ``fields``
    beside the bound keys, and show it to the watchers (with the function's name and the bound keys)."""
    logger = for_service(service).logger
    log = logger.warning if level >= logging.WARNING else logger.info
    log(message, extra=dict(fields), exc_info=exc_info)
    if not _watchers:
        return
    invocation = _invocation.get()
    current = _trace.get()
    seen = {
        "service": service,
        "function_name": invocation.function_name if invocation else None,
        "tenant_id": invocation.tenant_id if invocation else None,
        "correlation_id": _correlation_id.get(),
        "trace_id": current.trace_id if current else None,
        **fields,
    }
    for watcher in tuple(_watchers):
        try:
            watcher(message, seen)
        except Exception:  # a watcher never fails the handler it watches
            for_service(service).logger.exception("a watcher of the activity lines failed")


# -- the decorator ------------------------------------------------------------------------------------


def instrumented(service: str, kind: HandlerKind) -> Callable[[LambdaHandler], LambdaHandler]:
    """Instrument a Lambda handler of ``kind``: ``@instrumented("identity", "api")``. See the module."""
    if kind not in HANDLER_KINDS:
        raise ValueError(f"kind must be one of {', '.join(HANDLER_KINDS)}, not {kind!r}")

    def decorate(handler: LambdaHandler) -> LambdaHandler:
        runner = _Runner(handler, service, kind)

        @functools.wraps(handler)
        def instrumented_handler(event: dict[str, Any], context: LambdaContext) -> Any:
            return runner(event, context)

        setattr(instrumented_handler, _INSTRUMENTED, kind)
        return instrumented_handler

    return decorate


def instrumentation_of(handler: Any) -> HandlerKind | None:
    """The kind a handler was instrumented as, or ``None`` when it was not."""
    kind = getattr(handler, _INSTRUMENTED, None)
    return kind if kind in HANDLER_KINDS else None


def span(name: str, **annotations: str | None) -> AbstractContextManager[Any]:
    """A Tracer subsegment for part of an invocation (one event of a batch), annotated; nothing where
    tracing is off."""
    invocation = _invocation.get()
    tracer = for_service(invocation.service).tracer if invocation else None
    if tracer is None:
        return nullcontext()
    return _subsegment(tracer, name, annotations)


@contextmanager
def _subsegment(tracer: Tracer, name: str, annotations: Mapping[str, str | None]) -> Iterator[Any]:
    with tracer.provider.in_subsegment(name=f"## {name}") as segment:
        for key, value in annotations.items():
            if value:
                segment.put_annotation(key=key, value=value)
        yield segment


class _Runner:
    def __init__(self, handler: LambdaHandler, service: str, kind: HandlerKind) -> None:
        self.handler = handler
        self.service = service
        self.kind = kind
        self._cold = True
        self._traced: LambdaHandler | None = None

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        obs = for_service(self.service)
        trace = self._trace_of(event)
        invocation = _Invocation(
            self.service, self.kind, getattr(context, "function_name", None), time.perf_counter(), trace
        )
        invocation_token, correlation_token = _invocation.set(invocation), _correlation_id.set(None)
        trace_token, keys_token = _trace.set(trace), _lambda_keys.set(self._context_keys(context))
        bind(self.service, correlation_id=None)
        status = 500
        try:
            result = self._run(obs, event, context)
            if self.kind == "api" and isinstance(result, Mapping):
                status = int(result.get("statusCode") or 500)
            return result
        finally:
            if self.kind == "api":
                self._request_line(event, invocation, status)
            _invocation.reset(invocation_token)
            _correlation_id.reset(correlation_token)
            _trace.reset(trace_token)
            _lambda_keys.reset(keys_token)

    def _run(self, obs: Observability, event: dict[str, Any], context: LambdaContext) -> Any:
        if obs.tracer is None:
            return self.handler(event, context)
        if self._traced is None:
            self._traced = self._capture(obs.tracer)
        return self._traced(event, context)

    def _capture(self, tracer: Tracer) -> LambdaHandler:
        handler = self.handler

        def annotated(event: dict[str, Any], context: LambdaContext) -> Any:
            try:
                return handler(event, context)
            finally:
                invocation = _invocation.get()
                if invocation is not None:
                    tenant_id = invocation.tenant_id or invocation.fact_tenant_id
                    if tenant_id:
                        tracer.put_annotation("tenant_id", tenant_id)
                    if invocation.route:
                        tracer.put_annotation("route", f"{event.get('httpMethod', '')} {invocation.route}".strip())
                    if correlation := _correlation_id.get():
                        tracer.put_annotation("correlation_id", correlation)
                    if current := _trace.get():  # the request's trace, W3C form: one search finds every hop
                        tracer.put_annotation("trace_id", current.trace_id)

        annotated.__name__ = getattr(handler, "__name__", "handler")
        captured: LambdaHandler = tracer.capture_lambda_handler(annotated, capture_response=False)
        return captured

    def _trace_of(self, event: Mapping[str, Any]) -> TraceContext:
        # Lambda's own trace first; then the header API Gateway (or the local gateway) added; else a new one.
        ambient = trace_context.from_xray(os.environ.get(LAMBDA_TRACE_ENV))
        if ambient is None and self.kind in ("api", "authorizer"):
            headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
            ambient = trace_context.from_xray(headers.get(TRACE_HEADER.lower()))
        return ambient or TraceContext.new()

    def _context_keys(self, context: LambdaContext) -> dict[str, Any]:
        # The keys Powertools' inject_lambda_context adds; cold start is per handler (locally, many share a process).
        cold = self._cold and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"
        self._cold = False
        return {
            "cold_start": cold,
            "function_name": getattr(context, "function_name", None),
            "function_memory_size": getattr(context, "memory_limit_in_mb", None),
            "function_arn": getattr(context, "invoked_function_arn", None),
            "function_request_id": getattr(context, "aws_request_id", None),
        }

    def _request_line(self, event: Mapping[str, Any], invocation: _Invocation, status: int) -> None:
        report(
            self.service,
            "request",
            {
                "method": event.get("httpMethod"),
                "route": invocation.route,
                "status_code": status,
                "duration_ms": round((time.perf_counter() - invocation.started) * 1000, 1),
                "tenant_id": invocation.tenant_id or invocation.fact_tenant_id,
                "user_id": invocation.user_id,
                "request_id": invocation.request_id,
            },
        )
