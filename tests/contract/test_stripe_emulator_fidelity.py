"""The local Stripe's objects hold to Stripe's published fixtures and parse into the SDK's typed objects.

One tour drives every endpoint a billing adapter uses over HTTP (checkout through the page, plan
changes, renewals, dunning, refunds, disputes, trials, deletions...). Every object the SDK
received on the way, at any depth, and every event the webhooks delivered, is then checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe

from infra.local.stripe import StripeEmulator
from infra.local.stripe.objects import FIXTURES
from tests.integration.stripe.support import (
    API_KEY,
    DAY,
    JAN_1_2030,
    Receiver,
    advance,
    fail_next_payments,
    pay_checkout,
    start_emulator,
    subscribe,
)

Obj = dict[str, Any]
EMITTED = {
    "charge.dispute.created",
    "charge.failed",
    "charge.refunded",
    "charge.succeeded",
    "checkout.session.completed",
    "checkout.session.expired",
    "credit_note.created",
    "customer.created",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.trial_will_end",
    "customer.subscription.updated",
    "customer.updated",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_action_required",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.voided",
    "invoice_payment.paid",
    "invoiceitem.created",
    "payment_intent.created",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "payment_method.attached",
    "price.created",
    "price.updated",
    "product.created",
    "refund.created",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.created",
    "test_helpers.test_clock.deleted",
    "test_helpers.test_clock.ready",
}
SERVED = {
    "billing_portal.configuration",
    "billing_portal.session",
    "charge",
    "checkout.session",
    "credit_note",
    "credit_note_line_item",
    "customer",
    "dispute",
    "event",
    "invoice",
    "invoice_payment",
    "invoiceitem",
    "item",
    "line_item",
    "payment_intent",
    "payment_method",
    "price",
    "product",
    "plan",
    "refund",
    "subscription",
    "subscription_item",
    "test_helpers.test_clock",
    "webhook_endpoint",
    "deleted_customer",
    "deleted_test_helpers.test_clock",
    "deleted_webhook_endpoint",
}


def fixtures() -> dict[str, Obj]:
    resources: dict[str, Obj] = json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]
    return resources


class RecordingClient(stripe.RequestsClient):
    """The SDK's own HTTP client, keeping every JSON body the emulator answered."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[Obj] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        content, status, response_headers = super().request(method, url, headers, post_data)
        if status == 200:
            self.bodies.append(json.loads(content))
        return content, status, response_headers


@dataclass
class Tour:
    served: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)


def walk(value: Any) -> Iterator[Obj]:
    """Every Stripe object inside ``value`` (lists' items, expanded fields, events' objects)."""
    if isinstance(value, dict):
        if isinstance(value.get("object"), str) and value["object"] != "list":
            yield value
        for child in value.values():
            yield from walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk(child)


def resource(obj: Obj) -> str:
    return f"deleted_{obj['object']}" if obj.get("deleted") else str(obj["object"])


def missing_keys(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Keys of Stripe's fixture missing from ours, at every level where both hold an object."""
    missing: list[str] = []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key, value in theirs.items():
            if key not in ours:
                missing.append(path + key)
            elif key != "metadata" and not (path == "" and key == "data" and theirs.get("object") == "event"):
                missing += missing_keys(ours[key], value, f"{path}{key}.")
    elif isinstance(theirs, list) and isinstance(ours, list) and theirs and isinstance(theirs[0], dict):
        for item in ours:
            missing += missing_keys(item, theirs[0], f"{path}[].")
    return missing


@pytest.fixture(scope="module")
def tour() -> Iterator[Tour]:
    receiver = Receiver().start()
    emulator = start_emulator(receiver)
    recording = RecordingClient()
    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": emulator.url}, http_client=recording, max_network_retries=0
    )
    try:
        _drive(emulator, client)
        assert emulator.wait_for_deliveries(15)
        yield Tour(served=recording.bodies, events=receiver.events())
    finally:
        emulator.stop()
        receiver.stop()


