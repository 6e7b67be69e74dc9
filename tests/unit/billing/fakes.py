"""In-memory implementations of billing's storage ports, for the services' tests: they keep what the
table adapter keeps (versions, the Stripe refund marker, the inbox) and nothing more."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from functions.billing.domain.account import BillingAccount, HistoryEntry
from functions.billing.domain.errors import ConcurrentChange, RefundAlreadyRecorded
from functions.billing.domain.invoices import Dispute, Invoice, Refund
from functions.billing.domain.ports import Changes, Page, ReceivedEvent
from keel.events import Contract


@dataclass
class MemoryBilling:
    """Accounts, Invoices, Refunds, History, Ledger and StripeEventInbox in one place."""

    accounts: dict[str, BillingAccount] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)
    invoices: dict[tuple[str, str], Invoice] = field(default_factory=dict)
    payments: dict[tuple[str, str], str] = field(default_factory=dict)
    refunds: dict[tuple[str, str], Refund] = field(default_factory=dict)
    disputes: list[Dispute] = field(default_factory=list)
    history: list[tuple[str, HistoryEntry]] = field(default_factory=list)
    events: list[tuple[str, Contract]] = field(default_factory=list)
    inbox: dict[str, ReceivedEvent] = field(default_factory=dict)
    queued: list[str] = field(default_factory=list)

    # -- Accounts ---------------------------------------------------------------------------------

    def get(self, tenant_id: str) -> BillingAccount | None:
        found = self.accounts.get(tenant_id)
        return copy.deepcopy(found) if found else None

    def tenant_of_customer(self, customer_id: str) -> str | None:
        return self.customers.get(customer_id)

    def linked(self, *, limit: int, cursor: str | None) -> Page[str]:
        tenants = sorted(set(self.customers.values()))
        start = int(cursor or 0)
        nxt = start + limit
        return Page(tenants[start:nxt], str(nxt) if nxt < len(tenants) else None)

    def past_due_since_before(self, before: datetime, *, limit: int) -> list[str]:
        due = [a for a in self.accounts.values() if a.past_due_since is not None and a.past_due_since < before]
        return [a.tenant_id for a in due][:limit]

    def overrides_lapsed_by(self, now: datetime, *, limit: int) -> list[str]:
        lapsed = [a for a in self.accounts.values() if a.override and a.override.until and a.override.until <= now]
        return [a.tenant_id for a in lapsed][:limit]

    # -- Invoices, Refunds, History ---------------------------------------------------------------

    def invoice(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        found = self.invoices.get((tenant_id, invoice_id))
        return copy.deepcopy(found) if found else None

    def paid_by(self, tenant_id: str, payment_intent_id: str) -> str | None:
        return self.payments.get((tenant_id, payment_intent_id))

    def by_stripe_refund(self, tenant_id: str, stripe_refund_ids: Sequence[str]) -> Mapping[str, Refund]:
        return {r: self.refunds[(tenant_id, r)] for r in stripe_refund_ids if (tenant_id, r) in self.refunds}

    def on(self, tenant_id: str, day: date) -> list[HistoryEntry]:
        raise NotImplementedError

    # -- Ledger -----------------------------------------------------------------------------------

    def commit(self, changes: Changes) -> None:
        account = changes.account
        if account is not None:
            stored = self.accounts.get(account.tenant_id)
            if (stored.version if stored else 0) != account.version:
                raise ConcurrentChange("the data changed since it was read; reload and retry")
        for refund in changes.refunds:
            if (refund.tenant_id, refund.stripe_refund_id) in self.refunds:
                raise RefundAlreadyRecorded(refund.stripe_refund_id)
        for invoice in changes.invoices:
            stored_invoice = self.invoices.get((invoice.tenant_id, invoice.id))
            if (stored_invoice.version if stored_invoice else 0) != invoice.version:
                raise ConcurrentChange("the invoice changed since it was read")
        if account is not None:
            account.version += 1
            if account.customer_id:
                self.customers[account.customer_id] = account.tenant_id
            self.history += [(account.tenant_id, h) for h in account.new_history]
            self.events += [(account.tenant_id, e) for e in account.events]
            account.events, account.new_history = [], []
            self.accounts[account.tenant_id] = copy.deepcopy(account)
        for invoice in changes.invoices:
            invoice.version += 1
            self.events += [(invoice.tenant_id, e) for e in invoice.events]
            invoice.events = []
            self.invoices[(invoice.tenant_id, invoice.id)] = copy.deepcopy(invoice)
            for intent in invoice.payment_intent_ids:
                self.payments[(invoice.tenant_id, intent)] = invoice.id
        for refund in changes.refunds:
            self.events += [(refund.tenant_id, e) for e in refund.events]
            self.refunds[(refund.tenant_id, refund.stripe_refund_id)] = replace(refund, events=[])
        self.disputes += changes.disputes
        if changes.processed_event is not None:
            event = self.inbox[changes.processed_event.id]
            self.inbox[event.id] = replace(event, processed_at=event.received_at)

    # -- StripeEventInbox -------------------------------------------------------------------------

    def store(self, event: ReceivedEvent) -> bool:
        if event.id in self.inbox:
            return False
        self.inbox[event.id] = event
        return True

    def enqueue(self, event_id: str) -> bool:
        self.queued.append(event_id)
        return True

    def event(self, event_id: str) -> ReceivedEvent | None:
        return self.inbox.get(event_id)

    def unprocessed(self, received_before: datetime, *, limit: int) -> list[ReceivedEvent]:
        waiting = [e for e in self.inbox.values() if e.processed_at is None and e.received_at < received_before]
        return sorted(waiting, key=lambda e: e.received_at)[:limit]

    def types_published(self, tenant_id: str) -> list[str]:
        return [type(e).TYPE for t, e in self.events if t == tenant_id]


class Ports:
    """The fake behind each port's name (a repository's ``get`` differs per port)."""

    def __init__(self, memory: MemoryBilling) -> None:
        self.memory = memory

    @property
    def accounts(self) -> Any:
        return self.memory

    @property
    def invoices(self) -> Any:
        m = self.memory

        class _Invoices:
            get = staticmethod(m.invoice)
            paid_by = staticmethod(m.paid_by)

            @staticmethod
            def list(tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invoice]:
                raise NotImplementedError

        return _Invoices()

    @property
    def inbox(self) -> Any:
        m = self.memory

        class _Inbox:
            store = staticmethod(m.store)
            enqueue = staticmethod(m.enqueue)
            get = staticmethod(m.event)
            unprocessed = staticmethod(m.unprocessed)

        return _Inbox()
