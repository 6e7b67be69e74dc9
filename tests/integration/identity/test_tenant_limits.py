"""Each tenant has its own rate: the local gateway throttles a tenant over its plan's tier (429 with
``Retry-After``) and no other, as API Gateway's usage plans do with the key the authorizer names.

The whole chain runs as in ``keel dev``: the stage's usage plans on moto's API Gateway, identity
putting each new tenant's key in its tier's plan, the authorizer naming it, and the gateway sizing the
key's bucket by the plan it finds the key in. The free tier is tiny (1 request a second, 2 at once)
and the gateway's clock is fixed, so three requests show it, and moving the clock shows the refill."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from functions.identity import wiring
from infra.local.authorizer import AuthorizerGate
from infra.local.environment import REGION
from infra.local.gateway import GatewayRequest, GatewayResponse, LocalApi
from infra.local.lambdas import LocalFunction
from infra.local.runtime import api_functions
from infra.local.throttle import TenantThrottle, UsagePlanLimits, make_usage_plans
from infra.topology import AUTHORIZER_CACHE_SECONDS
from keel import settings
from keel.contracts.billing import EntitlementsChanged
from keel.rate_tiers import DEFAULT_TIER, RATE_TIERS, RateTier
from keel.store import Transaction
from tests.integration.identity.gateway import Gateway
from tests.support.staged import STAGED


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local(gateway: Gateway, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> LocalApi:
    """The local API Gateway with the real authorizer and identity's API; the free tier's plan tiny."""
    client = boto3.client("apigateway")
    tiny = RateTier(DEFAULT_TIER, rate_per_second=1, burst=2)
    plans = make_usage_plans(client, STAGED, tiers=[tiny, *(t for t in RATE_TIERS.values() if t.name != DEFAULT_TIER)])
    for name, value in STAGED.usage_plan_settings(plans=plans).items():
        monkeypatch.setenv(name, value)
    settings.reset()
    authorizer = LocalFunction(STAGED.authorizer_name, str(STAGED.authorizer_handler), region=REGION)
    return LocalApi(
        STAGED,
        api_functions=api_functions(STAGED),
        authorizer=AuthorizerGate(authorizer, cache_seconds=AUTHORIZER_CACHE_SECONDS),
        region=REGION,
        throttle=TenantThrottle(UsagePlanLimits(lambda: client), clock=clock),
    )


def _signed_up(gateway: Gateway, owner: str, name: str) -> str:
    """A tenant as billing's saga leaves it seconds after sign-up: its free plan announced, its key made."""
    tenant = gateway.sign_up(owner, name)
    free = EntitlementsChanged(
        tenant_id=tenant, plan="free", seat_limit=3, project_limit=1, effective_at=datetime.now(UTC), rate_tier="free"
    )
    tx = Transaction(wiring.table_name())
    assert wiring.entitlements(tx).apply(tenant, free)
    tx.execute()
    return tenant


def _read_tenant(local: LocalApi, gateway: Gateway, person: str, tenant: str) -> GatewayResponse:
    headers = [("Authorization", f"Bearer {gateway.token(person)}"), ("X-Tenant-Id", tenant)]
    return local.handle(GatewayRequest("GET", "/v1/tenant", headers, None, "127.0.0.1", "localhost"))


def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_another_tenant_does_not(
    local: LocalApi, gateway: Gateway
) -> None:
    # Given two tenants on the same plan, whose tier allows 2 requests at once and 1 a second
    acme, globex = _signed_up(gateway, "ada", "Acme"), _signed_up(gateway, "bob", "Globex")
    # When Acme sends 3 requests at once, and then Globex sends one
    acme_replies = [_read_tenant(local, gateway, "ada", acme) for _ in range(3)]
    globex_reply = _read_tenant(local, gateway, "bob", globex)
    # Then Acme's third is refused 429 in the error shape, told to retry in a second
    assert [r.status for r in acme_replies] == [200, 200, 429]
    throttled = acme_replies[2]
    assert json.loads(throttled.body)["error"]["code"] == "rate_limited"
    assert set(json.loads(throttled.body)["error"]) == {"code", "message", "request_id"}
    assert dict(throttled.headers)["Retry-After"] == "1"
    # And Globex is served: Acme spent only its own budget
    assert globex_reply.status == 200


def test_a_throttled_tenant_that_waits_as_told_is_served_again(local: LocalApi, gateway: Gateway, clock: Clock) -> None:
    # Given a tenant that was just throttled
    acme = _signed_up(gateway, "ada", "Acme")
    replies = [_read_tenant(local, gateway, "ada", acme) for _ in range(3)]
    assert replies[-1].status == 429
    # When it waits the Retry-After it was given
    clock.now += int(dict(replies[-1].headers)["Retry-After"])
    # Then its next request is served
    assert _read_tenant(local, gateway, "ada", acme).status == 200


def test_tenantless_routes_spend_no_tenants_budget(local: LocalApi, gateway: Gateway) -> None:
    # Given a tenant that spent its whole burst
    acme = _signed_up(gateway, "ada", "Acme")
    for _ in range(2):
        assert _read_tenant(local, gateway, "ada", acme).status == 200
    # When its owner asks "who am I" (no tenant) three times
    headers = [("Authorization", f"Bearer {gateway.token('ada')}")]
    replies = [local.handle(GatewayRequest("GET", "/v1/me", headers, None, "127.0.0.1", "localhost")) for _ in range(3)]
    # Then each is served: no tenant's budget is spent there, as no key is required there in the cloud
    assert [r.status for r in replies] == [200, 200, 200]


def test_a_key_in_no_usage_plan_is_refused_403_as_api_gateway_refuses_it(
    local: LocalApi, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tenant made while identity knew no usage plans, and a shared key the stage never made
    ctx = STAGED.context("identity")
    monkeypatch.delenv(ctx.setting_name("USAGE_PLANS"))
    monkeypatch.setenv(ctx.setting_name("SHARED_USAGE_KEY"), "keelakeythatnoplanholds")
    settings.reset()
    acme = gateway.sign_up("ada", "Acme")
    # When its owner reads it, the authorizer naming that key
    reply = _read_tenant(local, gateway, "ada", acme)
    # Then the gateway refuses it 403 without calling the handler, as API Gateway does
    assert reply.status == 403
    assert json.loads(reply.body)["error"]["code"] == "forbidden"
