"""Billing's scheduled jobs on the real table: dunning, lapsed overrides, reconciliation with Stripe."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from functions.billing import wiring
from functions.billing.domain.entitlements import EntitlementsService
from functions.billing.domain.ports import Changes
from functions.billing.domain.snapshots import SubscriptionSnapshot
from functions.billing.domain.upkeep import Dunning
from functions.billing.handlers import dunning, lapse_overrides, reconcile
from keel import settings
from keel.clock import FixedClock, SystemClock
from keel.tenancy import Caller
from tests.integration.billing.support import Billing, items_of, published
from tests.integration.stripe.support import advance, fail_next_payments
from tests.support.pipeline import FakeLambdaContext

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
OPERATOR = Caller(user_id="usr_operator", operator=True)


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def account_item(tenant: str) -> dict[str, object]:
    return next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")


def clock_of(billing: Billing, tenant: str) -> tuple[str, int]:
    customer = billing.stripe.v1.customers.retrieve(billing.account_customer(tenant))
    clock = billing.stripe.v1.test_helpers.test_clocks.retrieve(customer.test_clock)
    return clock.id, clock.frozen_time


def dunning_at(at: datetime) -> Dunning:
    cfg = wiring.config()
    return Dunning(wiring.accounts(), wiring.ledger(), wiring._terms(cfg), clock=FixedClock(at))


def test_a_payment_late_past_the_grace_period_falls_back_to_free_and_says_so(billing: Billing, on_clocks: None) -> None:
    # Given a Pro tenant whose renewal payment failed (past_due at Stripe)
    tenant = billing.sign_up()
    billing.checkout(tenant)
    clock, now = clock_of(billing, tenant)
    fail_next_payments(billing.stripe, billing.account_customer(tenant), 1)
    advance(billing.stripe, clock, now + 32 * 86400)
    billing.sync()
    account = account_item(tenant)
    assert account["status"] == "past_due"
    since = datetime.fromisoformat(str(account["past_due_since"]))
    # When dunning runs within the grace period, nothing changes; after it, the tenant falls back
    assert dunning_at(since + timedelta(days=6)).run() == []
    assert dunning_at(since + timedelta(days=7, seconds=1)).run() == [tenant]
    last = published(tenant, "billing.entitlements.changed.v1")[-1]["payload"]
    assert (last["plan"], last["reason"]) == ("free", "payment_overdue")
    # And a second run announces nothing more
    assert dunning_at(since + timedelta(days=8)).run() == []


def test_an_override_lapses_by_itself_and_the_job_announces_it(billing: Billing) -> None:
    tenant = billing.sign_up()
    now = SystemClock().now()
    cfg = wiring.config()
    operators = EntitlementsService(wiring.accounts(), wiring.ledger(), wiring._terms(cfg), clock=FixedClock(now))
    granted = operators.override(
        OPERATOR, tenant, seat_limit=40, project_limit=None, features={"sso": True}, until=now + timedelta(hours=2),
        reason="pilot",
    )  # fmt: skip
    assert (granted.effective.seat_limit, granted.effective.features["sso"]) == (40, True)
    assert billing.call("GET", "/v1/billing/subscription", tenant=tenant).body["overridden"] is True
    assert dunning_at(now + timedelta(hours=1)).lapse_overrides() == []
    assert dunning_at(now + timedelta(hours=2)).lapse_overrides() == [tenant]
    last = published(tenant, "billing.entitlements.changed.v1")[-1]["payload"]
    assert (last["seat_limit"], last["reason"]) == (3, "override_lapsed")
    assert dunning_at(now + timedelta(hours=3)).lapse_overrides() == []


def test_reconciliation_repairs_an_account_that_drifted_from_stripe(billing: Billing) -> None:
    # Given a Pro tenant whose subscription changed at Stripe while billing heard nothing
    tenant = billing.sign_up()
    billing.checkout(tenant)
    sub_id = str(account_item(tenant)["subscription_id"])
    billing.stripe.v1.subscriptions.cancel(sub_id)
    billing.stripe_deliveries()  # lost
    assert account_item(tenant)["plan"] == "pro"
    # When the reconciliation job runs
    result = reconcile.handler({"id": "run-1"}, FakeLambdaContext())  # type: ignore[arg-type]
    # Then the account is what Stripe holds, the repair is counted, and the cancellation announced
    assert result["repaired"] == 1
    assert (account_item(tenant)["plan"], account_item(tenant)["ended_subscription_id"]) == ("free", sub_id)
    assert published(tenant, "billing.subscription.canceled.v1")
    # And a second sweep finds nothing to repair
    assert reconcile.sync([tenant]) == []


def test_sync_walks_every_linked_tenant_and_reports_its_progress(billing: Billing) -> None:
    tenants = [billing.sign_up() for _ in range(2)]
    for tenant in tenants:
        billing.call("POST", "/v1/billing/checkout", {"plan": "pro"}, tenant=tenant)
    seen: list[tuple[int, int, str]] = []
    assert reconcile.sync(progress=lambda done, repaired, tenant: seen.append((done, repaired, tenant))) == []
    assert {t for _, _, t in seen} == set(tenants)
    assert [d for d, _, _ in seen] == [1, 2]


def test_the_scheduled_jobs_fall_back_an_overdue_tenant_and_drop_a_lapsed_override(billing: Billing) -> None:
    # Given a tenant past due at Stripe for ten days, and another whose override lapsed an hour ago
    now = SystemClock().now()
    cfg = wiring.config()
    overdue, overridden = billing.sign_up(), billing.sign_up()
    account = wiring.accounts().get(overdue)
    assert account is not None
    period = (now - timedelta(days=12), now + timedelta(days=18))
    late = SubscriptionSnapshot(
        id="sub_late", customer_id="cus_late", tenant_id=overdue, status="past_due", price_id="price_pro_monthly",
        item_id="si_late", quantity=1, current_period_start=period[0], current_period_end=period[1], trial_end=None,
        cancel_at_period_end=False, canceled_at=None, ended_at=None, cancellation_reason=None,
        latest_invoice_id="in_late", created=now - timedelta(days=42),
    )  # fmt: skip
    account.apply(late, wiring._terms(cfg), now - timedelta(days=10))
    wiring.ledger().commit(Changes(account=account))
    earlier = EntitlementsService(wiring.accounts(), wiring.ledger(), wiring._terms(cfg), clock=FixedClock(now - DAY))
    earlier.override(
        OPERATOR, overridden, seat_limit=40, project_limit=None, features={}, until=now - HOUR, reason="pilot"
    )
    # When the daily dunning job and the hourly override job run
    assert dunning.handler({"id": "run-1"}, FakeLambdaContext()) == {"fell_back": 1}  # type: ignore[arg-type]
    assert lapse_overrides.handler({"id": "run-2"}, FakeLambdaContext()) == {"lapsed": 1}  # type: ignore[arg-type]
    # Then each tenant's entitlements were announced again, saying why
    assert published(overdue, "billing.entitlements.changed.v1")[-1]["payload"]["reason"] == "payment_overdue"
    assert published(overridden, "billing.entitlements.changed.v1")[-1]["payload"]["reason"] == "override_lapsed"
