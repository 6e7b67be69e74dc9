"""Billing's business metrics (EMF): one per business fact, printed where its ``billing.*`` event is
written, never again for a duplicate Stripe delivery, a reprocessing or a reconciliation that finds
nothing to repair; the tenant id a property, never a dimension."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.billing.handlers import reconcile
from keel import settings
from tests.conftest import json_lines
from tests.integration.billing.support import Billing, items_of, published
from tests.integration.stripe.support import advance, fail_next_payments

FACTS = ("SubscriptionStarted", "SubscriptionPlanChanged", "SubscriptionCanceled", "PaymentFailed", "RefundIssued")


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def metric_name(doc: dict[str, Any]) -> str:
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    [metric] = directive["Metrics"]
    return str(metric["Name"])


def billing_facts(text: str, tenant: str) -> list[dict[str, Any]]:
    """The EMF documents of billing's facts about ``tenant`` in ``text``, in the order printed."""
    docs = [doc for doc in json_lines(text) if "_aws" in doc and doc.get("tenant_id") == tenant]
    return [doc for doc in docs if metric_name(doc) in FACTS]


def test_each_subscription_fact_is_one_metric_even_under_duplicated_and_shuffled_deliveries(
    billing: Billing, on_clocks: None, printed: Callable[[], str]
) -> None:
    # Given the local Stripe delivering every event twice, in a shuffled order
    billing.emulator.set_chaos(True)
    try:
        # When a tenant signs up, checks out Pro, upgrades to Business, downgrades to Pro, then cancels
        tenant = billing.sign_up()
        billing.checkout(tenant)
        for plan in ("business", "pro"):
            changed = billing.call("POST", "/v1/billing/subscription/change", {"plan": plan}, tenant=tenant)
            assert changed.status == 200, changed
            billing.sync()
        assert billing.call("POST", "/v1/billing/subscription/cancel", {"when": "now"}, tenant=tenant).status == 200
        billing.sync()
    finally:
        billing.emulator.set_chaos(False)
    # And reconciliation compares the tenant with Stripe once more (nothing to repair)
    assert reconcile.sync([tenant]) == []

    # Then Stripe did send duplicates, and each fact was counted once, as its event was published once
    ids = [d.event["id"] for d in billing.receiver.deliveries]
    assert len(ids) > len(set(ids))
    docs = billing_facts(printed(), tenant)
    assert sorted(metric_name(d) for d in docs) == sorted(
        ["SubscriptionStarted", "SubscriptionPlanChanged", "SubscriptionPlanChanged", "SubscriptionCanceled"]
    )
    by_name = {metric_name(d): d for d in docs}
    # The free plan at sign-up is identity's TenantCreated: only the paid start is counted
    assert (by_name["SubscriptionStarted"]["plan"], by_name["SubscriptionStarted"]["interval"]) == ("pro", "monthly")
    changes = [
        (d["previous_plan"], d["plan"], d["direction"]) for d in docs if metric_name(d) == "SubscriptionPlanChanged"
    ]
    assert changes == [("pro", "business", "upgrade"), ("business", "pro", "downgrade")]
    assert (by_name["SubscriptionCanceled"]["plan"], by_name["SubscriptionCanceled"]["reason"]) == ("pro", "requested")
    # And each counts 1 under the service dimension alone, the tenant a property
    for doc in docs:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["service"]]
        assert doc[metric_name(doc)] == [1.0]
        assert doc["service"].startswith("billing")


def test_a_refund_is_one_metric_though_stripe_tells_of_it_too(
    billing: Billing, on_clocks: None, printed: Callable[[], str]
) -> None:
    # Given a Pro subscription ten days into its period, and Stripe delivering every event twice, shuffled
    tenant = billing.sign_up()
    billing.checkout(tenant)
    customer = billing.stripe.v1.customers.retrieve(billing.account_customer(tenant))
    clock = billing.stripe.v1.test_helpers.test_clocks.retrieve(customer.test_clock)
    advance(billing.stripe, clock.id, clock.frozen_time + 10 * 86400)
    billing.sync()
    start = len(printed())
    billing.emulator.set_chaos(True)
    try:
        # When the admin cancels now with a prorated refund, and Stripe's word of it (charge.refunded) arrives
        cancel = {"when": "now", "refund": "prorated"}
        done = billing.call("POST", "/v1/billing/subscription/cancel", cancel, tenant=tenant)
        assert done.status == 200, done
        billing.sync()
    finally:
        billing.emulator.set_chaos(False)

    # Then the cancellation and the refund were each counted once, with the refund's amount
    docs = billing_facts(printed()[start:], tenant)
    assert sorted(metric_name(d) for d in docs) == ["RefundIssued", "SubscriptionCanceled"]
    (refund,) = [d for d in docs if metric_name(d) == "RefundIssued"]
    (event,) = published(tenant, "billing.refund.issued.v1")
    assert (refund["refund_id"], refund["amount"], refund["currency"]) == (
        event["payload"]["refund_id"],
        done.body["refund"]["amount"],
        "usd",
    )


def test_a_failed_payment_is_one_metric_with_its_attempt(
    billing: Billing, on_clocks: None, printed: Callable[[], str]
) -> None:
    # Given a Pro tenant
    tenant = billing.sign_up()
    billing.checkout(tenant)
    start = len(printed())
    # When its renewal payment is declined, and Stripe's deliveries come again
    customer = billing.stripe.v1.customers.retrieve(billing.account_customer(tenant))
    clock = billing.stripe.v1.test_helpers.test_clocks.retrieve(customer.test_clock)
    fail_next_payments(billing.stripe, customer.id, 1)
    advance(billing.stripe, clock.id, clock.frozen_time + 32 * 86400)
    deliveries = billing.stripe_deliveries()
    billing.deliver_all(deliveries)
    billing.deliver_all(deliveries)  # every one again: stored once, the rest answered as duplicates
    billing.process()

    # Then the failure was counted once, as it was published once
    assert next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")["status"] == "past_due"
    (failed,) = [d for d in billing_facts(printed()[start:], tenant) if metric_name(d) == "PaymentFailed"]
    (event,) = published(tenant, "billing.payment.failed.v1")
    assert (failed["invoice_id"], failed["attempt_count"]) == (event["payload"]["invoice_id"], 1)
    assert (failed["amount_due"], failed["currency"]) == (2900, "usd")