def _drive(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    v1 = client.v1
    # catalogue and endpoints
    product = v1.products.create(params={"name": "Seats"})
    price = v1.prices.create(
        params={"product": product.id, "unit_amount": 500, "currency": "usd", "recurring": {"interval": "month"}}
    )
    v1.prices.update(price.id, params={"nickname": "seat"})
    v1.prices.list(params={"expand": ["data.product"]})
    endpoint = v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/unused", "enabled_events": ["*"]})
    v1.webhook_endpoints.delete(endpoint.id)
    v1.webhook_endpoints.retrieve(endpoint.id)
    # a customer on a clock, subscribed through the checkout page
    clock = v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1_2030})
    ada = v1.customers.create(params={"email": "ada@example.com", "test_clock": clock.id})
    session = v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": ada.id,
            "line_items": [{"price": "price_pro_monthly"}],
            "success_url": "https://app.example.com/ok",
        }
    )
    pay_checkout(emulator, session.url)
    session = v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription.latest_invoice", "line_items", "customer"]}
    )
    v1.checkout.sessions.line_items.list(session.id)
    sub = session.subscription
    portal = v1.billing_portal.sessions.create(params={"customer": ada.id, "return_url": "https://app.example.com"})
    v1.billing_portal.configurations.retrieve(portal.configuration)
    # a plan change, its preview, a renewal that fails once then recovers
    item = sub["items"].data[0].id
    advance(client, clock.id, JAN_1_2030 + 10 * DAY)
    change = {"items": [{"id": item, "price": "price_business_monthly"}]}
    v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": change})
    v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {"cancel_now": True}})
    v1.subscriptions.update(sub.id, params=change)
    v1.invoice_items.list(params={"customer": ada.id})
    fail_next_payments(client, ada.id, 1)
    advance(client, clock.id, JAN_1_2030 + 31 * DAY + 2 * 3600)
    advance(client, clock.id, JAN_1_2030 + 35 * DAY)
    invoice = v1.invoices.list(params={"subscription": sub.id, "expand": ["data.payments"]}).data[0]
    v1.invoices.line_items.list(invoice.id)
    v1.invoice_payments.list(params={"invoice": invoice.id})
    intent = v1.payment_intents.retrieve(
        invoice.payments.data[0].payment.payment_intent, params={"expand": ["latest_charge", "payment_method"]}
    )
    v1.charges.list(params={"customer": ada.id})
    # refunds, a credit note, a dispute
    note = v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1000, "refund_amount": 1000})
    v1.credit_notes.line_items.list(note.id)
    v1.refunds.retrieve(note.refunds[0].refund, params={"expand": ["charge"]})
    client.raw_request("post", f"/v1/test_helpers/charges/{intent.latest_charge.id}/dispute")
    v1.disputes.list()
    # a trial, a card that needs authentication, an incomplete subscription that expires
    bob = v1.customers.create(
        params={
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscribe(client, bob.id, trial_period_days=7)
    cy = v1.customers.create(
        params={
            "test_clock": clock.id,
            "payment_method": "pm_card_authenticationRequired",
            "invoice_settings": {"default_payment_method": "pm_card_authenticationRequired"},
        }
    )
    subscribe(client, cy.id, payment_behavior="default_incomplete")  # never paid: expires
    renewing = subscribe(client, cy.id, payment_behavior="default_incomplete")
    v1.invoices.pay(renewing.latest_invoice, params={"payment_method": "pm_card_visa"})
    v1.subscriptions.update(renewing.id, params={"default_payment_method": "pm_card_authenticationRequired"})
    v1.payment_methods.list(params={"customer": cy.id})
    advance(client, clock.id, JAN_1_2030 + 67 * DAY)
    v1.subscriptions.list(params={"test_clock": clock.id, "status": "all", "expand": ["data.latest_invoice"]})
    v1.subscription_items.list(params={"subscription": sub.id})
    # a trial with no card that pauses, an expired session, deletions
    other = v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1_2030})
    dee = v1.customers.create(params={"test_clock": other.id})
    subscribe(client, dee.id, trial_period_days=3, trial_settings={"end_behavior": {"missing_payment_method": "pause"}})
    advance(client, other.id, JAN_1_2030 + 4 * DAY)
    expiring = v1.checkout.sessions.create(
        params={"mode": "subscription", "line_items": [{"price": "price_pro_annual"}]}
    )
    v1.checkout.sessions.expire(expiring.id)
    v1.customers.delete(dee.id)
    v1.customers.retrieve(dee.id)
    v1.test_helpers.test_clocks.delete(other.id)
    v1.test_helpers.test_clocks.retrieve(other.id)
    v1.test_helpers.test_clocks.list()
    v1.events.list(params={"limit": 100})


