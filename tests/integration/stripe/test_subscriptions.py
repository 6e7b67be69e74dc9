"""Subscriptions over the SDK: plan changes with Stripe's prorations, previews, cancellations, refunds."""

from __future__ import annotations

from typing import Any

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

MID_JANUARY = JAN_1_2030 + 15 * DAY  # 16 of January's 31 days left
# Stripe's second-based proration: round(amount * remaining / period), per line.
PRO_UNUSED_MID_JANUARY = -round(2900 * 16 / 31)  # -1497
BUSINESS_REMAINING_MID_JANUARY = round(9900 * 16 / 31)  # 5110


def pro_in_mid_january(client: stripe.StripeClient) -> tuple[Any, Any]:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    advance(client, clock.id, MID_JANUARY)
    return customer, client.v1.subscriptions.retrieve(sub.id)


def switch(client: stripe.StripeClient, sub: Any, price: str, **extra: Any) -> Any:
    item = sub["items"].data[0].id
    return client.v1.subscriptions.update(sub.id, params={"items": [{"id": item, "price": price}], **extra})


def test_a_new_subscription_is_paid_at_once_for_its_first_period(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)

    sub = subscribe(client, customer.id, expand=["latest_invoice"])

    item = sub["items"].data[0]
    assert sub.status == "active"
    assert (item.current_period_start, item.current_period_end) == (JAN_1_2030, JAN_1_2030 + 31 * DAY)
    assert sub.latest_invoice.status == "paid"
    assert sub.latest_invoice.amount_paid == 2900
    assert sub.latest_invoice.lines.data[0].description == "1 \u00d7 Pro (at $29.00 / month)"
    assert sub.test_clock == clock.id
    assert sub.latest_invoice.test_clock == clock.id


def test_an_upgrade_creates_second_based_proration_items_for_the_next_invoice(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)

    switch(client, sub, "price_business_monthly")

    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    amounts = sorted((item.amount, item.description) for item in pending)
    assert amounts == [
        (PRO_UNUSED_MID_JANUARY, "Unused time on Pro after 16 Jan 2030"),
        (BUSINESS_REMAINING_MID_JANUARY, "Remaining time on Business after 16 Jan 2030"),
    ]
    assert all(item.proration and item.period.start == MID_JANUARY for item in pending)


def test_the_next_renewal_bills_the_prorations_and_the_new_price(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    switch(client, sub, "price_business_monthly")

    advance(client, sub.test_clock, JAN_1_2030 + 31 * DAY + 2 * 3600)

    renewal = client.v1.invoices.list(params={"subscription": sub.id, "limit": 1}).data[0]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.status == "paid"
    assert renewal.amount_paid == PRO_UNUSED_MID_JANUARY + BUSINESS_REMAINING_MID_JANUARY + 9900
    assert [line.parent.type for line in renewal.lines.data] == [
        "invoice_item_details",
        "invoice_item_details",
        "subscription_item_details",
    ]


def test_the_preview_shows_exactly_what_always_invoice_charges(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)
    item = sub["items"].data[0].id
    change = {"items": [{"id": item, "price": "price_business_monthly"}], "proration_behavior": "always_invoice"}

    preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": {**change, "proration_date": MID_JANUARY}}
    )
    updated = client.v1.subscriptions.update(
        sub.id, params={**change, "proration_date": MID_JANUARY, "expand": ["latest_invoice"]}
    )

    invoice = updated.latest_invoice
    assert preview.amount_due == BUSINESS_REMAINING_MID_JANUARY + PRO_UNUSED_MID_JANUARY
    assert invoice.amount_paid == preview.amount_due
    assert [(line.description, line.amount) for line in invoice.lines.data] == [
        (line.description, line.amount) for line in preview.lines.data
    ]
    assert invoice.billing_reason == "subscription_update"
    assert client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data == []


