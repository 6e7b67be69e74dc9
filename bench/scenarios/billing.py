"""Billing's routes and its Stripe webhook path, driven as a client and Stripe would: an owner signs up,
checks out Pro on the local Stripe's page, changes plan, reads invoices and history, refunds, cancels
now; then Stripe delivers an event (``receive``) and the processor applies it (``process``)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bench.harness import Harness, wait_for
from bench.requests import Step
from infra.local.pollers import QueuePoller
from infra.local.runtime import LOCAL_STRIPE_WEBHOOK_SECRET
from infra.local.stripe.webhooks import sign
from infra.model import Context


def _billing(h: Harness) -> Context:
    """Billing as the running runtime names it (for its stage)."""
    return h.runtime.topology.context("billing")


def _work_queue(h: Harness) -> str:
    ctx = _billing(h)
    return ctx.queue_name(next(s for s in ctx.subscriptions if s.is_work_queue))


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}
    runtime = h.runtime
    assert runtime.stripe is not None, "billing's scenario needs keel dev's Stripe emulator"

    def owner() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"]}

    def sign_up() -> None:
        s["token"] = h.token("bench-billing@example.com")
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Billing"}, signed_in)["id"]
        # Billing provisions the free plan from identity's event: let it, so the steps measure alone.
        wait_for(lambda: _account(h, s["tenant"]) is not None, "the free plan's provisioning")

    def subscription() -> dict[str, Any]:
        return dict(h.expect(200, "GET", "/v1/billing/subscription", None, owner()))

    def pay() -> None:
        # The payer presses Pay on the checkout page; Stripe's webhooks reach billing in the background.
        stripe = runtime.stripe
        assert stripe is not None
        path = urlsplit(s["checkout"]).path
        form = {"content-type": "application/x-www-form-urlencoded"}
        paid = stripe.app.handle("POST", path, form, b"card=4242424242424242")
        assert paid.status == 303, paid
        wait_for(lambda: subscription()["plan"] == "pro", "the checkout's webhooks")

    def settled() -> None:
        stripe = runtime.stripe
        assert stripe is not None
        stripe.wait_for_deliveries(30)
        wait_for(lambda: _queue_empty(h), "billing's Stripe events processed")
        s["invoice"] = h.expect(200, "GET", "/v1/billing/invoices", None, owner())["items"][0]["id"]

    def poller() -> QueuePoller:
        return next(p for p in runtime.loops if isinstance(p, QueuePoller) and p.name == _work_queue(h))

    def stop_processing() -> None:
        # For these two steps the bench is the processor: the poller would take the message first.
        settled()
        poller().stop()
        poller().join(10)

    def deliver() -> None:
        sub_id = _subscription_id(h, s["tenant"])
        now = int(time.time())
        event = {
            "id": f"evt_bench_{now}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": now,
            "livemode": False,
            "type": "customer.subscription.updated",
            "data": {"object": {"id": sub_id, "object": "subscription"}},
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }
        signature = sign(json.dumps(event).encode(), LOCAL_STRIPE_WEBHOOK_SECRET, now)
        answer = h.expect(200, "POST", "/webhooks/stripe", event, {"Stripe-Signature": signature})
        assert answer["outcome"] == "stored", answer

    def process() -> None:
        from functions.billing.handlers import stripe_events
        from infra.local.shapes import sqs_record

        clients = runtime.clients
        assert clients is not None
        url = clients.sqs.get_queue_url(QueueName=_work_queue(h))["QueueUrl"]
        messages = clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        arn = f"arn:aws:sqs:{runtime.region}:123456789012:{_work_queue(h)}"
        event = {"Records": [sqs_record(m, queue_arn=arn, region=runtime.region) for m in messages]}
        result = h.as_api(lambda: stripe_events.handler(event, _Context()))  # type: ignore[arg-type]
        assert result == {"batchItemFailures": []}, result
        clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        poller().restart()

    today = datetime.now(UTC).date().isoformat()
    return [
        Step("GET /v1/billing/plans", "read", lambda: h.expect(200, "GET", "/v1/billing/plans"), prepare=sign_up),
        Step("GET /v1/billing/subscription", "read", subscription),
        Step(
            "POST /v1/billing/checkout (the first: the Stripe customer)",
            "write",
            lambda: s.update(checkout=h.expect(201, "POST", "/v1/billing/checkout", {"plan": "pro"}, owner())["url"]),
        ),
        Step(
            "POST /v1/billing/portal",
            "read",
            lambda: h.expect(201, "POST", "/v1/billing/portal", None, owner()),
            prepare=pay,
        ),
        Step(
            "POST /v1/billing/subscription/preview",
            "read",
            lambda: h.expect(200, "POST", "/v1/billing/subscription/preview", {"plan": "business"}, owner()),
        ),
        Step(
            "POST /v1/billing/subscription/change",
            "write",
            lambda: h.expect(200, "POST", "/v1/billing/subscription/change", {"plan": "business"}, owner()),
        ),
        Step(
            "GET /v1/billing/invoices",
            "read",
            lambda: h.expect(200, "GET", "/v1/billing/invoices", None, owner()),
            prepare=settled,
        ),
        Step(
            "GET /v1/billing/invoices/{invoice_id}",
            "read",
            lambda: h.expect(200, "GET", f"/v1/billing/invoices/{s['invoice']}", None, owner()),
        ),
        Step(
            "GET /v1/billing/subscription/history",
            "read",
            lambda: h.expect(200, "GET", "/v1/billing/subscription/history", None, owner()),
        ),
        Step(
            "GET /v1/billing/subscription/history?at=",
            "read",
            lambda: h.expect(200, "GET", f"/v1/billing/subscription/history?at={today}", None, owner()),
        ),
        Step(
            "GET /v1/billing/subscription/cancel-preview",
            "read",
            lambda: h.expect(200, "GET", "/v1/billing/subscription/cancel-preview", None, owner()),
        ),
        Step(
            "POST /v1/billing/refunds (Idempotency-Key)",
            "write",
            lambda: h.expect(
                201,
                "POST",
                "/v1/billing/refunds",
                {"invoice_id": s["invoice"], "amount": 100, "reason": "duplicate"},
                {**owner(), "Idempotency-Key": f"bench-{time.time()}"},
            ),
        ),
        Step(
            "POST /v1/billing/subscription/cancel (now, prorated)",
            "write",
            lambda: h.expect(
                200, "POST", "/v1/billing/subscription/cancel", {"when": "now", "refund": "prorated"}, owner()
            ),
        ),
        Step("POST /webhooks/stripe (receive)", "receive", deliver, prepare=stop_processing),
        Step("the Stripe event's processing (process)", "process", process),
    ]


class _Context:
    function_name = "keel-local-billing-stripe-events"  # a Lambda context's name only: nothing is looked up by it
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _queue_empty(h: Harness) -> bool:
    clients = h.runtime.clients
    assert clients is not None
    url = clients.sqs.get_queue_url(QueueName=_work_queue(h))["QueueUrl"]
    attributes = clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def _account(h: Harness, tenant: str) -> dict[str, Any] | None:
    clients = h.runtime.clients
    assert clients is not None
    key = {"pk": {"S": f"TENANT#{tenant}"}, "sk": {"S": "ACCOUNT"}}
    found: dict[str, Any] | None = clients.dynamodb.get_item(TableName=_billing(h).table_name, Key=key).get("Item")
    return found


def _subscription_id(h: Harness, tenant: str) -> str:
    item = _account(h, tenant)
    assert item is not None
    found = item.get("subscription_id") or item.get("ended_subscription_id")
    assert found is not None, item
    assert re.match(r"^sub_", found["S"]), item
    return str(found["S"])