def test_the_tour_served_every_kind_and_emitted_every_event_type(tour: Tour) -> None:
    kinds = {resource(obj) for body in tour.served for obj in walk(body)}
    types = {event["type"] for event in tour.events}

    assert kinds >= SERVED, SERVED - kinds
    assert types == EMITTED, (EMITTED - types, types - EMITTED)


def test_every_served_object_has_at_least_the_fixtures_keys(tour: Tour) -> None:
    published = fixtures()
    problems = {}
    for body in tour.served:
        for obj in walk(body):
            missing = missing_keys(obj, published[resource(obj)])
            if missing:
                problems[resource(obj)] = missing
    assert problems == {}


def test_every_event_and_its_object_have_at_least_the_fixtures_keys(tour: Tour) -> None:
    published = fixtures()
    problems = {}
    for event in tour.events:
        data_object = event["data"]["object"]
        missing = missing_keys(event, published["event"]) + missing_keys(data_object, published[resource(data_object)])
        if missing:
            problems[event["type"]] = missing
    assert problems == {}


def test_no_fixture_example_value_leaks_into_an_answer(tour: Tour) -> None:
    # The fixtures' sample ids, URLs and timestamp must all have been replaced.
    placeholders = {"obj_123", "cus_QXg1o8vcGmoR32", "prod_QXg1hqf4jFNsqG", "price_1PgafmB7WZ01zgkW6dKueIc5"}
    placeholders |= {"https://example.com/cancel", "https://example.com/success", "example@example.com"}
    text = json.dumps([tour.served, tour.events])

    leaked = {value for value in placeholders if f'"{value}"' in text}
    assert leaked == set()
    assert "1234567890" not in text
    assert "sangeekp" not in text
    assert "checkout.stripe.com" not in text


def test_every_served_object_builds_the_sdks_typed_object(tour: Tour) -> None:
    for body in tour.served:
        for obj in walk(body):
            if obj.get("deleted"):
                continue
            typed = stripe.convert_to_stripe_object(obj)
            assert type(typed) is not stripe.StripeObject, obj["object"]
            assert obj["object"] == type(typed).OBJECT_NAME  # type: ignore[attr-defined]


def typed_from(tour: Tour, kind: str, **match: Any) -> Any:
    for body in tour.served:
        for obj in walk(body):
            if obj["object"] == kind and all(obj.get(k) == v for k, v in match.items()):
                return stripe.convert_to_stripe_object(obj)
    raise AssertionError(f"no {kind} {match} was served")


def test_an_adapter_reads_what_it_needs_from_the_typed_objects(tour: Tour) -> None:
    sub = typed_from(tour, "subscription", status="active")
    item = sub["items"].data[0]
    assert isinstance(sub, stripe.Subscription)
    assert item.price.id.startswith("price_")
    assert item.price.recurring.interval in ("month", "year")
    assert item.current_period_end > item.current_period_start
    assert sub.latest_invoice
    assert sub.customer.startswith("cus_")
    assert isinstance(sub.cancel_at_period_end, bool)

    invoice = typed_from(tour, "invoice", status="paid")
    assert isinstance(invoice, stripe.Invoice)
    assert invoice.amount_paid > 0
    assert invoice.currency == "usd"
    assert invoice.number
    assert invoice.hosted_invoice_url
    assert invoice.invoice_pdf
    assert invoice.parent.subscription_details.subscription.startswith("sub_")
    assert invoice.lines.data[0].pricing.price_details.price.startswith("price_")
    assert invoice.lines.data[0].period.end >= invoice.lines.data[0].period.start

    session = typed_from(tour, "checkout.session", status="complete")
    assert isinstance(session, stripe.checkout.Session)
    assert session.url
    assert session.subscription
    assert session.customer

    failed = typed_from(tour, "invoice", attempt_count=1, status="open")
    assert failed.next_payment_attempt
    assert failed.attempted

    refund = typed_from(tour, "refund")
    assert isinstance(refund, stripe.Refund)
    assert refund.amount == 1000
    assert refund.charge

    note = typed_from(tour, "credit_note")
    assert isinstance(note, stripe.CreditNote)
    assert note.refunds[0].amount_refunded == 1000


def test_events_parse_as_the_sdks_events(tour: Tour) -> None:
    for event in tour.events:
        typed = stripe.Event.construct_from(event, API_KEY)
        assert typed.api_version == stripe.api_version
        assert event["data"]["object"]["object"] == type(typed.data.object).OBJECT_NAME  # type: ignore[attr-defined]
