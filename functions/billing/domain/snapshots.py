"""What billing reads from Stripe, as plain values: the adapter builds them from Stripe's objects,
always fetched afresh (an event's payload, its order and its ``created`` are never trusted for state).

Times are UTC ``datetime``s; money is integer minor units with a lower-case currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    customer_id: str
    #: ``metadata.tenant_id``, which billing sets on every subscription it starts.
    tenant_id: str | None
    status: str
    #: The (single) item's Stripe price and its id, which a plan change replaces.
    price_id: str
    item_id: str
    quantity: int
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    #: ``cancellation_details.reason``: ``cancellation_requested``, ``payment_failed``, ...
    cancellation_reason: str | None
    latest_invoice_id: str | None
    created: datetime


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    description: str
    amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    proration: bool
    price_id: str | None
    quantity: int | None


@dataclass(frozen=True)
class InvoiceSnapshot:
    id: str
    customer_id: str
    subscription_id: str | None
    number: str | None
    #: ``draft``, ``open``, ``paid``, ``uncollectible`` or ``void``.
    status: str
    billing_reason: str | None
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    #: Credited after payment (credit notes on a paid invoice): what has been refunded or credited.
    post_payment_credit_notes_amount: int
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    period_start: datetime
    period_end: datetime
    created: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    #: The payment intents that paid (or tried to pay) it.
    payment_intent_ids: tuple[str, ...] = ()
    lines: tuple[InvoiceLine, ...] = ()


@dataclass(frozen=True)
class CheckoutSnapshot:
    id: str
    #: ``client_reference_id``: the tenant that opened the session.
    tenant_id: str | None
    customer_id: str | None
    status: str
    subscription: SubscriptionSnapshot | None


@dataclass(frozen=True)
class RefundSnapshot:
    id: str
    amount: int
    currency: str
    reason: str | None
    status: str
    created: datetime


@dataclass(frozen=True)
class ChargeSnapshot:
    id: str
    customer_id: str | None
    payment_intent_id: str | None
    amount: int
    amount_refunded: int
    currency: str
    refunds: tuple[RefundSnapshot, ...] = ()


@dataclass(frozen=True)
class CreditNoteSnapshot:
    id: str
    invoice_id: str
    number: str
    amount: int
    currency: str
    refund_ids: tuple[str, ...]
    pdf: str | None
    created: datetime
    #: ``metadata.keel_request``: the refund request billing made it for (how a retry finds it).
    request: str | None = None


@dataclass(frozen=True)
class DisputeSnapshot:
    id: str
    charge_id: str
    customer_id: str | None
    payment_intent_id: str | None
    amount: int
    currency: str
    reason: str
    status: str
    created: datetime


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class InvoicePreview:
    """What Stripe would invoice for a change made at ``at``."""

    currency: str
    total: int
    amount_due: int
    at: datetime
    lines: tuple[PreviewLine, ...] = field(default_factory=tuple)
