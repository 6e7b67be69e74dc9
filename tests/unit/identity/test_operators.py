"""The operators' service on in-memory fakes: what suspending and reactivating decide, write, publish
and flush, and who may call it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.identity.domain.errors import TenantChangedMeanwhile, TenantNotFound
from functions.identity.domain.operators import STATUS_CHANGE_ATTEMPTS, OperatorService
from functions.identity.domain.tenant import Suspension, TenantStatus
from functions.identity.domain.tenants import TenantService
from functions.identity.domain.user import Person
from keel.clock import FixedClock
from keel.errors import Forbidden
from keel.tenancy import Caller
from tests.unit.identity.fakes import FakeAuthorizerCache, FakeMembers, FakeTenants, Identity

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
OPERATOR = Caller(user_id="usr_01JD00000000000000000000OP", email="ops@example.com", operator=True)


@pytest.fixture
def state() -> Identity:
    return Identity()


@pytest.fixture
def cache() -> FakeAuthorizerCache:
    return FakeAuthorizerCache()


@pytest.fixture
def operators(state: Identity, cache: FakeAuthorizerCache) -> OperatorService:
    return OperatorService(FakeTenants(state), cache, clock=FixedClock(NOW))


@pytest.fixture
def acme(state: Identity) -> str:
    tenants = TenantService(FakeTenants(state), FakeMembers(state), issuer="https://idp.example")
    ada = Person(user_id="usr_01JD0000000000000000000ADA", email="ada@example.com", subject="ada")
    return tenants.create(ada, "Acme")[0].id


def test_a_suspension_records_who_when_and_why_and_is_announced(
    operators: OperatorService, acme: str, state: Identity
) -> None:
    details = operators.suspend(OPERATOR, acme, "chargebacks")

    assert details.tenant.status is TenantStatus.SUSPENDED
    assert details.tenant.suspension == Suspension(at=NOW, by=OPERATOR.user_id, reason="chargebacks")
    assert state.tenants[acme] == details.tenant
    assert state.types()[-1] == "identity.tenant.suspended.v1"
    assert state.published[-1].payload == {"tenant_id": acme, "operator_id": OPERATOR.user_id, "reason": "chargebacks"}


def test_suspending_a_suspended_tenant_writes_and_publishes_nothing_but_flushes_again(
    operators: OperatorService, acme: str, state: Identity, cache: FakeAuthorizerCache
) -> None:
    first = operators.suspend(OPERATOR, acme, "first")
    writes = state.writes

    again = operators.suspend(OPERATOR, acme, "second")

    assert again == first
    assert state.writes == writes
    assert state.types().count("identity.tenant.suspended.v1") == 1
    assert cache.flushes == 2


def test_reactivating_lifts_the_suspension_and_names_what_it_was_for(
    operators: OperatorService, acme: str, state: Identity, cache: FakeAuthorizerCache
) -> None:
    operators.suspend(OPERATOR, acme, "chargebacks")

    details = operators.reactivate(OPERATOR, acme, "paid")

    assert (details.tenant.status, details.tenant.suspension) == (TenantStatus.ACTIVE, None)
    assert state.published[-1].type == "identity.tenant.reactivated.v1"
    assert state.published[-1].payload["suspension_reason"] == "chargebacks"
    assert cache.flushes == 2


def test_reactivating_an_active_tenant_changes_nothing(operators: OperatorService, acme: str, state: Identity) -> None:
    writes = state.writes

    details = operators.reactivate(OPERATOR, acme, "")

    assert details.tenant.status is TenantStatus.ACTIVE
    assert state.writes == writes


def test_a_change_that_met_a_concurrent_one_is_read_again_and_retried(
    operators: OperatorService, acme: str, state: Identity
) -> None:
    # Given a key issued between the read and the write, once
    state.interfere_with_status_changes = 1

    details = operators.suspend(OPERATOR, acme, "abuse")

    assert details.tenant.status is TenantStatus.SUSPENDED
    assert state.types().count("identity.tenant.suspended.v1") == 1


def test_a_change_that_keeps_meeting_concurrent_ones_gives_up_with_409(
    operators: OperatorService, acme: str, state: Identity, cache: FakeAuthorizerCache
) -> None:
    state.interfere_with_status_changes = STATUS_CHANGE_ATTEMPTS

    with pytest.raises(TenantChangedMeanwhile) as refused:
        operators.suspend(OPERATOR, acme, "abuse")

    assert refused.value.status == 409
    assert state.tenants[acme].status is TenantStatus.ACTIVE
    assert cache.flushes == 0


@pytest.mark.parametrize("tenant_id", ["ten_01JD0000000000000000000000", "acme", ""])
def test_an_unknown_tenant_is_a_404(operators: OperatorService, tenant_id: str) -> None:
    with pytest.raises(TenantNotFound):
        operators.suspend(OPERATOR, tenant_id, "abuse")


@pytest.mark.parametrize(
    "caller",
    [
        Caller(user_id="usr_01JD0000000000000000000ADA"),
        Caller(user_id="usr_01JD0000000000000000000ADA", operator=False),
    ],
)
def test_the_service_itself_refuses_anyone_but_an_operator(
    operators: OperatorService, acme: str, state: Identity, caller: Caller
) -> None:
    for call in (
        lambda: operators.tenants(caller, status=None, limit=10, cursor=None),
        lambda: operators.tenant(caller, acme),
        lambda: operators.suspend(caller, acme, "x"),
        lambda: operators.reactivate(caller, acme, "x"),
    ):
        with pytest.raises(Forbidden):
            call()
    assert state.tenants[acme].status is TenantStatus.ACTIVE
