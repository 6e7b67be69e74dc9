"""Billing under moto with the local Stripe emulator over HTTP: a client of its API, Stripe's
deliveries recorded as Stripe sent them and handed to the real webhook function, and the real
processor fed from the real work queue.

``Billing.sync()`` is what Stripe and AWS do between two requests: deliver every event Stripe sent
(to ``POST /webhooks/stripe``), then run the processor on the queue until it is empty."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import stripe

from functions.billing.handlers import api, on_tenant_created, stripe_events, stripe_webhook
from infra.local.stripe import StripeEmulator
from infra.local.stripe.webhooks import sign
from keel import aws, ids
from keel.store import OUTBOX_PREFIX, from_attributes
from tests.integration.stripe.support import Delivery, Receiver
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.pipeline import FakeLambdaContext, eventbridge_message, sqs_event
from tests.support.staged import STAGED

CONTEXT = STAGED.context("billing")
TABLE = CONTEXT.table_name
QUEUE = CONTEXT.queue_name(next(s for s in CONTEXT.subscriptions if s.is_work_queue))
SECRET = "whsec_billing_tests"
VISA = "4242424242424242"
API_KEY = "sk_test_billing_tests"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


def new_tenant() -> str:
    return ids.new_id("ten")


@dataclass
class Billing:
    emulator: StripeEmulator
    receiver: Receiver
    queue_url: str
    delivered: int = 0
    user_id: str = "usr_01JD0000000000000000000000"
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stripe(self) -> stripe.StripeClient:
        return stripe.StripeClient(API_KEY, base_addresses={"api": self.emulator.url}, max_network_retries=0)

    # -- the API --------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        tenant: str,
        role: str = "owner",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        caller = authorizer_context(tenant_id=tenant, role=role, user_id=self.user_id)
        caller["email"] = "owner@example.com"
        event = api_event(method, path, body=body, headers=headers, query=query, authorizer=caller)
        response = api.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
        return Reply(int(response["statusCode"]), response_json(response))

    def sign_up(self, tenant: str | None = None, *, event_id: str | None = None) -> str:
        """A tenant as identity announces it: billing provisions its free plan from the event."""
        tenant = tenant or new_tenant()
        envelope = {
            "id": event_id or ids.new_id("evt"),
            "type": "identity.tenant.created.v1",
            "tenant_id": tenant,
            "aggregate_id": tenant,
            "occurred_at": "2026-01-01T00:00:00.000Z",
            "correlation_id": "test",
            "payload": {
                "tenant_id": tenant,
                "name": "Acme",
                "slug": f"acme-{tenant[-6:].lower()}",
                "owner_user_id": self.user_id,
                "owner_email": "owner@example.com",
            },
        }
        body = eventbridge_message(envelope, detail_type=envelope["type"], source="keel.identity")
        message = {"MessageId": envelope["id"], "ReceiptHandle": "r", "Body": body, "MD5OfBody": "x", "Attributes": {}}
        result = on_tenant_created.handler(sqs_event([message]), FakeLambdaContext())  # type: ignore[arg-type]
        assert result == {"batchItemFailures": []}, result
        return tenant

    def checkout(
        self, tenant: str, plan: str = "pro", interval: str = "monthly", card: str = "4242424242424242"
    ) -> None:
        """The admin asks for Checkout, the payer presses Pay on the emulator's page, Stripe tells billing."""
        from tests.integration.stripe.support import pay_checkout

        reply = self.call("POST", "/v1/billing/checkout", {"plan": plan, "interval": interval}, tenant=tenant)
        assert reply.status == 201, reply
        status, _ = pay_checkout(self.emulator, reply.body["url"], card=card)
        assert status == 303
        self.sync()

    def account_customer(self, tenant: str) -> str:
        item = aws.dynamodb().get_item(TableName=TABLE, Key={"pk": {"S": f"TENANT#{tenant}"}, "sk": {"S": "ACCOUNT"}})[
            "Item"
        ]
        return str(item["customer_id"]["S"])

    # -- Stripe's deliveries -------------------------------------------------------------------

    def stripe_deliveries(self) -> list[Delivery]:
        """Every delivery Stripe made since the last call, in the order they arrived."""
        assert self.emulator.wait_for_deliveries(15), "Stripe still has deliveries in flight"
        with self.receiver.lock:
            new = self.receiver.deliveries[self.delivered :]
            self.delivered = len(self.receiver.deliveries)
        return new

    def deliver(self, body: bytes, signature: str | None = None, *, base64_body: bool = False) -> Reply:
        """``POST /webhooks/stripe`` as API Gateway passes Stripe's request on (signed now unless given)."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        signature = signature if signature is not None else sign(body, SECRET, int(time.time()))
        if signature:
            headers["Stripe-Signature"] = signature
        event = api_event("POST", "/webhooks/stripe", body=body.decode(), headers=headers)
        if base64_body:
            import base64

            event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
        response = stripe_webhook.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
        return Reply(int(response["statusCode"]), response_json(response))

    def deliver_all(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            reply = self.deliver(delivery.body, delivery.signature)
            assert reply.status == 200, reply

    def process(self, *, rounds: int = 20) -> list[dict[str, Any]]:
        """Run the processor on the work queue, as Lambda's SQS mapping does, until it is empty.
        Returns the batch responses."""
        responses = []
        sqs = aws.sqs()
        for _ in range(rounds):
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            result = stripe_events.handler(sqs_event(messages), FakeLambdaContext())  # type: ignore[arg-type]
            responses.append(result)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return responses

    def sync(self) -> None:
        """Deliver what Stripe sent, then process it."""
        self.deliver_all(self.stripe_deliveries())
        self.process()


# -- reading what billing wrote ----------------------------------------------------------------------


def items_of(tenant: str) -> list[dict[str, Any]]:
    """The tenant's partition (a test-only Query)."""
    found = aws.dynamodb().query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}"}},
    )["Items"]
    return [from_attributes(i) for i in found]


def published(tenant: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The tenant's outbox, oldest first (optionally one type)."""
    events = [json.loads(i["event"]) for i in items_of(tenant) if str(i["sk"]).startswith(OUTBOX_PREFIX)]
    events.sort(key=lambda e: e["id"])
    return [e for e in events if event_type is None or e["type"] == event_type]


def types_published(tenant: str) -> list[str]:
    return [e["type"] for e in published(tenant)]
