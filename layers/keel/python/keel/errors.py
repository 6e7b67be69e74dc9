"""Errors that cross the edge. Each maps to one HTTP status and one stable ``code``.

Domain modules raise these (or subclasses named for the business rule); ``keel.http`` turns them
into the one error shape. They carry no HTTP machinery themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class KeelError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(KeelError):
    status = 400
    code = "bad_request"


class Unauthorized(KeelError):
    status = 401
    code = "unauthorized"


class Forbidden(KeelError):
    status = 403
    code = "forbidden"


class NotFound(KeelError):
    status = 404
    code = "not_found"


class MethodNotAllowed(KeelError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, *, allow: Iterable[str]) -> None:
        super().__init__(message)
        #: The methods the resource does answer (the ``Allow`` header of the 405).
        self.allow = tuple(sorted(set(allow)))


class Conflict(KeelError):
    status = 409
    code = "conflict"


class PreconditionFailed(KeelError):
    """An ``If-Match`` that no longer matches: someone changed the resource since the caller read it."""

    status = 412
    code = "precondition_failed"


class PayloadTooLarge(KeelError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(KeelError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(KeelError):
    status = 422
    code = "validation_error"


class TooManyRequests(KeelError):
    status = 429
    code = "rate_limited"
