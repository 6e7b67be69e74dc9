"""What billing's services need from the outside world, as protocols the adapters implement:
its table (one repository per aggregate, and one ``Ledger`` that writes a business operation's
changes all at once), the Stripe event inbox, and Stripe itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:  # the domain's objects, named for type checking only
    from functions.billing.domain.account import BillingAccount, HistoryEntry
    from functions.billing.domain.invoices import Dispute, Invoice, Refund
    from functions.billing.domain.snapshots import (
        ChargeSnapshot,
        CheckoutSnapshot,
        CreditNoteSnapshot,
        DisputeSnapshot,
        InvoicePreview,
        InvoiceSnapshot,
        SubscriptionSnapshot,
    )

T = TypeVar("T")


@dataclass
class Changes:
    """What one business operation writes: all of it, with the events its parts recorded, or none.

    The account is written only if its version is still the one read (a concurrent writer's loss is a
    409 / a retry); a refund only if its Stripe refund is not recorded yet (``RefundAlreadyRecorded``)."""

    account: BillingAccount | None = None
    invoices: list[Invoice] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    #: The Stripe event this operation processed, marked processed in the same write.
    processed_event: ReceivedEvent | None = None

    def __bool__(self) -> bool:
        return bool(self.account or self.invoices or self.refunds or self.disputes or self.processed_event)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: Opaque; ``None`` on the last page.
    cursor: str | None


class Accounts(Protocol):
    def get(self, tenant_id: str) -> BillingAccount | None: ...

    def tenant_of_customer(self, customer_id: str) -> str | None:
        """The tenant whose Stripe customer this is (billing made it)."""
        ...

    def linked(self, *, limit: int, cursor: str | None) -> Page[str]:
        """Tenants with a Stripe customer, a page at a time (what reconciliation walks)."""
        ...

    def past_due_since_before(self, before: datetime, *, limit: int) -> list[str]:
        """Tenants whose payment has been late since before ``before``."""
        ...

    def overrides_lapsed_by(self, now: datetime, *, limit: int) -> list[str]:
        """Tenants whose override's ``until`` is not after ``now``."""
        ...


class Invoices(Protocol):
    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None: ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invoice]:
        """One page of the tenant's invoices, newest first, without their lines."""
        ...

    def paid_by(self, tenant_id: str, payment_intent_id: str) -> str | None:
        """The invoice a payment intent paid."""
        ...


class Refunds(Protocol):
    def by_stripe_refund(self, tenant_id: str, stripe_refund_ids: Sequence[str]) -> Mapping[str, Refund]:
        """The refunds already recorded for these Stripe refunds, by Stripe refund id."""
        ...


class History(Protocol):
    def on(self, tenant_id: str, day: date) -> list[HistoryEntry]:
        """The entries in effect at some moment of ``day`` (UTC), oldest first."""
        ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HistoryEntry]:
        """The whole history, newest first."""
        ...


class Ledger(Protocol):
    def commit(self, changes: Changes) -> None:
        """Write ``changes`` in one transaction with their events."""
        ...


@dataclass(frozen=True)
class ReceivedEvent:
    """A Stripe event as the inbox keeps it: what is needed to fetch its object again, nothing more."""

    id: str
    type: str
    object_id: str
    api_version: str | None
    livemode: bool
    #: When Stripe says it happened (the test clock's time for test-clock customers).
    created: datetime
    received_at: datetime
    processed_at: datetime | None = None


class StripeEventInbox(Protocol):
    def store(self, event: ReceivedEvent) -> bool:
        """Keep ``event`` unless its id is there already; ``False`` for a duplicate."""
        ...

    def enqueue(self, event_id: str) -> bool:
        """Ask for ``event_id`` to be processed (asynchronously); ``False`` if the queue could not be
        reached (the event stays unprocessed, and reconciliation processes it later)."""
        ...

    def get(self, event_id: str) -> ReceivedEvent | None: ...

    def unprocessed(self, received_before: datetime, *, limit: int) -> list[ReceivedEvent]:
        """Events received before ``received_before`` and not processed yet, oldest first."""
        ...


class Stripe(Protocol):
    """Stripe's API at the pinned version. Writes take an idempotency key derived from the business
    operation (``<tenant>:<operation>:<id>``); reads always fetch afresh."""

    def create_customer(self, *, tenant_id: str, email: str | None, idempotency_key: str) -> str: ...

    def now_for(self, customer_id: str) -> datetime:
        """What time it is for the customer at Stripe: its test clock's time, if it lives on one."""
        ...

    def create_checkout(
        self,
        *,
        tenant_id: str,
        customer_id: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> str:
        """A hosted checkout session (subscription mode); returns its URL."""
        ...

    def create_portal(self, *, customer_id: str, return_url: str, idempotency_key: str) -> str: ...

    def preview_change(self, *, subscription_id: str, item_id: str, price_id: str, at: datetime) -> InvoicePreview: ...

    def change_plan(
        self, *, subscription_id: str, item_id: str, price_id: str, at: datetime, idempotency_key: str
    ) -> SubscriptionSnapshot: ...

    def cancel_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> SubscriptionSnapshot: ...

    def cancel_now(self, *, subscription_id: str, idempotency_key: str) -> SubscriptionSnapshot: ...

    def refund(
        self,
        *,
        invoice_id: str,
        amount: int,
        reason: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> CreditNoteSnapshot:
        """A credit note on a paid invoice whose whole amount is refunded to the card."""
        ...

    def credit_notes(self, invoice_id: str) -> list[CreditNoteSnapshot]:
        """The invoice's credit notes, newest first."""
        ...

    def subscription(self, subscription_id: str) -> SubscriptionSnapshot: ...

    def latest_subscription(self, customer_id: str) -> SubscriptionSnapshot | None:
        """The customer's most recent subscription, whatever its status."""
        ...

    def invoice(self, invoice_id: str) -> InvoiceSnapshot: ...

    def checkout_session(self, session_id: str) -> CheckoutSnapshot: ...

    def charge(self, charge_id: str) -> ChargeSnapshot: ...

    def dispute(self, dispute_id: str) -> DisputeSnapshot: ...
