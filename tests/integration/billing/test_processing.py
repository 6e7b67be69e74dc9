"""Processing Stripe's events: whatever their order, however often, and through Stripe's outages,
billing ends up holding what Stripe holds."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from functions.billing import wiring
from functions.billing.domain.upkeep import Reconciliation
from infra.local.stripe.webhooks import sign
from keel import aws
from keel.clock import FixedClock, SystemClock
from keel.store import from_attributes, to_attributes
from tests.integration.billing.support import SECRET, TABLE, Billing, items_of, published, types_published
from tests.integration.stripe.support import Delivery, pay_checkout

CHECKOUT_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "invoice.finalized",
    "invoice.paid",
)


def table_items() -> list[dict[str, Any]]:
    return [from_attributes(i) for i in aws.dynamodb().scan(TableName=TABLE)["Items"]]


def restore(snapshot: list[dict[str, Any]]) -> None:
    """Put the table back as it was (a test-only rewind: scan, then delete and put in batches)."""
    ddb = aws.dynamodb()
    requests = [{"DeleteRequest": {"Key": to_attributes({"pk": i["pk"], "sk": i["sk"]})}} for i in table_items()]
    requests += [{"PutRequest": {"Item": to_attributes(item)}} for item in snapshot]
    deletes, puts = requests[: len(requests) - len(snapshot)], requests[len(requests) - len(snapshot) :]
    for batch in (deletes, puts):
        for start in range(0, len(batch), 25):
            ddb.batch_write_item(RequestItems={TABLE: batch[start : start + 25]})


def state_of(tenant: str) -> tuple[Any, ...]:
    """What the tenant's billing holds, without ids and times that differ between runs."""
    found = items_of(tenant)
    account = next(i for i in found if i["sk"] == "ACCOUNT")
    invoices = sorted((i["id"], i["status"], i["amount_paid"]) for i in found if str(i["sk"]).startswith("INVOICE#"))
    events = sorted(json.loads(i["event"])["type"] for i in found if str(i["sk"]).startswith("OUTBOX#"))
    fields = ("plan", "interval", "status", "subscription_id", "current_period_end", "customer_id", "entitlements")
    return tuple(json.dumps(account.get(f), sort_keys=True) for f in fields), tuple(invoices), tuple(events)


def resigned(delivery: Delivery) -> tuple[bytes, str]:
    return delivery.body, sign(delivery.body, SECRET, int(time.time()))


def test_the_checkout_events_in_stripes_order_or_reversed_end_in_the_same_state_on_the_table(
    billing: Billing,
) -> None:
    # Given a tenant whose payer completed Checkout: Stripe sent its events, billing has not heard yet
    tenant = billing.sign_up()
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": "pro", "interval": "monthly"}, tenant=tenant)
    before = table_items()
    pay_checkout(billing.emulator, reply.body["url"])
    deliveries = [d for d in billing.stripe_deliveries() if d.event["type"] in CHECKOUT_EVENTS]
    finals = set()
    # When they arrive through the webhook, the queue and the table as sent, and in the reverse order
    # (every one of the 120 orders is run on in-memory storage: test_orders.py)
    for order in (deliveries, list(reversed(deliveries))):
        restore(before)
        for delivery in order:
            billing.deliver(*resigned(delivery))
            billing.process()
        finals.add(state_of(tenant))
    # Then the final state is the same: Stripe's, each fact announced once
    (final,) = finals
    (plan, interval, status, *_), invoices, events = final
    assert (plan, interval, status) == ('"pro"', '"monthly"', '"active"')
    assert [status for _, status, _ in invoices] == ["paid"]
    assert events.count("billing.subscription.started.v1") == 2  # the free plan's, then pro's
    assert events.count("billing.payment.succeeded.v1") == 1


