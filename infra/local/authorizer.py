"""The Lambda REQUEST authorizer as API Gateway runs it: identity sources, the IAM policy the
authorizer returns, and a cache of that answer keyed on the identity sources (flushed as API
Gateway's is, ``AuthorizerGate.flush``). A Deny answers 403 with the error code and message the
authorizer put in its context, as the cloud's ACCESS_DENIED gateway response renders them."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from infra.local.lambdas import LocalFunction
from infra.local.shapes import authorizer_request_event
from keel.tenancy import DENIED_CODE, DENIED_MESSAGE

log = logging.getLogger("keel.local")

#: Header values that key the authorizer cache, as the cloud's two authorizers do: tenant-scoped
#: routes on ``Authorization`` + ``X-Tenant-Id``, the topology's tenant-less routes on ``Authorization``.
TENANT_SOURCES = ("Authorization", "X-Tenant-Id")
USER_SOURCES = ("Authorization",)


@dataclass(frozen=True)
class Allowed:
    """What goes into the proxy event's ``requestContext.authorizer``, and the key the authorizer named
    for the caller's usage plan (``usageIdentifierKey``), if any."""

    authorizer: dict[str, Any]
    usage_key: str | None = None


@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    message: str


UNAUTHORIZED = Refused(401, "unauthorized", "missing or invalid credentials")
FORBIDDEN = Refused(403, "forbidden", "not authorized to access this resource")
MISCONFIGURED = Refused(500, "internal_error", "the authorizer failed; see the dev server's log")


@dataclass(frozen=True)
class _Answer:
    principal_id: str
    statements: tuple[Mapping[str, Any], ...]
    context: dict[str, str]
    expires: float
    usage_key: str | None = None


class AuthorizerError(ValueError):
    """The authorizer answered something API Gateway would reject."""


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    # IAM wildcards: ``*`` is any run of characters, ``?`` any one character.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    listed = [patterns] if isinstance(patterns, str) else list(patterns or [])
    if ignore_case:
        return any(_glob(str(p).lower()).fullmatch(value.lower()) for p in listed)
    return any(_glob(str(p)).fullmatch(value) for p in listed)


def policy_allows(statements: tuple[Mapping[str, Any], ...], method_arn: str) -> bool:
    """IAM evaluation for ``execute-api:Invoke`` on ``method_arn``: an explicit Deny wins, else an Allow."""
    allowed = False
    for statement in statements:
        if not _matches(statement.get("Action"), "execute-api:Invoke", ignore_case=True):
            continue
        if not _matches(statement.get("Resource"), method_arn):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _context_value(name: str, value: Any) -> str:
    # API Gateway passes context values on as strings; objects and arrays are rejected.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise AuthorizerError(f"context value {name!r} must be a string, number or boolean")


def _answer(result: Any, expires: float) -> _Answer:
    if not isinstance(result, Mapping) or not result.get("principalId") or not result.get("policyDocument"):
        raise AuthorizerError("the answer needs principalId and policyDocument")
    statements = result["policyDocument"].get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else list(statements)
    given = result.get("context") or {}
    context = {name: _context_value(name, value) for name, value in given.items() if value is not None}
    usage_key = result.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise AuthorizerError("usageIdentifierKey must be a string")
    return _Answer(str(result["principalId"]), tuple(statements), context, expires, usage_key)


class AuthorizerGate:
    """Runs the authorizer (or reuses its cached answer) and decides Allowed / 401 / 403."""

    def __init__(
        self, function: LocalFunction, *, cache_seconds: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.function = function
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._answers: dict[tuple[str, ...], _Answer] = {}
        self._lock = threading.Lock()

    def flush(self) -> None:
        """Forget every cached answer, as API Gateway's ``FlushStageAuthorizersCache`` does."""
        with self._lock:
            self._answers.clear()

    def check(
        self, proxy: Mapping[str, Any], method_arn: str, sources: tuple[str, ...] = TENANT_SOURCES
    ) -> Allowed | Refused:
        headers = {name.lower(): value for name, value in (proxy.get("headers") or {}).items()}
        values = tuple(str(headers.get(source.lower(), "")) for source in sources)
        if not all(values):
            return UNAUTHORIZED  # API Gateway answers 401 itself when an identity source is missing
        identity = (*sources, *values)
        now = self.clock()
        with self._lock:
            answer = self._answers.get(identity)
        latency_ms = 0
        if answer is None or answer.expires <= now:
            started = time.perf_counter()
            event = authorizer_request_event(proxy, method_arn=method_arn, identity_values=list(values))
            try:
                answer = _answer(self.function.invoke(event), now + self.cache_seconds)
            except Exception as exc:  # whatever the authorizer does, the caller gets 401/500
                if str(exc) == "Unauthorized":
                    return UNAUTHORIZED
                log.exception("authorizer %s failed", self.function.name)
                return MISCONFIGURED
            latency_ms = round((time.perf_counter() - started) * 1000)
            if self.cache_seconds > 0:
                with self._lock:
                    self._answers[identity] = answer
        if not policy_allows(answer.statements, method_arn):
            return Refused(
                403,
                answer.context.get(DENIED_CODE, FORBIDDEN.code),
                answer.context.get(DENIED_MESSAGE, FORBIDDEN.message),
            )
        extra = {"principalId": answer.principal_id, "integrationLatency": latency_ms}
        return Allowed(answer.context | extra, answer.usage_key)
