"""Customers, catalogue, events and the smaller subscription options, over the SDK."""

from __future__ import annotations

import pytest
import stripe

from infra.local.stripe import StripeEmulator
from tests.integration.stripe.support import (
    DAY,
    JAN_1_2030,
    Receiver,
    advance,
    clock_customer,
    event_types,
    subscribe,
)


def test_a_customer_update_emits_its_previous_attributes(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    customer = client.v1.customers.create(params={"email": "old@example.com", "metadata": {"a": "1", "b": "2"}})

    updated = client.v1.customers.update(customer.id, params={"email": "new@example.com", "metadata": {"b": ""}})

    assert updated.email == "new@example.com"
    assert updated.metadata.to_dict() == {"a": "1"}
    assert emulator.wait_for_deliveries()
    event = receiver.events()[-1]
    assert event["type"] == "customer.updated"
    assert event["data"]["previous_attributes"] == {"email": "old@example.com", "metadata": {"a": "1", "b": "2"}}


def test_deleting_a_customer_ends_its_subscriptions(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    sub = subscribe(client, customer.id)

    deleted = client.v1.customers.delete(customer.id)

    assert deleted.deleted
    assert client.v1.customers.retrieve(customer.id).deleted
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(customer.id, params={"name": "Ghost"})
    assert event_types(client)[-2:] == ["customer.subscription.deleted", "customer.deleted"]


def test_events_are_listed_by_type_pattern_and_types(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    subscribe(client, customer.id)

    invoice_types = event_types(client, type="invoice.*")
    chosen = event_types(client, types=["customer.created", "invoice.paid"])

    assert invoice_types == ["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]
    assert chosen == ["customer.created", "invoice.paid"]
    assert event_types(client, created={"gt": JAN_1_2030}) == []  # a clock's events happen at its time
    assert len(event_types(client, created={"lte": JAN_1_2030})) == len(event_types(client))
    assert event_types(client)[:3] == ["test_helpers.test_clock.created", "customer.created", "payment_method.attached"]


def test_a_new_subscription_can_be_previewed(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)

    preview = client.v1.invoices.create_preview(
        params={"customer": customer.id, "subscription_details": {"items": [{"price": "price_business_annual"}]}}
    )

    assert preview.amount_due == 99000
    assert preview.lines.data[0].period.end == JAN_1_2030 + 365 * DAY
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []


def test_ending_a_trial_now_bills_at_once(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    sub = subscribe(client, customer.id, trial_period_days=30)

    ended = client.v1.subscriptions.update(sub.id, params={"trial_end": "now", "expand": ["latest_invoice"]})

    assert ended.status == "active"
    assert ended.trial_end == JAN_1_2030
    assert ended.latest_invoice.status == "paid"
    assert ended.latest_invoice.amount_paid == 2900


def test_resetting_the_billing_cycle_anchor_invoices_a_new_full_period(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    advance(client, clock.id, JAN_1_2030 + 10 * DAY)

    reset = client.v1.subscriptions.update(sub.id, params={"billing_cycle_anchor": "now", "expand": ["latest_invoice"]})

    assert reset.billing_cycle_anchor == JAN_1_2030 + 10 * DAY
    assert reset["items"].data[0].current_period_start == JAN_1_2030 + 10 * DAY
    assert [line.amount for line in reset.latest_invoice.lines.data] == [-round(2900 * 21 / 31), 2900]


def test_items_must_share_an_interval(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": "price_pro_monthly"}, {"price": "price_pro_annual"}]}
        )

    assert "interval" in str(caught.value.user_message)


def test_a_one_time_price_cannot_be_subscribed_to(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    one_time = client.v1.prices.create(params={"product": "prod_pro", "unit_amount": 100, "currency": "usd"})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        subscribe(client, customer.id, one_time.id)

    assert caught.value.param == "items[0][price]"


def test_a_subscription_with_two_items_bills_both(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    seats = client.v1.prices.create(
        params={
            "product_data": {"name": "Seats"},
            "unit_amount": 500,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )

    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": "price_pro_monthly"}, {"price": seats.id, "quantity": 4}],
            "expand": ["latest_invoice"],
        }
    )

    assert sub.latest_invoice.amount_paid == 2900 + 4 * 500
    assert sub.latest_invoice.lines.data[1].description == "4 \u00d7 Seats (at $5.00 / month)"


def test_an_item_can_be_removed_with_a_credit(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": "price_pro_monthly"}, {"price": "price_business_monthly"}]}
    )
    advance(client, clock.id, JAN_1_2030 + 15 * DAY)
    business = sub["items"].data[1].id

    after = client.v1.subscriptions.update(sub.id, params={"items": [{"id": business, "deleted": True}]})

    assert [item.price.id for item in after["items"].data] == ["price_pro_monthly"]
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert [item.amount for item in pending] == [-round(9900 * 16 / 31)]


def test_products_are_listed_and_made_with_our_ids(client: stripe.StripeClient) -> None:
    made = client.v1.products.create(params={"id": "prod_addon", "name": "Add-on"})

    listed = client.v1.products.list(params={"ids": ["prod_pro", "prod_addon"]})

    assert made.id == "prod_addon"
    assert sorted(p.id for p in listed.data) == ["prod_addon", "prod_pro"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.create(params={"id": "prod_addon", "name": "Again"})


def test_a_draft_invoice_can_be_finalized_and_an_open_one_voided(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client, card="pm_card_chargeCustomerFail")
    sub = subscribe(client, customer.id, payment_behavior="default_incomplete")

    voided = client.v1.invoices.void_invoice(sub.latest_invoice)

    assert voided.status == "void"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(sub.latest_invoice)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(sub.latest_invoice)
    del clock


def test_an_invoice_paid_out_of_band(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client, card="pm_card_chargeCustomerFail")
    sub = subscribe(client, customer.id)

    paid = client.v1.invoices.pay(sub.latest_invoice, params={"paid_out_of_band": True})

    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_subscriptions_are_listed_by_price_and_status(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client)
    pro = subscribe(client, customer.id)
    business = subscribe(client, customer.id, "price_business_monthly")
    client.v1.subscriptions.cancel(pro.id)

    by_price = client.v1.subscriptions.list(params={"price": "price_business_monthly"})
    ended = client.v1.subscriptions.list(params={"customer": customer.id, "status": "ended"})
    canceled = client.v1.subscriptions.list(params={"status": "canceled"})

    assert [s.id for s in by_price.data] == [business.id]
    assert [s.id for s in ended.data] == [pro.id]
    assert [s.id for s in canceled.data] == [pro.id]
