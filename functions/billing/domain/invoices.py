"""Invoices as billing keeps them (a copy of Stripe's, plus what was refunded), refunds and disputes.

An invoice never goes back: its status only moves forward (draft -> open -> paid / void /
uncollectible) and what was refunded only grows, so a snapshot read before another one changes
nothing when it is applied after it. Each fact is announced once: issued when first finalized,
paid when first paid, a failed payment once per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from functions.billing.domain.money import refundable
from functions.billing.domain.snapshots import InvoiceLine, InvoiceSnapshot
from keel.contracts.billing import InvoiceIssued, PaymentFailed, PaymentSucceeded, RefundIssued
from keel.events import Contract

_RANK = {"draft": 0, "open": 1, "paid": 2, "void": 2, "uncollectible": 2}
FailureReason = Literal["declined", "authentication_required"]


@dataclass
class Invoice:
    tenant_id: str
    id: str
    number: str | None
    status: str
    billing_reason: str | None
    subscription_id: str | None
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    #: Refunded (or credited) after payment.
    refunded: int
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    period_start: datetime
    period_end: datetime
    created: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    payment_intent_ids: tuple[str, ...] = ()
    lines: tuple[InvoiceLine, ...] = ()
    #: The attempt count ``billing.payment.failed.v1`` was last sent for.
    failures_announced: int = 0
    version: int = 0
    events: list[Contract] = field(default_factory=list)

    @classmethod
    def first_seen(cls, tenant_id: str, snapshot: InvoiceSnapshot) -> Invoice:
        """An invoice billing has not recorded yet, as a draft to merge ``snapshot`` into."""
        return cls(
            tenant_id=tenant_id,
            id=snapshot.id,
            number=None,
            status="draft",
            billing_reason=snapshot.billing_reason,
            subscription_id=snapshot.subscription_id,
            currency=snapshot.currency,
            subtotal=0,
            total=0,
            amount_due=0,
            amount_paid=0,
            amount_remaining=0,
            refunded=0,
            attempt_count=0,
            next_payment_attempt=None,
            hosted_invoice_url=None,
            invoice_pdf=None,
            period_start=snapshot.period_start,
            period_end=snapshot.period_end,
            created=snapshot.created,
            finalized_at=None,
            paid_at=None,
        )

    @property
    def refundable(self) -> int:
        """What is left to refund: paid, less what went back."""
        return refundable(self.amount_paid, self.refunded) if self.status == "paid" else 0

    def merge(self, snapshot: InvoiceSnapshot, *, failure: FailureReason | None = None, at: datetime) -> None:
        """Take in what Stripe holds now; ``failure`` when the news is a failed payment attempt."""
        was_issued, was_paid = _RANK[self.status] >= 1, self.status == "paid"
        if _RANK.get(snapshot.status, 0) >= _RANK[self.status]:
            self.status = snapshot.status
            self.number = snapshot.number or self.number
            self.subtotal, self.total = snapshot.subtotal, snapshot.total
            self.amount_due, self.amount_paid = snapshot.amount_due, snapshot.amount_paid
            self.amount_remaining = snapshot.amount_remaining
            self.attempt_count = max(self.attempt_count, snapshot.attempt_count)
            self.next_payment_attempt = snapshot.next_payment_attempt
            self.hosted_invoice_url = snapshot.hosted_invoice_url or self.hosted_invoice_url
            self.invoice_pdf = snapshot.invoice_pdf or self.invoice_pdf
            self.period_start, self.period_end = snapshot.period_start, snapshot.period_end
            self.finalized_at = snapshot.finalized_at or self.finalized_at
            self.paid_at = snapshot.paid_at or self.paid_at
            self.lines = snapshot.lines or self.lines
            self.payment_intent_ids = tuple(dict.fromkeys((*self.payment_intent_ids, *snapshot.payment_intent_ids)))
        self.refunded = max(self.refunded, snapshot.post_payment_credit_notes_amount)
        if not was_issued and _RANK[self.status] >= 1 and self.status != "void":
            self.events.append(
                InvoiceIssued(
                    invoice_id=self.id,
                    number=self.number,
                    total=self.total,
                    amount_due=self.amount_due,
                    currency=self.currency,
                    period_start=self.period_start,
                    period_end=self.period_end,
                    hosted_invoice_url=self.hosted_invoice_url,
                    issued_at=self.finalized_at or at,
                )
            )
        if not was_paid and self.status == "paid" and self.amount_paid > 0:
            self.events.append(
                PaymentSucceeded(
                    invoice_id=self.id,
                    number=self.number,
                    amount_paid=self.amount_paid,
                    currency=self.currency,
                    paid_at=self.paid_at or at,
                )
            )
        if failure is not None and self.status == "open" and self.attempt_count > self.failures_announced:
            self.failures_announced = self.attempt_count
            self.events.append(
                PaymentFailed(
                    invoice_id=self.id,
                    number=self.number,
                    amount_due=self.amount_remaining,
                    currency=self.currency,
                    attempt_count=self.attempt_count,
                    next_retry_at=self.next_payment_attempt,
                    hosted_invoice_url=self.hosted_invoice_url,
                    reason=failure,
                    failed_at=at,
                )
            )

    def loaded(self) -> Invoice:
        return replace(self, events=[])


@dataclass
class Refund:
    """Money returned on an invoice: a Stripe refund, usually made through a credit note."""

    tenant_id: str
    id: str
    invoice_id: str
    stripe_refund_id: str
    amount: int
    currency: str
    reason: str
    issued_at: datetime
    issued_by: str | None = None
    credit_note_id: str | None = None
    credit_note_number: str | None = None
    events: list[Contract] = field(default_factory=list)

    def announce(self) -> None:
        self.events.append(
            RefundIssued(
                refund_id=self.id,
                invoice_id=self.invoice_id,
                amount=self.amount,
                currency=self.currency,
                reason=self.reason,
                issued_at=self.issued_at,
                issued_by=self.issued_by,
            )
        )


@dataclass(frozen=True)
class Dispute:
    """A cardholder disputed a charge: kept for the operators (Stripe emails the account owner too)."""

    tenant_id: str
    id: str
    charge_id: str
    invoice_id: str | None
    amount: int
    currency: str
    reason: str
    status: str
    created: datetime