def test_two_updates_in_the_same_second_end_as_stripe_holds_them_in_either_order(billing: Billing) -> None:
    # Given a pro subscription, then two changes at Stripe within one second
    tenant = billing.sign_up()
    billing.checkout(tenant)
    sub_id = items_of_account(tenant)["subscription_id"]
    billing.stripe.v1.subscriptions.update(sub_id, params={"metadata": {"note": "first"}})
    billing.stripe.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    updates = [d for d in billing.stripe_deliveries() if d.event["type"] == "customer.subscription.updated"]
    assert len(updates) == 2
    assert updates[0].event["created"] - updates[1].event["created"] in (-1, 0)
    before = table_items()
    for order in (updates, list(reversed(updates))):
        restore(before)
        # When they arrive in this order
        for delivery in order:
            billing.deliver(*resigned(delivery))
            billing.process()
        # Then billing holds what Stripe holds: the cancellation at the period's end
        reply = billing.call("GET", "/v1/billing/subscription", tenant=tenant)
        assert (reply.body["plan"], reply.body["cancel_at_period_end"]) == ("pro", True)


def items_of_account(tenant: str) -> dict[str, Any]:
    return next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")


def dead_letters(billing: Billing) -> list[dict[str, Any]]:
    sqs = aws.sqs()
    url = billing.queue_url.replace("stripe-events", "stripe-events-dlq")
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"status": None, "delay": 1.5}], ids=["Stripe answers 500", "Stripe times out"]
)
def test_stripe_failing_while_processing_retries_then_dead_letters_and_reconciliation_recovers(
    billing: Billing, fault: dict[str, Any]
) -> None:
    # Given a paying tenant whose plan is changed at Stripe (in the portal, say)
    tenant = billing.sign_up()
    billing.checkout(tenant)
    sub_id = items_of_account(tenant)["subscription_id"]
    item = billing.stripe.v1.subscriptions.retrieve(sub_id)["items"].data[0]
    billing.stripe.v1.subscriptions.update(
        sub_id, params={"items": [{"id": item.id, "price": "price_business_monthly"}]}
    )
    billing.deliver_all(billing.stripe_deliveries())
    # When Stripe fails every read while the events are processed
    billing.emulator.inject_fault(fault["status"], count=1000, path="/v1/", delay=fault.get("delay", 0.0))
    responses = billing.process(rounds=10)
    billing.emulator.app.controls.faults.clear()
    # Then each message was tried five times, then moved to the dead-letter queue; nothing changed
    assert len(responses) == 5
    assert all(r["batchItemFailures"] for r in responses)
    assert dead_letters(billing)
    assert items_of_account(tenant)["plan"] == "pro"
    # And once Stripe is back, reconciliation (15 minutes on) processes the stuck events
    later = FixedClock(SystemClock().now() + timedelta(minutes=16))
    reconciliation = Reconciliation(
        inbox=wiring._inbox(wiring.config()),
        accounts=wiring.accounts(),
        ledger=wiring.ledger(),
        stripe=wiring._stripe(wiring.config()),
        processor=wiring.stripe_events(),
        terms=wiring._terms(wiring.config()),
        clock=later,
    )
    outcomes = reconciliation.reprocess_stuck()
    assert outcomes
    assert items_of_account(tenant)["plan"] == "business"
    assert "billing.subscription.plan_changed.v1" in types_published(tenant)
    assert reconciliation.reprocess_stuck() == []


def test_an_event_of_another_api_version_is_processed_by_fetching_at_the_pinned_one(billing: Billing) -> None:
    # Given a paying tenant, and an update Stripe sends in an older API version's shape
    tenant = billing.sign_up()
    billing.checkout(tenant)
    sub_id = items_of_account(tenant)["subscription_id"]
    billing.stripe.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    (update,) = [d for d in billing.stripe_deliveries() if d.event["type"] == "customer.subscription.updated"]
    old = {**update.event, "id": "evt_old_version", "api_version": "2024-06-20"}
    old["data"] = {"object": {"id": sub_id, "object": "subscription", "plan": {"id": "legacy"}}}
    body = json.dumps(old).encode()
    # When it arrives and is processed
    assert billing.deliver(body).status == 200
    outcome = wiring.stripe_events().process("evt_old_version")
    # Then it is flagged, and applied as Stripe holds the subscription now
    assert outcome.api_version_differs
    assert items_of_account(tenant)["cancel_at_period_end"] is True


