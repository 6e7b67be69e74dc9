"""What SES says about an email after it accepted it: a hard bounce or a complaint fails its delivery.

SES reports these asynchronously (on EventBridge), minutes or days after the send, and may report one
twice. Each verdict finds its delivery by the tenant and event the email was tagged with and the
message id SES returned when it accepted the email (kept on the delivery as ``provider_id``). The first
verdict marks it ``failed`` (``bounced`` or ``complained``), publishes
``notifications.delivery.failed.v1`` and suppresses the address in the tenant, in one write; a
repeated one changes nothing. A transient bounce is not a verdict: SES keeps trying on its own. A
verdict on an email whose delivery is not recorded as sent yet (the send still finishing) is
``DeliveryNotRecordedYet``: retried, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from functions.notifications.domain.ports import DeliveryLog, SuppressionReason
from keel.clock import Clock, SystemClock

Verdict = SuppressionReason
Recorded = Literal["failed", "already_failed"]


class DeliveryNotRecordedYet(RuntimeError):
    """SES reported on an email tagged as ours before its delivery was recorded as sent: a delivery
    sent it (only ours are tagged so), and its record is not committed yet. Try again later."""


@dataclass(frozen=True)
class Feedback:
    """One verdict on one email: which email (tenant, event, provider's message id) and which addresses."""

    verdict: Verdict
    tenant_id: str
    event_id: str
    message_id: str
    addresses: frozenset[str]


class FeedbackRecorder:
    """Records SES's verdicts on emails it accepted, once each."""

    def __init__(self, log: DeliveryLog, clock: Clock | None = None) -> None:
        self._log = log
        self._clock = clock or SystemClock()

    def record(self, feedback: Feedback) -> Recorded:
        """Fail the email's delivery and suppress its addresses: ``failed`` the first time,
        ``already_failed`` for a repeat; ``DeliveryNotRecordedYet`` while no sent delivery is found."""
        delivery = self._log.sent_email(feedback.tenant_id, feedback.event_id, feedback.message_id)
        if delivery is None:
            raise DeliveryNotRecordedYet(f"no sent delivery for SES message {feedback.message_id} yet")
        at = self._clock.now()
        first = self._log.rejected_later(delivery, at=at, reason=feedback.verdict, suppress=feedback.addresses)
        return "failed" if first else "already_failed"
