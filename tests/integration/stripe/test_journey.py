"""The journey a billing adapter takes, end to end over HTTP with the real SDK."""

from __future__ import annotations

import stripe

from infra.local.stripe import StripeEmulator
from tests.integration.stripe.support import Receiver, pay_checkout, raw


def test_sign_up_checkout_preview_and_cancel_with_a_prorated_refund(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # Given a customer made once per tenant (the idempotency key comes from the tenant)
    key = {"idempotency_key": "ten_01:create-customer"}
    customer = client.v1.customers.create(
        params={"email": "owner@acme.test", "metadata": {"tenant_id": "ten_01"}}, options=key
    )
    assert (
        client.v1.customers.create(
            params={"email": "owner@acme.test", "metadata": {"tenant_id": "ten_01"}}, options=key
        ).id
        == customer.id
    )

    # When the owner checks out Pro on the checkout page
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": "ten_01",
            "line_items": [{"price": "price_pro_monthly", "quantity": 1}],
            "success_url": "http://127.0.0.1:8080/billing/done",
            "cancel_url": "http://127.0.0.1:8080/billing",
        }
    )
    status, _ = pay_checkout(emulator, session.url)
    assert status == 303

    # Then the subscription is there for the adapter to read
    sub = client.v1.subscriptions.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).subscription, params={"expand": ["latest_invoice"]}
    )
    assert sub.status == "active"
    assert sub["items"].data[0].price.lookup_key == "pro_monthly"
    assert sub.latest_invoice.amount_paid == 2900

    # And a plan change can be previewed without changing anything
    preview = client.v1.invoices.create_preview(
        params={
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": sub["items"].data[0].id, "price": "price_business_monthly"}],
                "proration_behavior": "always_invoice",
            },
        }
    )
    assert preview.amount_due > 0
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == "price_pro_monthly"

    # And cancelling now refunds the unused time through a credit note
    cancel_preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": {"cancel_now": True}}
    )
    unused = -cancel_preview.total
    client.v1.subscriptions.cancel(sub.id)
    note = client.v1.credit_notes.create(
        params={"invoice": sub.latest_invoice.id, "amount": unused, "refund_amount": unused, "reason": "order_change"},
        options={"idempotency_key": "ten_01:refund:1"},
    )
    refund = client.v1.refunds.retrieve(note.refunds[0].refund)
    assert 0 < refund.amount == unused <= 2900
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"

    # And every step reached the webhook receiver, signed
    assert emulator.wait_for_deliveries()
    types = receiver.types()
    for expected in (
        "checkout.session.completed",
        "customer.subscription.deleted",
        "charge.refunded",
        "credit_note.created",
    ):
        assert expected in types
    assert raw(emulator, "GET", "/_local/deliveries", key=None)[2]["deliveries"][-1]["outcome"] == "delivered"


def test_delete_parameters_may_come_in_a_form_body(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": "price_pro_monthly"}],
            "default_payment_method": "pm_card_visa",
        }
    )

    status, _, answer = raw(emulator, "DELETE", f"/v1/subscriptions/{sub.id}", "prorate=true")

    assert status == 200
    assert answer["status"] == "canceled"
    assert len(client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data) == 1
