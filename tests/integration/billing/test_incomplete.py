"""A subscription whose first payment failed is ``incomplete``: not entitled yet, and never stuck
there once Stripe holds it paid."""

from __future__ import annotations

from typing import Any

from tests.integration.billing.support import Billing, items_of, types_published
from tests.integration.stripe.support import fail_next_payments


def account_item(tenant: str) -> dict[str, Any]:
    return next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")


def test_a_subscription_whose_first_payment_failed_is_not_entitled_then_active_once_paid(billing: Billing) -> None:
    # Given a tenant that had Pro once (its Stripe customer is linked) and is on the free plan again
    tenant = billing.sign_up()
    billing.checkout(tenant)
    billing.stripe.v1.subscriptions.cancel(str(account_item(tenant)["subscription_id"]))
    billing.sync()
    customer = billing.account_customer(tenant)
    # When a new Pro subscription is made at Stripe and its first payment is declined
    fail_next_payments(billing.stripe, customer, 1)
    sub = billing.stripe.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": "price_pro_monthly"}],
            "payment_behavior": "allow_incomplete",
            "metadata": {"tenant_id": tenant},
        }
    )
    assert sub.status == "incomplete"
    billing.sync()
    # Then billing holds it incomplete, with the free plan's entitlements, and announces no start
    started = types_published(tenant).count("billing.subscription.started.v1")
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant)
    assert reply.body["status"] == "incomplete"
    assert reply.body["entitlements"]["seat_limit"] == 3
    # When the payer pays the open invoice later
    invoice = billing.stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    billing.stripe.v1.invoices.pay(str(invoice.id))
    billing.sync()
    # Then the subscription is active on Pro, entitled, and its start announced once
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant)
    assert (reply.body["plan"], reply.body["status"], reply.body["entitlements"]["seat_limit"]) == ("pro", "active", 10)
    assert types_published(tenant).count("billing.subscription.started.v1") == started + 1
