"""A trial on a test clock: entitled while trialing, told three days before it ends (once), and a
paying subscription after it."""

from __future__ import annotations

from typing import Any

import pytest

from keel import settings
from tests.integration.billing.support import Billing, items_of, published, types_published
from tests.integration.stripe.support import advance

DAY = 86400


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def account_item(tenant: str) -> dict[str, Any]:
    return next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")


def test_a_trial_is_entitled_announced_before_it_ends_and_then_paid(billing: Billing, on_clocks: None) -> None:
    # Given a tenant whose Stripe customer (on a test clock, with a card) had Pro once and is free again
    tenant = billing.sign_up()
    billing.checkout(tenant)
    billing.stripe.v1.subscriptions.cancel(str(account_item(tenant)["subscription_id"]))
    billing.sync()
    customer = billing.account_customer(tenant)
    clock = billing.stripe.v1.customers.retrieve(customer).test_clock
    # When sales start a 14-day Business trial for it at Stripe
    sub = billing.stripe.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": "price_business_monthly"}],
            "trial_period_days": 14,
            "metadata": {"tenant_id": tenant},
        }
    )
    billing.sync()
    # Then billing holds it trialing, with Business's entitlements
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant)
    trial = reply.body
    assert (trial["plan"], trial["status"], trial["entitled_plan"]) == ("business", "trialing", "business")
    assert trial["trial_end"] is not None
    # When the clock reaches three days before the trial's end, then two days later
    for day in (11, 12):
        advance(billing.stripe, clock, int(sub.trial_end) - (14 - day) * DAY)
        billing.sync()
    # Then the trial's end was announced once, with its date
    (ending,) = published(tenant, "billing.trial.ending.v1")
    assert (ending["payload"]["plan"], ending["payload"]["trial_end"][:10]) == ("business", trial["trial_end"][:10])
    # When the trial ends and Stripe charges the card
    advance(billing.stripe, clock, int(sub.trial_end) + 2 * 3600)
    billing.sync()
    # Then the subscription is active and paid, and its start (at the trial) was announced once
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant)
    assert (reply.body["plan"], reply.body["status"]) == ("business", "active")
    assert types_published(tenant).count("billing.subscription.started.v1") == 3  # free, pro, business
    assert published(tenant, "billing.payment.succeeded.v1")[-1]["payload"]["amount_paid"] == 9900