def test_under_chaos_every_event_twice_and_shuffled_each_fact_happens_once(billing: Billing) -> None:
    # Given the local Stripe delivering every event twice, in a shuffled order
    billing.emulator.set_chaos(True)
    try:
        # When a tenant checks out Pro, moves to Business at Stripe (the portal, say), then cancels there
        tenant = billing.sign_up()
        billing.checkout(tenant)
        sub_id = items_of_account(tenant)["subscription_id"]
        item = billing.stripe.v1.subscriptions.retrieve(sub_id)["items"].data[0]
        billing.stripe.v1.subscriptions.update(
            sub_id, params={"items": [{"id": item.id, "price": "price_business_monthly"}]}
        )
        billing.sync()
        billing.stripe.v1.subscriptions.cancel(sub_id)
        billing.sync()
    finally:
        billing.emulator.set_chaos(False)
    # Then Stripe did send duplicates, and billing recorded each fact once and ended where Stripe is
    ids = [d.event["id"] for d in billing.receiver.deliveries]
    assert len(ids) > len(set(ids))
    types = types_published(tenant)
    assert types.count("billing.subscription.started.v1") == 2  # the free plan's, then pro's
    assert types.count("billing.subscription.plan_changed.v1") == 1
    assert types.count("billing.subscription.canceled.v1") == 1
    assert types.count("billing.payment.succeeded.v1") == 1
    account = items_of_account(tenant)
    assert (account["plan"], account["status"]) == ("free", "active")


def test_a_disputed_charge_is_recorded_once_against_the_invoice_it_paid(billing: Billing) -> None:
    # Given a tenant that checked out with a card whose charge its bank then disputes
    tenant = billing.sign_up()
    billing.checkout(tenant, card="4000000000000259")
    # When Stripe's word on the dispute arrives again
    (dispute,) = [d for d in billing.receiver.deliveries if d.event["type"] == "charge.dispute.created"]
    assert billing.deliver(*resigned(dispute)).body["outcome"] == "duplicate"
    billing.process()
    # Then billing holds one dispute, of the whole payment, against the paid invoice
    (invoice,) = [i for i in items_of(tenant) if str(i["sk"]).startswith("INVOICE#")]
    (held,) = [i for i in items_of(tenant) if str(i["sk"]).startswith("DISPUTE#")]
    assert (held["invoice_id"], held["amount"], held["currency"]) == (invoice["id"], invoice["amount_paid"], "usd")
    assert (held["reason"], held["status"]) == ("fraudulent", "needs_response")


def test_a_refund_made_at_stripe_is_recorded_and_announced_once_and_counts_against_the_remainder(
    billing: Billing,
) -> None:
    # Given a paying tenant, and a refund of 10.00 made at Stripe (in its dashboard, say)
    tenant = billing.sign_up()
    billing.checkout(tenant)
    customer = billing.account_customer(tenant)
    (charge,) = billing.stripe.v1.charges.list(params={"customer": customer}).data
    billing.stripe.v1.refunds.create(params={"charge": charge.id, "amount": 1000})
    # When Stripe's word on it arrives, twice
    (refunded,) = [d for d in billing.stripe_deliveries() if d.event["type"] == "charge.refunded"]
    for _ in range(2):
        billing.deliver(*resigned(refunded))
        billing.process()
    # Then it is recorded and announced once, made by no owner of ours
    (issued,) = published(tenant, "billing.refund.issued.v1")
    assert (issued["payload"]["amount"], issued["payload"]["issued_by"]) == (1000, None)
    (invoice,) = billing.call("GET", "/v1/billing/invoices", tenant=tenant).body["items"]
    assert invoice["amount_refunded"] == 1000
    # And an owner can refund only what is left
    body = {"invoice_id": invoice["id"], "amount": 2000, "reason": "duplicate"}
    too_much = billing.call("POST", "/v1/billing/refunds", body, tenant=tenant, headers={"Idempotency-Key": "k"})
    assert (too_much.status, too_much.body["error"]["details"]["refundable"]) == (422, 1900)