def test_the_preview_of_a_create_prorations_change_is_the_next_invoice(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    item = sub["items"].data[0].id

    preview = client.v1.invoices.create_preview(
        params={
            "subscription": sub.id,
            "subscription_details": {"items": [{"id": item, "price": "price_business_monthly"}]},
        }
    )

    assert preview.amount_due == PRO_UNUSED_MID_JANUARY + BUSINESS_REMAINING_MID_JANUARY + 9900
    assert preview.next_payment_attempt == JAN_1_2030 + 31 * DAY
    assert preview.id.startswith("upcoming_in_")
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == "price_pro_monthly"  # untouched


def test_proration_behavior_none_switches_without_credit(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)

    switch(client, sub, "price_business_monthly", proration_behavior="none")

    assert client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data == []
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.amount_due == 9900


def test_a_downgrade_invoiced_at_once_leaves_a_credit_for_the_next_renewal(client: stripe.StripeClient) -> None:
    # Given Business in mid-January, downgraded to Pro and invoiced at once
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id, "price_business_monthly")
    advance(client, clock.id, MID_JANUARY)
    downgraded = switch(
        client, sub, "price_pro_monthly", proration_behavior="always_invoice", expand=["latest_invoice"]
    )

    # Then nothing is charged and the difference becomes the customer's credit balance
    credit = round(2900 * 16 / 31) - round(9900 * 16 / 31)
    assert downgraded.latest_invoice.total == credit
    assert downgraded.latest_invoice.amount_due == 0
    assert client.v1.customers.retrieve(customer.id).balance == credit
    # And the next renewal spends it
    advance(client, clock.id, JAN_1_2030 + 31 * DAY + 2 * 3600)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert credit < -2900  # more credit than a month of Pro
    assert renewal.total == 2900
    assert renewal.amount_due == 0
    assert renewal.status == "paid"
    assert renewal.starting_balance == credit
    assert renewal.ending_balance == credit + 2900


def test_monthly_to_annual_restarts_the_period_and_invoices_at_once(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)

    annual = switch(client, sub, "price_pro_annual", expand=["latest_invoice"])

    item = annual["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (MID_JANUARY, MID_JANUARY + 365 * DAY)
    assert annual.billing_cycle_anchor == MID_JANUARY
    assert [line.amount for line in annual.latest_invoice.lines.data] == [PRO_UNUSED_MID_JANUARY, 29000]
    assert annual.latest_invoice.amount_paid == 29000 + PRO_UNUSED_MID_JANUARY


def test_a_quantity_change_prorates_the_difference(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)

    client.v1.subscriptions.update(sub.id, params={"items": [{"id": sub["items"].data[0].id, "quantity": 3}]})

    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert sorted(item.amount for item in pending) == [PRO_UNUSED_MID_JANUARY, round(3 * 2900 * 16 / 31)]


def test_error_if_incomplete_refuses_a_change_the_card_cannot_pay(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)
    client.raw_request("post", f"/v1/test_helpers/customers/{customer.id}/fail_next_payment")

    with pytest.raises(stripe.CardError) as caught:
        switch(
            client,
            sub,
            "price_business_monthly",
            proration_behavior="always_invoice",
            payment_behavior="error_if_incomplete",
            metadata={"plan": "business"},
        )

    assert caught.value.http_status == 402
    assert caught.value.code == "card_declined"
    assert client.v1.subscriptions.retrieve(sub.id).metadata.to_dict() == {}  # nothing of the update applied
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == "price_pro_monthly"


def test_a_failed_first_payment_leaves_it_incomplete_then_expired(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client, card="pm_card_chargeCustomerFail")

    sub = subscribe(client, customer.id)
    assert sub.status == "incomplete"
    advance(client, clock.id, JAN_1_2030 + 24 * 3600)

    expired = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert expired.status == "incomplete_expired"
    assert expired.latest_invoice.status == "void"
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []  # ended ones are hidden
    assert len(client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data) == 1


# -- cancellation and refunds ---------------------------------------------------------------------


def test_cancel_now_with_a_prorated_refund(
    client: stripe.StripeClient, emulator: StripeEmulator, receiver: Receiver
) -> None:
    # Given Pro, paid, half-way through January
    _, sub = pro_in_mid_january(client)

    # When the cancel preview says what is unused, the subscription is canceled, and that is refunded
    preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": {"cancel_now": True}}
    )
    canceled = client.v1.subscriptions.cancel(sub.id)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "amount": -preview.total,
            "refund_amount": -preview.total,
            "reason": "order_change",
        }
    )

    # Then the refund is the unused time to the cent, on the invoice's charge
    assert preview.total == PRO_UNUSED_MID_JANUARY
    assert canceled.status == "canceled"
    assert canceled.ended_at == MID_JANUARY
    refund = client.v1.refunds.retrieve(note.refunds[0].refund, params={"expand": ["charge"]})
    assert refund.amount == -PRO_UNUSED_MID_JANUARY
    assert refund.status == "succeeded"
    assert refund.charge.amount_refunded == -PRO_UNUSED_MID_JANUARY
    assert not refund.charge.refunded
    assert note.type == "post_payment"
    assert note.amount == -PRO_UNUSED_MID_JANUARY
    assert client.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == note.amount
    assert emulator.wait_for_deliveries()
    assert receiver.types()[-4:] == [
        "customer.subscription.deleted",
        "refund.created",
        "charge.refunded",
        "credit_note.created",
    ]


