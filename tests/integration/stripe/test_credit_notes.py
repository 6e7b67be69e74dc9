"""Credit notes by line, before payment, and the portal's immediate cancellation."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.integration.stripe.support import (
    clock_customer,
    pay_checkout,
    raw,
    sdk,
    start_emulator,
    subscribe,
)


def paid_invoice(client: stripe.StripeClient) -> Any:
    _, customer = clock_customer(client)
    return client.v1.invoices.retrieve(subscribe(client, customer.id).latest_invoice)


def test_a_credit_note_by_invoice_line_refunds_that_line(client: stripe.StripeClient) -> None:
    invoice = paid_invoice(client)
    line = invoice.lines.data[0]

    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 1200}],
            "refund_amount": 1200,
        }
    )

    assert note.amount == 1200
    assert note.lines.data[0].invoice_line_item == line.id
    assert note.lines.data[0].description == line.description
    assert note.number == f"{invoice.number}-CN-01"
    assert client.v1.credit_notes.list(params={"invoice": invoice.id}).data[0].id == note.id


def test_a_custom_credit_line_goes_to_the_balance(client: stripe.StripeClient) -> None:
    invoice = paid_invoice(client)

    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "custom_line_item", "description": "Goodwill", "unit_amount": 250, "quantity": 2}],
        }
    )

    assert note.amount == 500
    assert note.lines.data[0].type == "custom_line_item"
    assert client.v1.customers.retrieve(invoice.customer).balance == -500


def test_lines_and_amount_must_agree(client: stripe.StripeClient) -> None:
    invoice = paid_invoice(client)
    line = invoice.lines.data[0]

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.credit_notes.create(
            params={
                "invoice": invoice.id,
                "amount": 100,
                "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 200}],
            }
        )

    assert caught.value.param == "amount"


def test_a_credit_note_on_an_open_invoice_lowers_what_is_due(client: stripe.StripeClient) -> None:
    # Given an open first invoice (the card fails)
    _, customer = clock_customer(client, card="pm_card_chargeCustomerFail")
    sub = subscribe(client, customer.id)

    # When part of it, then the rest, is credited before payment
    first = client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 900})
    after_first = client.v1.invoices.retrieve(sub.latest_invoice)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 500, "refund_amount": 500})
    client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 2000})

    # Then what is due drops, and a fully credited invoice is settled
    assert first.type == "pre_payment"
    assert first.pre_payment_amount == 900
    assert after_first.amount_remaining == 2000
    assert after_first.pre_payment_credit_notes_amount == 900
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_void_invoice_cannot_be_credited(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client, card="pm_card_chargeCustomerFail")
    sub = subscribe(client, customer.id)
    client.v1.invoices.void_invoice(sub.latest_invoice)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.credit_notes.create(params={"invoice": sub.latest_invoice, "amount": 100})

    assert caught.value.code == "invoice_not_editable"


def test_the_portal_can_cancel_at_once_with_a_prorated_credit() -> None:
    emulator = start_emulator(None, portal_cancel_at_period_end=False)
    try:
        client = sdk(emulator)
        customer = client.v1.customers.create()
        session = client.v1.checkout.sessions.create(
            params={"mode": "subscription", "customer": customer.id, "line_items": [{"price": "price_pro_monthly"}]}
        )
        status, page = pay_checkout(emulator, session.url)
        assert status == 200  # no success_url: the page says it is complete
        assert "complete" in page
        sub = client.v1.subscriptions.list(params={"customer": customer.id}).data[0]
        portal = client.v1.billing_portal.sessions.create(params={"customer": customer.id})

        raw(emulator, "POST", f"/portal/{portal.id}/cancel", {"subscription": sub.id}, key=None)

        assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
        assert client.v1.customers.retrieve(customer.id).balance < 0  # the unused time, as credit
    finally:
        emulator.stop()
