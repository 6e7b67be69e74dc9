"""The Stripe event inbox, from both ends: receiving a delivery, and processing it later.

Receiving (``WebhookReceiver``, the ``POST /webhooks/stripe`` function): the signature is verified
on the raw body, the event is stored as ``STRIPE_EVENT#<id>`` if it is not there yet (a duplicate is
answered 200 and does nothing), and only then is it acknowledged; processing is asked for through a
queue. Types billing does not handle are answered 200 and logged, not stored.

Processing (``StripeEventProcessor``, the queue's consumer): the object the event names is fetched
again from Stripe at the pinned API version (the payload, the order of events and their ``created``
decide nothing), the account and invoices are made what Stripe holds, and state, history, events and
"processed" are one write. Stripe failing raises: the message is retried, then dead-lettered, and the
reconciliation job finds the event still unprocessed after 15 minutes and processes it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.errors import NoBillingAccount
from functions.billing.domain.invoices import Dispute, FailureReason, Invoice, Refund
from functions.billing.domain.ports import (
    Accounts,
    Changes,
    Invoices,
    Ledger,
    ReceivedEvent,
    Refunds,
    Stripe,
    StripeEventInbox,
)
from functions.billing.domain.snapshots import InvoiceSnapshot, SubscriptionSnapshot
from keel import ids
from keel.clock import Clock, SystemClock

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)
INVOICE_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.marked_uncollectible",
)
#: The event types billing stores and processes; every other type is answered 200 and logged.
HANDLED = frozenset(
    {"checkout.session.completed", *SUBSCRIPTION_EVENTS, *INVOICE_EVENTS, "charge.refunded", "charge.dispute.created"}
)
_FAILURES: dict[str, FailureReason] = {
    "invoice.payment_failed": "declined",
    "invoice.payment_action_required": "authentication_required",
}


class WebhookFormat(Protocol):
    """Stripe's webhook wire format: its signature scheme and its event envelope."""

    def verify(self, payload: bytes, signature: str | None, now: datetime) -> None:
        """Raise ``InvalidSignature`` unless one ``v1`` signature of ``signature`` matches ``payload``
        under one of the webhook secrets, and its timestamp is within the tolerance of ``now``."""
        ...

    def parse(self, payload: bytes, received_at: datetime) -> ReceivedEvent:
        """The event's id, type, object id and times; ``BadRequest`` if it is not an event."""
        ...


@dataclass(frozen=True)
class Receipt:
    event_id: str
    event_type: str
    #: ``stored`` (new), ``duplicate`` (stored before: nothing done) or ``ignored`` (a type billing does not handle).
    outcome: str
    api_version: str | None = None
    #: ``False``: stored, but the work queue could not be reached (reconciliation processes it later).
    queued: bool = True


class WebhookReceiver:
    def __init__(self, webhook: WebhookFormat, inbox: StripeEventInbox, *, clock: Clock | None = None) -> None:
        self._webhook = webhook
        self._inbox = inbox
        self._clock = clock or SystemClock()

    def receive(self, payload: bytes, signature: str | None) -> Receipt:
        """Verify, store (once) and ask for processing; any answer but an exception means 2xx."""
        now = self._clock.now()
        self._webhook.verify(payload, signature, now)
        event = self._webhook.parse(payload, now)
        if event.type not in HANDLED:
            return Receipt(event.id, event.type, "ignored", event.api_version)
        if not self._inbox.store(event):
            return Receipt(event.id, event.type, "duplicate", event.api_version)
        # Stored: the answer is a 2xx even if the queue fails now (reconciliation finds it unprocessed).
        queued = self._inbox.enqueue(event.id)
        return Receipt(event.id, event.type, "stored", event.api_version, queued=queued)


@dataclass
class Outcome:
    event_id: str
    event_type: str
    #: ``applied``, ``unchanged``, ``duplicate`` (processed before), ``unknown`` (not in the inbox),
    #: ``not_ours`` (no tenant of ours), ``ignored`` (a type billing does not handle).
    result: str
    tenant_id: str | None = None
    published: list[str] = field(default_factory=list)
    api_version_differs: bool = False


