"""Stripe's error shape: ``{"error": {"type", "code", "message", "param", ...}}`` with Stripe's status codes."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An error answered the way Stripe answers it."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def missing(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown(param: str) -> StripeError:
    return invalid(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def no_such(kind: str, object_id: str, *, param: str = "id") -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def unauthenticated(message: str) -> StripeError:
    return StripeError(401, "invalid_request_error", message)


def idempotency(message: str, *, status: int = 400, code: str | None = None) -> StripeError:
    return StripeError(status, "idempotency_error", message, code=code)


def card_declined(
    message: str, *, decline_code: str, charge: str | None, payment_intent: dict[str, Any] | None
) -> StripeError:
    extra: dict[str, Any] = {"decline_code": decline_code}
    if charge is not None:
        extra["charge"] = charge
    if payment_intent is not None:
        extra["payment_intent"] = payment_intent
    return StripeError(402, "card_error", message, code="card_declined", extra=extra)
