"""Checkout, the billing portal and hosted invoices, driven through their pages as a person would."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from infra.local.stripe import StripeEmulator
from tests.integration.stripe.support import Receiver, pay_checkout, raw

CHECKOUT_EVENTS = [
    "payment_method.attached",
    "customer.updated",
    "customer.subscription.created",
    "invoice.created",
    "invoice.finalized",
    "payment_intent.created",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice_payment.paid",
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.updated",
    "checkout.session.completed",
]


def open_session(client: stripe.StripeClient, customer: str | None = None, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "subscription",
        "client_reference_id": "ten_01",
        "metadata": {"tenant_id": "ten_01"},
        "line_items": [{"price": "price_pro_monthly", "quantity": 1}],
        "success_url": "https://app.example.com/billing?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example.com/billing",
        **extra,
    }
    if customer:
        params["customer"] = customer
    return client.v1.checkout.sessions.create(params=params)


def test_paying_on_the_checkout_page_subscribes_and_redirects(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # Given a customer and a subscription-mode session
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    session = open_session(client, customer.id)
    assert session.url.startswith(emulator.url + "/checkout/cs_test_")
    assert session.status == "open"
    assert session.payment_status == "unpaid"

    # When the payer presses "Pay" with a good card
    status, location = pay_checkout(emulator, session.url)

    # Then the browser goes to the success URL, the session is complete and the subscription active
    assert status == 303
    assert location == f"https://app.example.com/billing?session={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription.latest_invoice"]})
    assert (done.status, done.payment_status, done.customer) == ("complete", "paid", customer.id)
    assert done.client_reference_id == "ten_01"
    assert done.metadata["tenant_id"] == "ten_01"
    assert done.subscription.status == "active"
    assert done.subscription["items"].data[0].price.id == "price_pro_monthly"
    assert done.subscription.latest_invoice.amount_paid == 2900
    assert done.subscription.latest_invoice.billing_reason == "subscription_create"
    # And the events came in Stripe's order
    assert emulator.wait_for_deliveries()
    assert receiver.types() == ["customer.created", *CHECKOUT_EVENTS]


def test_checkout_without_a_customer_creates_one_from_the_email(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    session = open_session(client, customer_email="new@example.com")

    pay_checkout(emulator, session.url)

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.customers.retrieve(done.customer).email == "new@example.com"
    assert done.customer_details.email == "new@example.com"
    assert emulator.wait_for_deliveries()
    assert receiver.types()[0] == "customer.created"


def test_a_declined_card_leaves_the_session_open_and_creates_nothing(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create()
    session = open_session(client, customer.id)

    status, page = pay_checkout(emulator, session.url, card="4000000000000002")

    assert status == 402
    assert "Your card was declined." in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []


def test_a_card_that_fails_later_is_declined_at_checkout_without_a_trial(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    session = open_session(client, client.v1.customers.create().id)

    status, _ = pay_checkout(emulator, session.url, card="4000000000000341")

    assert status == 402


def test_a_trial_checkout_needs_no_payment(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    session = open_session(client, client.v1.customers.create().id, subscription_data={"trial_period_days": 14})

    pay_checkout(emulator, session.url, card="4000000000000341")

    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert done.payment_status == "no_payment_required"
    assert done.subscription.status == "trialing"
    assert done.subscription.trial_end - done.subscription.trial_start == 14 * 86400
    assert emulator.wait_for_deliveries()
    assert "charge.succeeded" not in receiver.types()


def test_a_completed_session_cannot_be_paid_twice(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    session = open_session(client, customer.id)
    pay_checkout(emulator, session.url)

    status, _, page = raw(emulator, "POST", f"/checkout/{session.id}", {"card": "4242424242424242"}, key=None)

    assert status == 200
    assert "complete" in page
    assert len(client.v1.subscriptions.list(params={"customer": customer.id}).data) == 1


def test_the_session_line_items_and_expiry(client: stripe.StripeClient, emulator: StripeEmulator) -> None:
    session = open_session(client, client.v1.customers.create().id)

    items = client.v1.checkout.sessions.line_items.list(session.id)
    expired = client.v1.checkout.sessions.expire(session.id)

    assert [(i.price.id, i.quantity, i.amount_total) for i in items.data] == [("price_pro_monthly", 1, 2900)]
    assert expired.status == "expired"
    assert raw(emulator, "GET", f"/checkout/{session.id}", key=None)[2].count("expired") >= 1


def test_checkout_refuses_what_it_does_not_emulate(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "line_items": [{"price": "price_pro_monthly"}], "success_url": "https://x"}
        )

    assert caught.value.param == "mode"


def test_a_page_for_an_unknown_session_is_404(emulator: StripeEmulator) -> None:
    status, _, page = raw(emulator, "GET", "/checkout/cs_test_nope", key=None)

    assert status == 404
    assert "<script" not in page


# -- the portal -----------------------------------------------------------------------------------


def subscribed(emulator: StripeEmulator, client: stripe.StripeClient) -> tuple[Any, Any]:
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    pay_checkout(emulator, open_session(client, customer.id).url)
    sub = client.v1.subscriptions.list(params={"customer": customer.id}).data[0]
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": customer.id, "return_url": "https://app.example.com/billing"}
    )
    return sub, portal


def test_the_portal_page_shows_the_plan_and_switches_it(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    sub, portal = subscribed(emulator, client)
    path = f"/portal/{portal.id}"

    status, _, page = raw(emulator, "GET", path, key=None)
    assert status == 200
    assert "Pro" in page
    assert "https://app.example.com/billing" in page
    status, headers, _ = raw(
        emulator, "POST", f"{path}/switch", {"subscription": sub.id, "price": "price_business_monthly"}, key=None
    )

    assert status == 303
    assert headers["location"] == path
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after["items"].data[0].price.id == "price_business_monthly"
    assert after["items"].data[0].id == sub["items"].data[0].id  # the same item, another price
    pending = client.v1.invoice_items.list(params={"customer": sub.customer, "pending": True})
    assert sorted(item.amount > 0 for item in pending.data) == [False, True]  # credit and charge


def test_the_portal_cancels_at_the_period_end_and_renews(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    sub, portal = subscribed(emulator, client)

    raw(emulator, "POST", f"/portal/{portal.id}/cancel", {"subscription": sub.id}, key=None)
    cancelled = client.v1.subscriptions.retrieve(sub.id)
    raw(emulator, "POST", f"/portal/{portal.id}/renew", {"subscription": sub.id}, key=None)
    renewed = client.v1.subscriptions.retrieve(sub.id)

    assert cancelled.cancel_at_period_end
    assert cancelled.status == "active"
    assert cancelled.cancel_at == cancelled["items"].data[0].current_period_end
    assert not renewed.cancel_at_period_end
    assert renewed.cancel_at is None


def test_the_portal_refuses_another_customers_subscription(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    sub, _ = subscribed(emulator, client)
    other = client.v1.billing_portal.sessions.create(params={"customer": client.v1.customers.create().id})

    status, _, page = raw(emulator, "POST", f"/portal/{other.id}/cancel", {"subscription": sub.id}, key=None)

    assert status == 400
    assert "another customer" in page
    assert not client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end


# -- hosted invoices ------------------------------------------------------------------------------


def test_the_hosted_invoice_page_and_pdf(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    sub, _ = subscribed(emulator, client)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)

    status, _, page = raw(emulator, "GET", invoice.hosted_invoice_url.removeprefix(emulator.url), key=None)
    pdf_status, headers, pdf = raw(emulator, "GET", invoice.invoice_pdf.removeprefix(emulator.url), key=None)

    assert status == 200
    assert invoice.number in page
    assert "$29.00" in page
    assert pdf_status == 200
    assert headers["content-type"] == "application/pdf"
    assert pdf.startswith("%PDF-1.4")
    assert invoice.number in pdf


def test_an_open_invoice_is_paid_on_its_page(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    # Given a subscription whose first payment failed (incomplete, invoice open)
    customer = client.v1.customers.create(params={"payment_method": "pm_card_chargeCustomerFail"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": "price_pro_monthly"}],
            "default_payment_method": "pm_card_chargeCustomerFail",
        }
    )
    assert sub.status == "incomplete"

    # When the customer pays it on the hosted page with a good card
    status, _, _ = raw(emulator, "POST", f"/invoice/{sub.latest_invoice}/pay", {"card": "4242424242424242"}, key=None)

    # Then the invoice is paid and the subscription active
    assert status == 303
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
