"""``POST /webhooks/stripe``: verified on the raw body, stored once before the 2xx, processed later."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from functions.billing import wiring
from infra.local.stripe.webhooks import sign
from keel import aws
from tests.integration.billing.support import SECRET, TABLE, Billing, types_published


def stripe_event(event_id: str = "evt_test_1", event_type: str = "customer.subscription.updated") -> bytes:
    """An event as Stripe sends it (pretty-printed JSON)."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": {"id": "sub_test_1", "object": "subscription"}},
    }
    return json.dumps(event, indent=2).encode()


def stored(event_id: str) -> bool:
    key = {"pk": {"S": f"STRIPE_EVENT#{event_id}"}, "sk": {"S": "STRIPE_EVENT"}}
    return "Item" in aws.dynamodb().get_item(TableName=TABLE, Key=key)


def queued(billing: Billing) -> int:
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=billing.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_signed_delivery_is_stored_and_queued_before_it_is_acknowledged(billing: Billing) -> None:
    body = stripe_event()
    reply = billing.deliver(body, sign(body, SECRET, int(time.time())))
    assert (reply.status, reply.body["outcome"]) == (200, "stored")
    assert stored("evt_test_1")
    assert queued(billing) == 1


#: The Stripe-Signature header of a bad delivery, made at the time the test runs.
BAD: dict[str, Callable[[int], str]] = {
    "a tampered body": lambda now: sign(b"{}", SECRET, now),
    "the wrong secret": lambda now: sign(stripe_event(), "whsec_someone_else", now),
    "older than 300 s": lambda now: sign(stripe_event(), SECRET, now - 301),
    # A minute past the tolerance: the check runs later than ``now`` (a second of rounding, a loaded machine).
    "more than 300 s in the future": lambda now: sign(stripe_event(), SECRET, now + 360),
    "no header": lambda now: "",
    "no timestamp": lambda now: "this is not a signature",
    "no v1 signature": lambda now: f"t={now}",
    "a timestamp that is not a number": lambda now: "t=soon,v1=abc",
    "another scheme only": lambda now: sign(stripe_event(), SECRET, now).replace("v1=", "v0="),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_delivery_that_does_not_verify_is_refused_and_nothing_is_kept(billing: Billing, case: str) -> None:
    reply = billing.deliver(stripe_event(), BAD[case](int(time.time())))
    assert (reply.status, reply.code) == (400, "invalid_signature")
    assert not stored("evt_test_1")
    assert queued(billing) == 0


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(billing: Billing) -> None:
    body = stripe_event()
    reply = billing.deliver(body, sign(body, SECRET, int(time.time())), base64_body=True)
    assert (reply.status, reply.body["outcome"]) == (200, "stored")
    assert stored("evt_test_1")


def test_while_a_secret_is_rolled_either_secret_verifies(billing: Billing, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two secrets configured (the old one and the new one)
    from keel import settings

    monkeypatch.setenv("KEEL_BILLING_STRIPE_WEBHOOK_SECRET", f"whsec_new_one,{SECRET}")
    settings.reset()
    old, new, now = stripe_event("evt_old"), stripe_event("evt_new"), int(time.time())
    # When Stripe signs with both (rolling), or with the old one only, or the new one only
    both = f"{sign(new, 'whsec_new_one', now)},v1={sign(new, 'whsec_retired', now).split('v1=')[1]}"
    # Then each verifies
    assert billing.deliver(old, sign(old, SECRET, now)).status == 200
    assert billing.deliver(new, both).status == 200
    assert stored("evt_old")
    assert stored("evt_new")


def test_the_same_delivery_five_times_has_one_effect(billing: Billing) -> None:
    # Given a tenant that checked out, and Stripe's deliveries of it
    tenant = billing.sign_up()
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": "pro", "interval": "monthly"}, tenant=tenant)
    from tests.integration.stripe.support import pay_checkout

    pay_checkout(billing.emulator, reply.body["url"])
    deliveries = billing.stripe_deliveries()
    # When every delivery arrives five times
    outcomes = []
    for _ in range(5):
        for delivery in deliveries:
            outcomes.append(billing.deliver(delivery.body, delivery.signature).body["outcome"])
        billing.process()
    # Then each was stored once, and the tenant's events happened once
    assert outcomes.count("stored") == 5  # the five event types billing handles in a checkout
    assert outcomes.count("duplicate") == 4 * 5
    assert types_published(tenant).count("billing.subscription.started.v1") == 2  # free, then pro
    assert types_published(tenant).count("billing.payment.succeeded.v1") == 1
    assert types_published(tenant).count("billing.invoice.issued.v1") == 1


def test_an_event_type_billing_does_not_handle_is_acknowledged_and_not_kept(billing: Billing) -> None:
    body = stripe_event("evt_product", "product.created")
    reply = billing.deliver(body, sign(body, SECRET, int(time.time())))
    assert (reply.status, reply.body["outcome"]) == (200, "ignored")
    assert not stored("evt_product")


def test_another_method_on_the_receiver_is_405_naming_post(billing: Billing) -> None:
    from functions.billing.handlers import stripe_webhook
    from tests.support.events import api_event
    from tests.support.pipeline import FakeLambdaContext

    response = stripe_webhook.handler(api_event("PUT", "/webhooks/stripe"), FakeLambdaContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 405
    assert response["multiValueHeaders"]["Allow"] == ["POST"]


def test_a_body_that_is_not_an_event_is_refused_after_its_signature(billing: Billing) -> None:
    body = b'{"hello": "world"}'
    reply = billing.deliver(body, sign(body, SECRET, int(time.time())))
    assert (reply.status, reply.code) == (400, "bad_request")


def test_a_signature_over_the_encoded_body_does_not_verify_the_decoded_one(billing: Billing) -> None:
    body = stripe_event()
    encoded = base64.b64encode(body)
    reply = billing.deliver(body, sign(encoded, SECRET, int(time.time())), base64_body=True)
    assert (reply.status, reply.code) == (400, "invalid_signature")


def test_a_stored_delivery_is_acknowledged_even_when_the_work_queue_cannot_be_reached(billing: Billing) -> None:
    # Given the work queue cannot be reached
    aws.sqs().delete_queue(QueueUrl=billing.queue_url)
    # When Stripe delivers an event
    body = stripe_event()
    reply = billing.deliver(body, sign(body, SECRET, int(time.time())))
    # Then it is kept and acknowledged (Stripe need not send it again), and waits for reconciliation
    assert (reply.status, reply.body["outcome"]) == (200, "stored")
    assert stored("evt_test_1")
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert [e.id for e in wiring._inbox(wiring.config()).unprocessed(later, limit=10)] == ["evt_test_1"]
