"""The subscription state machine: what each Stripe status entitles a tenant to, and which business
events a change means (each once)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.billing.domain.account import BillingAccount, Status, Terms
from functions.billing.domain.errors import UnknownPrice
from functions.billing.domain.overrides import Override
from functions.billing.domain.plans import Catalog
from functions.billing.domain.snapshots import SubscriptionSnapshot
from functions.billing.settings import BillingSettings

TERMS = Terms(
    Catalog.with_prices(BillingSettings(table="t", stripe_events_queue="q").price_ids), grace=timedelta(days=7)
)
T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"


def sub(status: str = "active", **changes: Any) -> SubscriptionSnapshot:
    base = SubscriptionSnapshot(
        id="sub_1",
        customer_id="cus_1",
        tenant_id=TENANT,
        status=status,
        price_id="price_pro_monthly",
        item_id="si_1",
        quantity=1,
        current_period_start=T0,
        current_period_end=T0 + 31 * DAY,
        trial_end=None,
        cancel_at_period_end=False,
        canceled_at=None,
        ended_at=None,
        cancellation_reason=None,
        latest_invoice_id="in_1",
        created=T0,
    )
    return replace(base, **changes)


def account() -> BillingAccount:
    fresh = BillingAccount.on_free_plan(TENANT, TERMS, T0 - DAY)
    return stored(fresh)


def stored(acct: BillingAccount) -> BillingAccount:
    """As the store gives it back: written (version moved on), no events pending."""
    return replace(acct.loaded(), version=acct.version + 1)


def types(acct: BillingAccount) -> list[str]:
    return [type(e).TYPE for e in acct.events]


def test_a_new_tenant_starts_on_the_free_plan_with_its_entitlements_announced() -> None:
    acct = BillingAccount.on_free_plan(TENANT, TERMS, T0)
    assert types(acct) == ["billing.subscription.started.v1", "billing.entitlements.changed.v1"]
    assert (acct.entitlements.plan, acct.entitlements.seat_limit) == ("free", 3)
    assert [(h.plan, h.status) for h in acct.new_history] == [("free", Status.ACTIVE)]


@pytest.mark.parametrize(
    ("status", "entitled"),
    [
        ("trialing", "pro"),
        ("active", "pro"),
        ("past_due", "pro"),
        ("incomplete", "free"),
        ("unpaid", "free"),
        ("paused", "free"),
    ],
)
def test_what_each_live_status_entitles_the_tenant_to(status: str, entitled: str) -> None:
    acct = account()
    acct.apply(sub(status), TERMS, T0)
    assert acct.entitled_plan(TERMS, T0) == entitled
    assert acct.entitlements.plan == entitled


def test_the_start_of_a_paid_plan_is_announced_once() -> None:
    acct = account()
    acct.apply(sub("incomplete"), TERMS, T0)
    assert "billing.subscription.started.v1" not in types(acct)
    acct.apply(sub("active"), TERMS, T0 + timedelta(minutes=1))
    assert types(acct).count("billing.subscription.started.v1") == 1
    acct = stored(acct)
    acct.apply(sub("active"), TERMS, T0 + timedelta(minutes=2))
    assert acct.events == []


def test_a_payment_late_past_the_grace_period_falls_back_to_the_free_entitlements_until_paid() -> None:
    acct = account()
    acct.apply(sub("active"), TERMS, T0)
    acct = stored(acct)
    acct.apply(sub("past_due"), TERMS, T0 + 2 * DAY)
    assert acct.entitled_plan(TERMS, T0 + 8 * DAY) == "pro"
    acct = stored(acct)
    # When the grace period is over (the dunning job's refresh)
    assert acct.refresh_entitlements(TERMS, T0 + 9 * DAY + timedelta(seconds=1))
    (changed,) = acct.events
    assert (changed.plan, changed.reason) == ("free", "payment_overdue")  # type: ignore[attr-defined]
    # And once paid, the plan applies again
    acct = stored(acct)
    acct.apply(sub("active"), TERMS, T0 + 10 * DAY)
    assert acct.entitlements.plan == "pro"
    assert acct.past_due_since is None


def test_the_end_of_a_subscription_puts_the_tenant_back_on_the_free_plan_and_says_why() -> None:
    acct = account()
    acct.apply(sub("active"), TERMS, T0)
    acct = stored(acct)
    ended = sub("canceled", canceled_at=T0 + 5 * DAY, ended_at=T0 + 5 * DAY, cancellation_reason="payment_failed")
    acct.apply(ended, TERMS, T0 + 6 * DAY)
    assert types(acct) == ["billing.subscription.canceled.v1", "billing.entitlements.changed.v1"]
    assert acct.events[0].reason == "payment_failed"  # type: ignore[attr-defined]
    assert acct.events[0].canceled_at == T0 + 5 * DAY  # type: ignore[attr-defined]
    assert (acct.plan, acct.status, acct.subscription_id, acct.ended_subscription_id) == (
        "free",
        Status.ACTIVE,
        None,
        "sub_1",
    )
    assert [(h.plan, h.status) for h in acct.new_history] == [("pro", Status.CANCELED)]


def test_a_late_word_about_an_ended_subscription_changes_nothing() -> None:
    acct = account()
    acct.apply(sub("active", id="sub_new", created=T0 + DAY), TERMS, T0 + DAY)
    acct = stored(acct)
    assert not acct.apply(sub("canceled", ended_at=T0), TERMS, T0 + 2 * DAY)
    assert (acct.subscription_id, acct.events) == ("sub_new", [])


def test_an_incomplete_subscription_that_expires_was_never_started_so_nothing_was_canceled() -> None:
    acct = account()
    acct.apply(sub("incomplete"), TERMS, T0)
    acct = stored(acct)
    acct.apply(sub("incomplete_expired", ended_at=T0 + DAY), TERMS, T0 + DAY)
    assert "billing.subscription.canceled.v1" not in types(acct)
    assert acct.plan == "free"


def test_a_new_period_is_a_renewal_and_a_new_price_a_plan_change() -> None:
    acct = account()
    acct.apply(sub("active"), TERMS, T0)
    acct = stored(acct)
    acct.apply(sub("active", current_period_start=T0 + 31 * DAY, current_period_end=T0 + 59 * DAY), TERMS, T0)
    assert types(acct) == ["billing.subscription.renewed.v1"]
    acct = stored(acct)
    acct.apply(sub("active", price_id="price_business_annual"), TERMS, T0, by="usr_x")
    assert types(acct)[0] == "billing.subscription.plan_changed.v1"
    change = acct.events[0]
    assert (change.previous_plan, change.plan, change.interval, change.changed_by) == (  # type: ignore[attr-defined]
        "pro",
        "business",
        "annual",
        "usr_x",
    )


def test_a_price_the_catalog_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownPrice):
        account().apply(sub(price_id="price_unknown"), TERMS, T0)


def test_the_end_of_a_trial_is_announced_once_per_trial() -> None:
    acct = account()
    trial = sub("trialing", trial_end=T0 + 14 * DAY)
    acct.apply(trial, TERMS, T0)
    assert acct.note_trial_ending(trial)
    assert not acct.note_trial_ending(trial)
    assert types(acct).count("billing.trial.ending.v1") == 1


def test_an_override_applies_until_it_lapses_and_each_change_is_announced_later_than_the_last() -> None:
    acct = account()
    override = Override(
        seat_limit=50,
        project_limit=None,
        features={"sso": True},
        until=T0 + DAY,
        reason="pilot",
        set_by="op",
        set_at=T0,
    )
    acct.set_override(override, TERMS, T0)
    assert (acct.entitlements.seat_limit, acct.entitlements.features["sso"]) == (50, True)
    assert acct.effective_entitlements(TERMS, T0 + 2 * DAY).seat_limit == 3  # lapsed on read already
    first = acct.entitlements_at
    acct = stored(acct)
    assert acct.lapse_override(TERMS, T0 + DAY)
    (lapsed,) = acct.events
    assert (lapsed.reason, lapsed.seat_limit) == ("override_lapsed", 3)  # type: ignore[attr-defined]
    assert lapsed.effective_at > first  # type: ignore[attr-defined]
