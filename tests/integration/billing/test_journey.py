"""A tenant's billing journey through the API, Stripe's emulator and the webhook path."""

from __future__ import annotations

from keel import ids
from tests.integration.billing.support import Billing, published, types_published


def test_sign_up_puts_the_tenant_on_the_free_plan_and_announces_it(billing: Billing) -> None:
    tenant = billing.sign_up()
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant, role="member")
    assert reply.status == 200
    assert (reply.body["plan"], reply.body["status"], reply.body["entitlements"]["seat_limit"]) == ("free", "active", 3)
    assert types_published(tenant) == ["billing.subscription.started.v1", "billing.entitlements.changed.v1"]


def test_the_sign_up_event_delivered_again_or_another_for_the_tenant_provisions_nothing_more(billing: Billing) -> None:
    event_id = ids.new_id("evt")
    tenant = billing.sign_up(event_id=event_id)
    billing.sign_up(tenant, event_id=event_id)  # the same event again (SQS delivers at least once)
    billing.sign_up(tenant)  # a replay of the archive gives it another id
    assert types_published(tenant) == ["billing.subscription.started.v1", "billing.entitlements.changed.v1"]


def test_checkout_through_the_page_makes_the_tenant_pro(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant, role="member")
    assert (reply.body["plan"], reply.body["status"], reply.body["entitlements"]["seat_limit"]) == ("pro", "active", 10)
    started = published(tenant, "billing.subscription.started.v1")
    assert [e["payload"]["plan"] for e in started] == ["free", "pro"]
    assert published(tenant, "billing.entitlements.changed.v1")[-1]["payload"]["plan"] == "pro"
    assert len(published(tenant, "billing.payment.succeeded.v1")) == 1
