"""Operators' overrides of a tenant's entitlements (``EntitlementsService``): plan + override is what
applies, every change of it is announced, and an override that is not well formed changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.entitlements import EntitlementsService
from functions.billing.domain.errors import InvalidOverride, NoBillingAccount, NoOverride
from functions.billing.domain.plans import Catalog
from functions.billing.domain.ports import Changes
from functions.billing.settings import BillingSettings
from keel.clock import FixedClock
from keel.contracts.billing import EntitlementsChanged
from keel.errors import Forbidden
from keel.tenancy import Caller
from tests.unit.billing.fakes import MemoryBilling

TERMS = Terms(
    Catalog.with_prices(BillingSettings(table="t", stripe_events_queue="q").price_ids), grace=timedelta(days=7)
)
NOW = datetime(2030, 3, 1, tzinfo=UTC)
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OPERATOR = Caller(user_id="usr_operator", operator=True)


def service_at(memory: MemoryBilling, now: datetime = NOW) -> EntitlementsService:
    return EntitlementsService(memory, memory, TERMS, clock=FixedClock(now))


@pytest.fixture
def memory() -> MemoryBilling:
    """A tenant on the free plan (3 seats), its sign-up's announcements already out."""
    memory = MemoryBilling()
    account = BillingAccount.on_free_plan(TENANT, TERMS, NOW - timedelta(days=30))
    memory.commit(Changes(account=account))
    memory.events.clear()
    return memory


def announced(memory: MemoryBilling) -> list[EntitlementsChanged]:
    return [e for t, e in memory.events if t == TENANT and isinstance(e, EntitlementsChanged)]


def override(service: EntitlementsService, **given: Any) -> Any:
    fields: dict[str, Any] = {
        "seat_limit": None,
        "project_limit": None,
        "features": {},
        "until": None,
        "reason": "pilot",
    }
    return service.override(OPERATOR, TENANT, **(fields | given))


def test_an_override_applies_over_the_plan_and_is_announced_as_an_override(memory: MemoryBilling) -> None:
    # Given a free tenant
    service = service_at(memory)
    assert service.get(OPERATOR, TENANT).override is None
    # When an operator grants it 25 seats and SSO for a pilot
    granted = override(service, seat_limit=25, features={"sso": True})
    # Then the plan stays free, its other limits stay the plan's, and the new entitlements are announced
    assert (granted.plan, granted.effective.seat_limit, granted.effective.features["sso"]) == ("free", 25, True)
    assert granted.effective.project_limit == service.get(OPERATOR, TENANT).effective.project_limit
    assert granted.override is not None
    assert (granted.override.reason, granted.override.set_by) == ("pilot", OPERATOR.user_id)
    (event,) = announced(memory)
    assert (event.seat_limit, event.features["sso"], event.reason) == (25, True, "override")
    assert (event.operator_id, event.operator_reason) == (OPERATOR.user_id, "pilot")


def test_removing_an_override_gives_back_the_plans_entitlements_and_announces_them(memory: MemoryBilling) -> None:
    service = service_at(memory)
    override(service, seat_limit=25)
    # When the operator removes it
    granted = service.remove(OPERATOR, TENANT)
    # Then the free plan's 3 seats apply again, announced after the override's announcement
    assert (granted.override, granted.effective.seat_limit) == (None, 3)
    first, second = announced(memory)
    assert (second.seat_limit, second.reason, second.operator_id) == (3, "override", OPERATOR.user_id)
    assert second.effective_at > first.effective_at


def test_removing_an_override_that_is_not_there_or_has_lapsed_is_not_found(memory: MemoryBilling) -> None:
    with pytest.raises(NoOverride):
        service_at(memory).remove(OPERATOR, TENANT)
    override(service_at(memory), seat_limit=25, until=NOW + timedelta(days=1))
    with pytest.raises(NoOverride):
        service_at(memory, NOW + timedelta(days=1)).remove(OPERATOR, TENANT)


def test_an_override_past_its_until_no_longer_applies_when_read(memory: MemoryBilling) -> None:
    override(service_at(memory), seat_limit=25, until=NOW + timedelta(days=1))
    assert service_at(memory, NOW + timedelta(hours=23)).get(OPERATOR, TENANT).effective.seat_limit == 25
    later = service_at(memory, NOW + timedelta(days=1)).get(OPERATOR, TENANT)
    assert (later.override, later.effective.seat_limit) == (None, 3)


INVALID: dict[str, dict[str, Any]] = {
    "an unknown feature": {"features": {"teleport": True}},
    "nothing to override": {},
    "an until already past": {"seat_limit": 25, "until": NOW},
    "no seat at all": {"seat_limit": 0},
    "negative projects": {"project_limit": -1},
    "no reason": {"seat_limit": 25, "reason": "  "},
    "a reason too long": {"seat_limit": 25, "reason": "x" * 501},
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_override_that_is_not_well_formed_is_refused_and_changes_nothing(memory: MemoryBilling, case: str) -> None:
    service = service_at(memory)
    with pytest.raises(InvalidOverride):
        override(service, **INVALID[case])
    assert service.get(OPERATOR, TENANT).override is None
    assert announced(memory) == []


@pytest.mark.parametrize("tenant_id", ["ten_01JDBBBBBBBBBBBBBBBBBBBBBB", "not-an-id", "ten_" + "A" * 300])
def test_a_tenant_billing_does_not_know_or_a_malformed_id_is_not_found(memory: MemoryBilling, tenant_id: str) -> None:
    service = service_at(memory)
    with pytest.raises(NoBillingAccount):
        service.get(OPERATOR, tenant_id)
    with pytest.raises(NoBillingAccount):
        service.override(OPERATOR, tenant_id, seat_limit=5, project_limit=None, features={}, until=None, reason="x")
    with pytest.raises(NoBillingAccount):
        service.remove(OPERATOR, tenant_id)


def test_only_an_operator_reads_or_changes_a_tenants_entitlements(memory: MemoryBilling) -> None:
    # Given a caller who is not in the operators group
    someone = Caller(user_id="usr_member")
    service = service_at(memory)
    # Then every call is refused, and nothing changes
    with pytest.raises(Forbidden):
        service.get(someone, TENANT)
    with pytest.raises(Forbidden):
        service.override(someone, TENANT, seat_limit=5, project_limit=None, features={}, until=None, reason="x")
    with pytest.raises(Forbidden):
        service.remove(someone, TENANT)
    assert announced(memory) == []
