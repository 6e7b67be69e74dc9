"""Stripe does not order its deliveries: every order of the events of one checkout leaves billing in
the same state, Stripe's. The processor runs on in-memory storage here (the real table is exercised
by test_processing.py) and reads Stripe's objects from the emulator over HTTP (once each), so all
120 orders run in seconds."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from functions.billing.adapters.stripe_gateway import API_VERSION, StripeClient
from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.plans import Catalog
from functions.billing.domain.ports import ReceivedEvent
from functions.billing.domain.stripe_events import StripeEventProcessor
from functions.billing.settings import BillingSettings
from infra.local.stripe import StripeEmulator
from keel import ids
from tests.integration.billing.support import API_KEY
from tests.integration.stripe.support import pay_checkout
from tests.unit.billing.fakes import MemoryBilling, Ports

CHECKOUT_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "invoice.finalized",
    "invoice.paid",
)
TERMS = Terms(Catalog.with_prices(BillingSettings(table="t", stripe_events_queue="q").price_ids))


@pytest.fixture
def checked_out(stripe_emulator: StripeEmulator) -> tuple[str, str, list[ReceivedEvent]]:
    """A tenant's customer that completed Checkout for Pro, and the events Stripe emitted for it."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_emulator.url}, max_network_retries=0)
    tenant = ids.new_id("ten")
    customer = client.v1.customers.create(params={"metadata": {"tenant_id": tenant}})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": tenant,
            "line_items": [{"price": "price_pro_monthly", "quantity": 1}],
            "subscription_data": {"metadata": {"tenant_id": tenant}},
            "success_url": "https://app.test/done",
        }
    )
    pay_checkout(stripe_emulator, str(session.url))
    sub = client.v1.checkout.sessions.retrieve(session.id).subscription
    ours = {session.id, sub, customer.id}
    now = datetime.now(UTC)
    events = [
        ReceivedEvent(e.id, e.type, e.data.object.id, e.api_version, False, datetime.fromtimestamp(e.created, UTC), now)
        for e in client.v1.events.list(params={"types": list(CHECKOUT_EVENTS), "limit": 100}).auto_paging_iter()
        if e.data.object.id in ours or getattr(e.data.object, "customer", None) == customer.id
    ]
    assert sorted(e.type for e in events) == sorted(CHECKOUT_EVENTS)
    return tenant, customer.id, events


class Remembered:
    """The adapter, asked over HTTP once per object: Stripe's objects do not change while the 120
    orders run, so each answer is the same (and the test stays within its CPU budget)."""

    def __init__(self, gateway: StripeClient) -> None:
        self._gateway = gateway
        self._answers: dict[tuple[str, tuple[Any, ...]], Any] = {}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def remembered(*args: Any) -> Any:
            if (name, args) not in self._answers:
                self._answers[(name, args)] = getattr(self._gateway, name)(*args)
            return self._answers[(name, args)]

        return remembered


def test_every_order_of_the_checkout_events_gives_the_same_final_state(
    stripe_emulator: StripeEmulator, checked_out: tuple[str, str, list[ReceivedEvent]]
) -> None:
    tenant, customer, events = checked_out
    gateway = Remembered(StripeClient(api_key=lambda: API_KEY, api_base=stripe_emulator.url, max_network_retries=0))
    finals = set()
    for order in itertools.permutations(events):
        # Given the tenant on the free plan with its Stripe customer, and the five events stored
        memory = MemoryBilling()
        account = BillingAccount.on_free_plan(tenant, TERMS, datetime(2026, 1, 1, tzinfo=UTC))
        account.link_customer(customer)
        memory.commit(_changes(account))
        for event in events:
            memory.store(event)
        ports = Ports(memory)
        processor = StripeEventProcessor(
            inbox=ports.inbox,
            accounts=memory,
            invoices=ports.invoices,
            refunds=memory,
            ledger=memory,
            stripe=gateway,
            terms=TERMS,
            api_version=API_VERSION,
        )
        # When they are processed in this order
        for event in order:
            processor.process(event.id)
        # Then what billing holds, and what it announced, is the same every time
        final = memory.accounts[tenant]
        invoices = tuple(sorted((i.id, i.status, i.amount_paid) for i in memory.invoices.values()))
        finals.add(
            (
                final.plan,
                final.interval,
                final.status,
                final.subscription_id,
                final.current_period_end,
                final.entitlements.plan,
                invoices,
                tuple(sorted(memory.types_published(tenant))),
            )
        )
    (final_state,) = finals
    plan, interval, status, *_, entitled, invoices, published = final_state
    assert (plan, interval, status, entitled) == ("pro", "monthly", "active", "pro")
    assert [status for _, status, _ in invoices] == ["paid"]
    assert published.count("billing.subscription.started.v1") == 2  # the free plan's, then pro's
    assert published.count("billing.payment.succeeded.v1") == 1
    assert published.count("billing.invoice.issued.v1") == 1


def _changes(account: BillingAccount):  # type: ignore[no-untyped-def]
    from functions.billing.domain.ports import Changes

    return Changes(account=account)