class StripeEventProcessor:
    def __init__(
        self,
        *,
        inbox: StripeEventInbox,
        accounts: Accounts,
        invoices: Invoices,
        refunds: Refunds,
        ledger: Ledger,
        stripe: Stripe,
        terms: Terms,
        api_version: str,
        clock: Clock | None = None,
    ) -> None:
        self._inbox = inbox
        self._accounts = accounts
        self._invoices = invoices
        self._refunds = refunds
        self._ledger = ledger
        self._stripe = stripe
        self._terms = terms
        self._api_version = api_version
        self._clock = clock or SystemClock()
        self._handlers: dict[str, Callable[[ReceivedEvent], tuple[str | None, Changes]]] = {
            "checkout.session.completed": self._checkout_completed,
            "charge.refunded": self._charge_refunded,
            "charge.dispute.created": self._dispute_created,
            **dict.fromkeys(SUBSCRIPTION_EVENTS, self._subscription_changed),
            **dict.fromkeys(INVOICE_EVENTS, self._invoice_changed),
        }

    def process(self, event_id: str) -> Outcome:
        """Apply one stored event, once: what Stripe holds now, written with "processed"."""
        event = self._inbox.get(event_id)
        if event is None:
            return Outcome(event_id, "?", "unknown")
        if event.processed_at is not None:
            return Outcome(event_id, event.type, "duplicate")
        differs = event.api_version is not None and event.api_version != self._api_version
        handler = self._handlers.get(event.type)
        if handler is None:
            self._ledger.commit(Changes(processed_event=event))
            return Outcome(event_id, event.type, "ignored", api_version_differs=differs)
        tenant_id, changes = handler(event)
        changes.processed_event = event
        published = [
            type(e).TYPE for part in (changes.account, *changes.invoices, *changes.refunds) if part for e in part.events
        ]
        self._ledger.commit(changes)
        if tenant_id is None:
            result = "not_ours"
        else:
            result = "applied" if published or changes.invoices or changes.disputes else "unchanged"
        return Outcome(event_id, event.type, result, tenant_id, published, differs)

    # -- one handler per kind of object ---------------------------------------------------------

    def _checkout_completed(self, event: ReceivedEvent) -> tuple[str | None, Changes]:
        session = self._stripe.checkout_session(event.object_id)
        tenant_id = session.tenant_id or self._tenant_of(session.customer_id)
        if tenant_id is None:
            return None, Changes()
        account = self._account(tenant_id)
        if session.customer_id and account.customer_id is None:
            account.link_customer(session.customer_id)
        if session.subscription is not None:
            account.apply(session.subscription, self._terms, event.created)
        return tenant_id, Changes(account=account)

    def _subscription_changed(self, event: ReceivedEvent) -> tuple[str | None, Changes]:
        sub = self._stripe.subscription(event.object_id)
        tenant_id = self._tenant_of(sub.customer_id, sub)
        if tenant_id is None:
            return None, Changes()
        account = self._account(tenant_id)
        account.apply(sub, self._terms, event.created)
        if event.type == "customer.subscription.trial_will_end":
            account.note_trial_ending(sub)
        return tenant_id, Changes(account=account)

    def _invoice_changed(self, event: ReceivedEvent) -> tuple[str | None, Changes]:
        snapshot = self._stripe.invoice(event.object_id)
        tenant_id = self._tenant_of(snapshot.customer_id)
        if tenant_id is None:
            return None, Changes()
        invoice = self._invoice(tenant_id, snapshot)
        invoice.merge(snapshot, failure=_FAILURES.get(event.type), at=event.created)
        return tenant_id, Changes(invoices=[invoice])

    def _charge_refunded(self, event: ReceivedEvent) -> tuple[str | None, Changes]:
        charge = self._stripe.charge(event.object_id)
        tenant_id = self._tenant_of(charge.customer_id)
        if tenant_id is None or charge.payment_intent_id is None:
            return tenant_id, Changes()
        invoice_id = self._invoices.paid_by(tenant_id, charge.payment_intent_id)
        invoice = self._invoices.get(tenant_id, invoice_id) if invoice_id else None
        if invoice is None:
            return tenant_id, Changes()
        made = [r for r in charge.refunds if r.status in ("succeeded", "pending")]
        known = self._refunds.by_stripe_refund(tenant_id, [r.id for r in made])
        refunds = []
        for stripe_refund in made:
            if stripe_refund.id in known:
                continue
            refund = Refund(
                tenant_id=tenant_id,
                id=ids.new_id("ref", stripe_refund.created),
                invoice_id=invoice.id,
                stripe_refund_id=stripe_refund.id,
                amount=stripe_refund.amount,
                currency=stripe_refund.currency,
                reason=stripe_refund.reason or "other",
                issued_at=stripe_refund.created,
            )
            refund.announce()
            refunds.append(refund)
        invoice.refunded = max(invoice.refunded, min(invoice.amount_paid, charge.amount_refunded))
        return tenant_id, Changes(invoices=[invoice], refunds=refunds)

    def _dispute_created(self, event: ReceivedEvent) -> tuple[str | None, Changes]:
        dispute = self._stripe.dispute(event.object_id)
        tenant_id = self._tenant_of(dispute.customer_id)
        if tenant_id is None:
            return None, Changes()
        invoice_id = self._invoices.paid_by(tenant_id, dispute.payment_intent_id) if dispute.payment_intent_id else None
        return tenant_id, Changes(
            disputes=[
                Dispute(
                    tenant_id=tenant_id,
                    id=dispute.id,
                    charge_id=dispute.charge_id,
                    invoice_id=invoice_id,
                    amount=dispute.amount,
                    currency=dispute.currency,
                    reason=dispute.reason,
                    status=dispute.status,
                    created=dispute.created,
                )
            ]
        )

    # -- helpers --------------------------------------------------------------------------------

    def _tenant_of(self, customer_id: str | None, sub: SubscriptionSnapshot | None = None) -> str | None:
        found = self._accounts.tenant_of_customer(customer_id) if customer_id else None
        return found or (sub.tenant_id if sub is not None else None)

    def _account(self, tenant_id: str) -> BillingAccount:
        account = self._accounts.get(tenant_id)
        if account is None:
            # Its sign-up is still being provisioned: let the queue try again.
            raise NoBillingAccount(f"tenant {tenant_id} has no billing account yet")
        return account

    def _invoice(self, tenant_id: str, snapshot: InvoiceSnapshot) -> Invoice:
        return self._invoices.get(tenant_id, snapshot.id) or Invoice.first_seen(tenant_id, snapshot)
