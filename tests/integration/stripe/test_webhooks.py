"""Webhook deliveries: Stripe's signatures, retries with backoff, the delivery log, chaos."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import stripe

from infra.local.stripe import DeliveryPolicy, StripeEmulator, sign
from tests.integration.stripe.support import (
    SECRET,
    Receiver,
    eventually,
    raw,
    sdk,
    start_emulator,
)


def test_every_delivery_is_signed_as_stripe_signs(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    client.v1.customers.create(params={"email": "ada@example.com"})
    client.v1.customers.create(params={"email": "bob@example.com"})
    assert emulator.wait_for_deliveries()

    for delivery in receiver.deliveries:
        payload = delivery.body.decode()
        # Stripe's own verifier accepts it (300 s tolerance), and a typed event comes out
        assert stripe.WebhookSignature.verify_header(payload, delivery.signature, SECRET, tolerance=300)
        event = stripe.Webhook.construct_event(payload, delivery.signature, SECRET)
        assert isinstance(event, stripe.Event)
        assert event.type == "customer.created"
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(payload, delivery.signature, "whsec_other", tolerance=300)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(payload + " ", delivery.signature, SECRET, tolerance=300)
    assert len(receiver.deliveries) == 2


def test_the_signature_is_hmac_sha256_of_timestamp_dot_payload() -> None:
    header = sign(b'{"id": "evt_1"}', "whsec_x", 1700000000)

    assert header == (
        "t=1700000000,v1=" + stripe.WebhookSignature._compute_signature('1700000000.{"id": "evt_1"}', "whsec_x")
    )


def test_events_carry_the_pinned_api_version_and_the_request(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    client.v1.customers.create(options={"idempotency_key": "create-ada"})
    assert emulator.wait_for_deliveries()

    event = receiver.events()[0]
    assert event["api_version"] == stripe.api_version
    assert event["request"]["idempotency_key"] == "create-ada"
    assert event["request"]["id"].startswith("req_")
    assert event["livemode"] is False


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # Given a receiver that answers 500, then 503, then 200
    receiver.script = [500, 503]

    client.v1.customers.create()
    assert emulator.wait_for_deliveries()

    # Then the same event was sent three times, with growing delays, and delivered once
    log = emulator.deliveries()
    assert [(entry["attempt"], entry["status"], entry["outcome"]) for entry in log] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]
    assert [entry["next_attempt_in"] for entry in log] == [0.05, 0.1, None]
    assert len({entry["event"] for entry in log}) == 1
    assert [d.status for d in receiver.deliveries] == [500, 503, 200]
    assert len({d.body for d in receiver.deliveries}) == 1  # the same payload each time


def test_a_receiver_that_is_down_ends_in_failed_deliveries() -> None:
    emulator = start_emulator(None)
    try:
        emulator.add_webhook("http://127.0.0.1:9/nobody-listens", "whsec_x")
        sdk(emulator).v1.customers.create()
        assert emulator.wait_for_deliveries()

        log = emulator.deliveries()
        assert [entry["outcome"] for entry in log] == ["retrying", "retrying", "retrying", "failed"]
        assert all(entry["status"] is None and "Error" in entry["error"] for entry in log)
    finally:
        emulator.stop()


def test_later_events_do_not_wait_for_an_earlier_ones_retries() -> None:
    receiver = Receiver(script=[500]).start()
    emulator = start_emulator(receiver, delivery=DeliveryPolicy(first_retry_seconds=0.5, max_attempts=2))
    try:
        client = sdk(emulator)
        client.v1.customers.create(params={"email": "first@example.com"})
        client.v1.customers.create(params={"email": "second@example.com"})
        assert emulator.wait_for_deliveries()

        emails = [event["data"]["object"]["email"] for event in receiver.events()]
        assert emails == ["second@example.com", "first@example.com"]
    finally:
        emulator.stop()
        receiver.stop()


def test_pending_webhooks_counts_down_as_deliveries_succeed(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    client.v1.customers.create()
    assert emulator.wait_for_deliveries()

    sent = receiver.events()[0]
    assert sent["pending_webhooks"] == 1  # as emitted, before its one endpoint answered
    assert eventually(lambda: client.v1.events.retrieve(sent["id"]).pending_webhooks == 0)


def test_chaos_delivers_every_event_twice_in_a_shuffled_order() -> None:
    receiver = Receiver().start()
    emulator = start_emulator(receiver, chaos=True, chaos_seed=7)
    try:
        client = sdk(emulator)
        customer = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": "price_pro_monthly"}],
                "default_payment_method": "pm_card_visa",
            }
        )
        assert emulator.wait_for_deliveries()

        emitted = list(reversed([event.id for event in client.v1.events.list(params={"limit": 100}).data]))
        arrived = [event["id"] for event in receiver.events()]
        assert Counter(arrived) == dict.fromkeys(emitted, 2)
        first_arrivals = list(dict.fromkeys(arrived))
        assert first_arrivals != emitted
    finally:
        emulator.stop()
        receiver.stop()


def test_chaos_can_be_switched_at_run_time(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    status, _, answer = raw(emulator, "POST", "/_local/chaos", {"enabled": "true"}, key=None)
    client.v1.customers.create()
    assert emulator.wait_for_deliveries()
    raw(emulator, "POST", "/_local/chaos", {"enabled": "false"}, key=None)
    client.v1.customers.create()
    assert emulator.wait_for_deliveries()

    assert status == 200
    assert answer == {"chaos": True}
    assert len(receiver.deliveries) == 3


# -- endpoints ------------------------------------------------------------------------------------


def test_an_endpoint_made_over_the_api_gets_its_secret_once_and_its_event_types(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    other = Receiver().start()
    try:
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": other.url, "enabled_events": ["invoice.paid", "customer.subscription.created"]}
        )
        customer = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": "price_pro_monthly"}],
                "default_payment_method": "pm_card_visa",
            }
        )
        assert emulator.wait_for_deliveries()

        assert endpoint.secret.startswith("whsec_")
        assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)
        assert other.types() == ["customer.subscription.created", "invoice.paid"]
        for delivery in other.deliveries:
            stripe.WebhookSignature.verify_header(delivery.body.decode(), delivery.signature, endpoint.secret, 300)
    finally:
        other.stop()


def test_a_deleted_or_disabled_endpoint_gets_nothing(
    emulator: StripeEmulator, client: stripe.StripeClient, receiver: Receiver
) -> None:
    endpoint = client.v1.webhook_endpoints.list().data[0]

    client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    client.v1.customers.create()
    client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": False})
    client.v1.customers.create()
    deleted = client.v1.webhook_endpoints.delete(endpoint.id)
    client.v1.customers.create()
    assert emulator.wait_for_deliveries()

    assert deleted.deleted
    assert len(receiver.deliveries) == 1


def test_an_endpoint_url_must_be_http(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.create(params={"url": "ftp://example.com", "enabled_events": ["*"]})

    assert caught.value.param == "url"


# -- the delivery log over HTTP (what `keel stripe listen` reads) ---------------------------------


def test_the_delivery_log_is_readable_and_long_polled_over_http(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    client.v1.customers.create()
    assert emulator.wait_for_deliveries()

    status, _, first = raw(emulator, "GET", "/_local/deliveries", key=None)
    last = first["deliveries"][-1]["seq"]
    client.v1.customers.create()
    _, _, later = raw(emulator, "GET", f"/_local/deliveries?after={last}&wait=5", key=None)

    assert status == 200
    assert first["deliveries"][0]["type"] == "customer.created"
    assert [entry["seq"] for entry in later["deliveries"]] == [last + 1]
    assert json.dumps(later)  # plain JSON, no secrets in it
    assert SECRET not in json.dumps(first)


def test_the_health_page(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "GET", "/_local/health", key=None)

    assert status == 200
    assert answer == {"status": "ok", "api_version": stripe.api_version, "webhooks": True}
