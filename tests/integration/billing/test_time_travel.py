"""A year on a test clock: monthly renewals, a failed payment recovered by Stripe's retry, then one
never recovered (billing's dunning falls back to the free entitlements after the grace period, and
Stripe's cancels it) and the tenant back on the free plan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.billing import wiring
from functions.billing.domain.upkeep import Dunning
from keel import settings
from keel.clock import FixedClock
from tests.integration.billing.support import Billing, items_of, published, types_published
from tests.integration.stripe.support import advance, fail_next_payments

DAY = 86400
ENTITLEMENTS = "billing.entitlements.changed.v1"


def dunning_at(at: datetime) -> Dunning:
    cfg = wiring.config()
    return Dunning(wiring.accounts(), wiring.ledger(), wiring._terms(cfg), clock=FixedClock(at))


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def test_a_year_of_renewals_a_recovered_payment_and_one_that_was_not(billing: Billing, on_clocks: None) -> None:
    # Given a Pro tenant whose Stripe customer lives on a test clock
    tenant = billing.sign_up()
    billing.checkout(tenant)
    customer = billing.account_customer(tenant)
    clock = billing.stripe.v1.customers.retrieve(customer).test_clock

    def to(at: int) -> None:
        advance(billing.stripe, clock, at)
        billing.sync()

    # When a year passes, renewal after renewal (Stripe tries each payment an hour after the period
    # ends, then 3, 5 and 7 days later); the 3rd renewal's first payment fails, every one of the 8th's
    overdue: list[str] = []
    for month in range(1, 13):
        sub = billing.stripe.v1.subscriptions.list(params={"customer": customer, "status": "all", "limit": 1}).data[0]
        attempted = sub["items"].data[0].current_period_end + 2 * 3600
        if sub.status == "canceled":
            to(billing.stripe.v1.test_helpers.test_clocks.retrieve(clock).frozen_time + 31 * DAY)
            continue
        failing = {3: 1, 8: 4}.get(month, 0)
        if failing:
            fail_next_payments(billing.stripe, customer, failing)
        to(attempted)
        for retry_after in (3, 5, 7)[:failing]:
            attempted += retry_after * DAY
            to(attempted)
            if failing == 4 and retry_after == 5:
                # Eight days overdue, past the 7-day grace: billing's daily dunning runs (Stripe still retries)
                overdue += dunning_at(datetime.fromtimestamp(attempted, UTC)).run()
    types = types_published(tenant)
    # Then eight periods began (the 8th unpaid), the 3rd's payment was recovered by the retry
    assert types.count("billing.subscription.renewed.v1") == 8
    assert types.count("billing.payment.succeeded.v1") == 1 + 7
    failures = [e["payload"] for e in published(tenant, "billing.payment.failed.v1")]
    assert [f["attempt_count"] for f in failures] == [1, 1, 2, 3, 4]
    assert failures[0]["next_retry_at"] is not None
    assert failures[-1]["next_retry_at"] is None
    assert all(f["hosted_invoice_url"] for f in failures)
    # And past the grace period billing's dunning fell back to the free entitlements and said so,
    # then the 8th's last failure ended the subscription: the tenant is back on the free plan
    assert overdue == [tenant]
    entitlements = [(e["payload"]["plan"], e["payload"]["reason"]) for e in published(tenant, ENTITLEMENTS)]
    # (the cancellation changed no entitlement: nothing more was announced)
    assert entitlements[-2:] == [("pro", "plan"), ("free", "payment_overdue")]
    (canceled,) = [e["payload"] for e in published(tenant, "billing.subscription.canceled.v1")]
    assert canceled["reason"] == "payment_failed"
    # And the history reads: free, pro, late (recovered), late again, canceled
    history = sorted((i for i in items_of(tenant) if str(i["sk"]).startswith("HISTORY#")), key=lambda i: i["sk"])
    assert [(h["plan"], h["status"]) for h in history] == [
        ("free", "active"),
        ("pro", "active"),
        ("pro", "past_due"),
        ("pro", "active"),
        ("pro", "past_due"),
        ("pro", "canceled"),
    ]
    invoices = sorted(str(i["status"]) for i in items_of(tenant) if str(i["sk"]).startswith("INVOICE#"))
    assert invoices == ["open"] + ["paid"] * 8
