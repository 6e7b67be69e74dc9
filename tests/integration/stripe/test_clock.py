"""Test clocks: renewals, trials and dunning over months, in the order Stripe does them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe

from infra.local.stripe import StripeEmulator
from infra.local.stripe.periods import add_interval
from tests.integration.stripe.support import (
    DAY,
    JAN_1_2030,
    advance,
    clock_customer,
    event_types,
    fail_next_payments,
    sdk,
    start_emulator,
    subscribe,
)

HOUR = 3600
RENEWAL = [
    "invoice.created",
    "customer.subscription.updated",
    "invoice.finalized",
    "payment_intent.created",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice_payment.paid",
    "invoice.paid",
    "invoice.payment_succeeded",
]
FAILED_ATTEMPT = ["charge.failed", "payment_intent.payment_failed", "invoice.payment_failed"]


def month(n: int) -> int:
    """The first of the month ``n`` months after January 2030."""
    return add_interval(JAN_1_2030, "month", n)


def test_a_year_of_monthly_renewals_gives_twelve_paid_invoices(client: stripe.StripeClient) -> None:
    # Given Pro monthly from 1 January 2030
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)

    # When the clock walks a year, a month at a time (Stripe allows two intervals per advance)
    for n in range(1, 12):
        advance(client, clock.id, month(n) + 2 * HOUR)

    # Then there are twelve paid invoices, one per month, each for the month it starts
    invoices = list(reversed(client.v1.invoices.list(params={"customer": customer.id, "limit": 100}).data))
    assert len(invoices) == 12
    assert all(invoice.status == "paid" and invoice.amount_paid == 2900 for invoice in invoices)
    assert [invoice.lines.data[0].period.start for invoice in invoices] == [month(n) for n in range(12)]
    assert [invoice.billing_reason for invoice in invoices] == ["subscription_create"] + ["subscription_cycle"] * 11
    assert len({invoice.number for invoice in invoices}) == 12
    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (month(11), month(12))
    renewals = event_types(client, type="invoice.paid")
    assert len(renewals) == 12


def test_a_renewal_is_a_draft_for_an_hour_then_finalized_and_paid(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    before = len(event_types(client))

    advance(client, clock.id, month(1))
    draft = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    advance(client, clock.id, month(1) + HOUR)
    paid = client.v1.invoices.retrieve(draft.id)

    assert draft.status == "draft"
    assert draft.automatically_finalizes_at == month(1) + HOUR
    assert (draft.period_start, draft.period_end) == (month(0), month(1))  # the period that ended
    assert paid.status == "paid"
    assert paid.status_transitions.finalized_at == month(1) + HOUR
    assert event_types(client)[before:] == [
        "test_helpers.test_clock.advancing",
        "invoice.created",
        "customer.subscription.updated",
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.advancing",
        *RENEWAL[2:],
        "test_helpers.test_clock.ready",
    ]


def test_a_month_end_anchor_renews_on_the_last_day_of_short_months(client: stripe.StripeClient) -> None:
    jan_31 = JAN_1_2030 + 30 * DAY
    clock, customer = clock_customer(client, start=jan_31)
    sub = subscribe(client, customer.id)

    advance(client, clock.id, jan_31 + 40 * DAY)

    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    starts = datetime.fromtimestamp(item.current_period_start, UTC)
    ends = datetime.fromtimestamp(item.current_period_end, UTC)
    assert (starts.month, starts.day, ends.month, ends.day) == (2, 28, 3, 31)


def test_a_trial_warns_three_days_before_and_then_bills(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id, trial_period_days=14)
    assert sub.status == "trialing"

    advance(client, clock.id, JAN_1_2030 + 11 * DAY - 1)
    assert "customer.subscription.trial_will_end" not in event_types(client)
    advance(client, clock.id, JAN_1_2030 + 11 * DAY)
    warned = event_types(client)
    advance(client, clock.id, JAN_1_2030 + 14 * DAY + 2 * HOUR)

    after = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert warned[-2:] == ["customer.subscription.trial_will_end", "test_helpers.test_clock.ready"]
    assert after.status == "active"
    assert after["items"].data[0].current_period_start == JAN_1_2030 + 14 * DAY
    assert after.latest_invoice.status == "paid"
    assert after.latest_invoice.amount_paid == 2900
    trial_invoice = client.v1.invoices.list(params={"subscription": sub.id}).data[-1]
    assert trial_invoice.amount_due == 0
    assert trial_invoice.lines.data[0].description == "Trial period for Pro"


def test_a_trial_without_a_card_can_cancel_itself(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1_2030})
    customer = client.v1.customers.create(params={"test_clock": clock.id})
    sub = subscribe(
        client,
        customer.id,
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "cancel"}},
    )

    advance(client, clock.id, JAN_1_2030 + 8 * DAY)

    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_a_failed_renewal_is_recovered_by_the_first_retry(client: stripe.StripeClient) -> None:
    # Given a renewal whose first attempt fails
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    fail_next_payments(client, customer.id, 1)
    before = len(event_types(client))
    advance(client, clock.id, month(1) + 2 * HOUR)
    failed = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)

    # When the retry comes three days later
    advance(client, clock.id, month(1) + HOUR + 3 * DAY)

    # Then the subscription went past_due and came back
    assert failed.status == "open"
    assert failed.attempt_count == 1
    assert failed.next_payment_attempt == month(1) + HOUR + 3 * DAY
    recovered = client.v1.invoices.retrieve(failed.id)
    assert recovered.status == "paid"
    assert recovered.attempt_count == 2
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    billing = [t for t in event_types(client)[before:] if not t.startswith("test_helpers")]
    assert billing == [
        "invoice.created",
        "customer.subscription.updated",
        "invoice.finalized",
        "payment_intent.created",
        *FAILED_ATTEMPT,
        "customer.subscription.updated",  # active -> past_due
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",  # past_due -> active
    ]


def test_a_renewal_never_paid_goes_past_due_then_canceled(client: stripe.StripeClient) -> None:
    # Given a card that keeps failing from the first renewal on
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    fail_next_payments(client, customer.id, 10)
    before = len(event_types(client))

    # When every retry (3, 5 and 7 days after the previous attempt) has failed
    advance(client, clock.id, month(1) + 2 * HOUR)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    advance(client, clock.id, month(1) + HOUR + 16 * DAY)

    # Then the subscription is canceled for non-payment, after four attempts
    ended = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(ended.latest_invoice)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_failed"
    assert ended.ended_at == month(1) + HOUR + 15 * DAY
    assert invoice.status == "open"
    assert invoice.attempt_count == 4
    assert invoice.next_payment_attempt is None
    billing = [t for t in event_types(client)[before:] if not t.startswith("test_helpers")]
    assert billing == [
        "invoice.created",
        "customer.subscription.updated",
        "invoice.finalized",
        "payment_intent.created",
        *FAILED_ATTEMPT,
        "customer.subscription.updated",
        *FAILED_ATTEMPT * 3,
        "customer.subscription.deleted",
    ]


def test_the_final_failure_can_leave_it_unpaid_instead() -> None:
    emulator = start_emulator(None, after_final_failure="unpaid")
    try:
        client = sdk(emulator)
        clock, customer = clock_customer(client)
        sub = subscribe(client, customer.id)
        fail_next_payments(client, customer.id, 10)

        advance(client, clock.id, month(1) + HOUR + 16 * DAY)
        advance(client, clock.id, month(2) + 2 * HOUR)

        assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
        latest = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
        assert latest.status == "draft"
        assert not latest.auto_advance
    finally:
        emulator.stop()


def test_an_invoice_paid_by_hand_ends_past_due(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    fail_next_payments(client, customer.id, 1)
    advance(client, clock.id, month(1) + 2 * HOUR)

    paid = client.v1.invoices.pay(client.v1.subscriptions.retrieve(sub.id).latest_invoice)

    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_paying_with_a_declined_card_is_402(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    sub = subscribe(client, customer.id)
    fail_next_payments(client, customer.id, 2)
    advance(client, clock.id, month(1) + 2 * HOUR)

    with pytest.raises(stripe.CardError) as caught:
        client.v1.invoices.pay(client.v1.subscriptions.retrieve(sub.id).latest_invoice)

    assert caught.value.http_status == 402
    assert caught.value.json_body["error"]["decline_code"] == "generic_decline"


def test_an_off_session_renewal_that_needs_authentication(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client, card="pm_card_authenticationRequired")
    sub = subscribe(client, customer.id, payment_behavior="default_incomplete")
    client.v1.invoices.pay(sub.latest_invoice, params={"payment_method": "pm_card_visa"})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": "pm_card_authenticationRequired"})

    advance(client, clock.id, month(1) + 2 * HOUR)

    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert "invoice.payment_action_required" in event_types(client)


# -- the clock itself ----------------------------------------------------------------------------


def test_a_clock_cannot_go_back_or_jump_more_than_two_intervals(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    subscribe(client, customer.id)

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN_1_2030 - 1})
    with pytest.raises(stripe.InvalidRequestError) as too_far:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": month(2) + 1})

    assert too_far.value.param == "frozen_time"
    assert advance(client, clock.id, month(2)).frozen_time == month(2)


def test_a_clock_holds_at_most_three_customers(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1_2030})
    for _ in range(3):
        client.v1.customers.create(params={"test_clock": clock.id})

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"test_clock": clock.id})


def test_deleting_a_clock_deletes_its_customers(client: stripe.StripeClient) -> None:
    clock, customer = clock_customer(client)
    subscribe(client, customer.id)

    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)

    assert deleted.deleted
    assert client.v1.customers.retrieve(customer.id).deleted
    assert client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data == []


def test_objects_on_a_clock_live_at_its_time(client: stripe.StripeClient, emulator: StripeEmulator) -> None:
    clock, customer = clock_customer(client)

    sub = subscribe(client, customer.id)
    other = client.v1.customers.create()

    assert customer.created == sub.created == JAN_1_2030
    assert abs(other.created - int(datetime.now(UTC).timestamp())) < 60
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready"
    assert emulator.wait_for_clock(clock.id)["status"] == "ready"