def test_refunding_more_than_is_left_is_400(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    intent = invoice.payments.data[0].payment.payment_intent
    client.v1.refunds.create(params={"payment_intent": intent, "amount": 2000})

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 901})
    rest = client.v1.refunds.create(params={"payment_intent": intent})
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 1})

    assert too_much.value.http_status == 400
    assert too_much.value.code == "amount_too_large"
    assert "($9.01) is greater than unrefunded amount on charge ($9.00)" in str(too_much.value.user_message)
    assert rest.amount == 900
    assert nothing_left.value.code == "charge_already_refunded"


def test_a_credit_note_cannot_exceed_what_is_left_to_credit(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 2000, "refund_amount": 2000})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 901, "refund_amount": 901})

    assert caught.value.code == "amount_too_large"


def test_a_credit_note_must_be_accounted_for_in_full(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 1000, "refund_amount": 400})
    to_balance = client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 1000})

    assert "must equal the credit note amount" in str(caught.value.user_message)
    assert client.v1.customers.retrieve(sub.customer).balance == -1000
    assert to_balance.refunds == []


def test_a_refund_made_first_can_be_linked_to_a_credit_note(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    refund = client.v1.refunds.create(
        params={"payment_intent": invoice.payments.data[0].payment.payment_intent, "amount": 700}
    )

    note = client.v1.credit_notes.create(
        params={"invoice": invoice.id, "amount": 700, "refunds": [{"refund": refund.id}]}
    )

    assert [(r.refund, r.amount_refunded) for r in note.refunds] == [(refund.id, 700)]
    with pytest.raises(stripe.InvalidRequestError):  # the same refund cannot be counted twice
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1, "refunds": [{"refund": refund.id}]})


def test_cancel_at_period_end_ends_it_at_renewal_without_an_invoice(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)

    scheduled = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    advance(client, sub.test_clock, JAN_1_2030 + 32 * DAY)

    ended = client.v1.subscriptions.retrieve(sub.id)
    assert scheduled.status == "active"
    assert scheduled.cancel_at == JAN_1_2030 + 31 * DAY
    assert ended.status == "canceled"
    assert ended.ended_at == JAN_1_2030 + 31 * DAY
    assert ended.cancellation_details.reason == "cancellation_requested"
    assert len(client.v1.invoices.list(params={"customer": customer.id}).data) == 1
    assert event_types(client, type="customer.subscription.*")[-2:] == [
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]


def test_a_canceled_subscription_cannot_be_canceled_or_changed_again(client: stripe.StripeClient) -> None:
    _, sub = pro_in_mid_january(client)
    client.v1.subscriptions.cancel(sub.id)

    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as change:
        switch(client, sub, "price_business_monthly")
    noted = client.v1.subscriptions.update(sub.id, params={"metadata": {"why": "moved"}})

    assert again.value.http_status == 404  # what Stripe answers
    assert "canceled subscription" in str(change.value.user_message)
    assert noted.metadata["why"] == "moved"


def test_cancel_with_prorate_and_invoice_now_credits_the_balance(client: stripe.StripeClient) -> None:
    customer, sub = pro_in_mid_january(client)

    client.v1.subscriptions.cancel(sub.id, params={"prorate": True, "invoice_now": True})

    final = client.v1.invoices.list(params={"customer": customer.id, "limit": 1}).data[0]
    assert final.total == PRO_UNUSED_MID_JANUARY
    assert final.amount_due == 0
    assert client.v1.customers.retrieve(customer.id).balance == PRO_UNUSED_MID_JANUARY


# -- disputes -------------------------------------------------------------------------------------


def test_a_disputed_charge_cannot_be_refunded(
    client: stripe.StripeClient, emulator: StripeEmulator, receiver: Receiver
) -> None:
    _, sub = pro_in_mid_january(client)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    charge = invoice.payments.data[0].payment.charge

    raw_dispute = client.raw_request("post", f"/v1/test_helpers/charges/{charge}/dispute", reason="fraudulent")
    dispute = client.deserialize(raw_dispute, api_mode="V1")

    assert isinstance(dispute, stripe.Dispute)
    assert dispute.charge == charge
    assert dispute.amount == 2900
    assert client.v1.charges.retrieve(charge).disputed
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge})
    assert caught.value.code == "charge_disputed"
    assert emulator.wait_for_deliveries()
    assert receiver.types()[-1] == "charge.dispute.created"


def test_the_dispute_test_card_is_disputed_after_it_pays(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client, card="pm_card_createDispute")

    subscribe(client, customer.id)

    types = event_types(client)
    assert types.index("charge.dispute.created") > types.index("invoice.paid")
