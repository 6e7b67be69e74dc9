"""Stripe's webhook wire format, without the ``stripe`` package (the receiver's cold start is an
API handler's): the ``Stripe-Signature`` scheme and the event envelope.

The scheme, as Stripe documents it: ``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]``
where each ``v1`` is ``HMAC-SHA256(secret, "<t>." + raw body)``. While a secret is being rolled,
Stripe signs with the old and the new one (several ``v1``); any match with any of our secrets is
enough. Unlike the SDK, a timestamp too far in the future is refused too (both ways: ``tolerance``
seconds). The contract tests hold this equal to ``stripe.WebhookSignature.verify_header``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property

from functions.billing.domain.errors import InvalidSignature
from functions.billing.domain.ports import ReceivedEvent
from keel.errors import BadRequest

DEFAULT_TOLERANCE_SECONDS = 300
SCHEME = "v1"
MAX_SIGNATURES = 16


def signature_parts(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a ``Stripe-Signature`` header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        if name == "t" and timestamp is None:
            if not (value.isascii() and value.isdigit()):
                raise InvalidSignature("the Stripe-Signature header's timestamp is not a number")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise InvalidSignature("the Stripe-Signature header has no timestamp")
    if not signatures:
        raise InvalidSignature(f"the Stripe-Signature header has no {SCHEME} signature")
    return timestamp, signatures[:MAX_SIGNATURES]


def expected_signature(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise ``InvalidSignature`` unless ``header`` signs ``payload`` with one of ``secrets``, within
    ``tolerance`` seconds of ``now`` either way."""
    if not header:
        raise InvalidSignature("the Stripe-Signature header is missing")
    usable = [s for s in secrets if s.strip()]
    if not usable:
        raise InvalidSignature("no webhook secret is configured")
    timestamp, signatures = signature_parts(header)
    expected = [expected_signature(payload, secret, timestamp) for secret in usable]
    if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise InvalidSignature("no signature matches the payload")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(f"the signature's timestamp is more than {tolerance} s from now")


def decoded_body(body: str | None, *, is_base64: bool) -> bytes:
    """The raw bytes Stripe signed: API Gateway hands a body over base64-encoded when it is not text."""
    if body is None:
        return b""
    if is_base64:
        import base64  # noqa: PLC0415 - the rare path

        return base64.b64decode(body)
    return body.encode()


def _time(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest("not a Stripe event: created is not a timestamp")
    return datetime.fromtimestamp(value, UTC)


class StripeWebhook:
    """``WebhookFormat``: verify with the webhook secrets (read once per container), parse the envelope."""

    def __init__(self, secrets: Callable[[], Sequence[str]], *, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        self._read_secrets = secrets
        self._tolerance = tolerance

    @cached_property
    def _secrets(self) -> list[str]:
        return list(self._read_secrets())

    def verify(self, payload: bytes, signature: str | None, now: datetime) -> None:
        verify_signature(payload, signature, self._secrets, now=now.timestamp(), tolerance=self._tolerance)

    def parse(self, payload: bytes, received_at: datetime) -> ReceivedEvent:
        try:
            event = json.loads(payload)
            obj = event["data"]["object"]
            event_id, event_type, object_id = event["id"], event["type"], obj["id"]
        except (ValueError, TypeError, KeyError):
            raise BadRequest("not a Stripe event") from None
        if not all(isinstance(v, str) and 0 < len(v) <= 255 for v in (event_id, event_type, object_id)):
            raise BadRequest("not a Stripe event: id, type and data.object.id must be short strings")
        api_version = event.get("api_version")
        return ReceivedEvent(
            id=event_id,
            type=event_type,
            object_id=object_id,
            api_version=api_version if isinstance(api_version, str) else None,
            livemode=bool(event.get("livemode")),
            created=_time(event.get("created")),
            received_at=received_at,
        )
