"""Identity keeps each tenant's API Gateway key in its plan's usage plan (API Gateway under moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.identity import wiring
from functions.identity.domain.usage import usage_key
from infra.local.throttle import make_usage_plans
from keel import settings
from keel.contracts.billing import EntitlementsChanged
from keel.store import Transaction
from tests.integration.identity.gateway import Gateway, authorize
from tests.support.staged import STAGED


@pytest.fixture
def usage_plans(identity: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The stage's usage plans on moto's API Gateway (``keel dev``'s, as the API stack makes them),
    given to identity as the local runtime gives them."""
    plans = make_usage_plans(boto3.client("apigateway"), STAGED)
    for name, value in STAGED.usage_plan_settings(plans=plans).items():
        monkeypatch.setenv(name, value)
    settings.reset()
    return plans


@pytest.fixture
def no_plans_yet(identity: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identity told the stage's parameter, which the API stack has not written yet."""
    for name, value in STAGED.usage_plan_settings().items():
        monkeypatch.setenv(name, value)
    settings.reset()


def _keys_in(plan_id: str) -> dict[str, str]:
    """``{name: value}`` of the keys in the usage plan ``plan_id``."""
    client = boto3.client("apigateway")
    ids = {k["id"] for k in client.get_usage_plan_keys(usagePlanId=plan_id)["items"]}
    keys = client.get_api_keys(includeValues=True)["items"]
    return {k["name"]: k["value"] for k in keys if k["id"] in ids}


def _change_plan(tenant: str, plan: str) -> None:
    changed = EntitlementsChanged(
        tenant_id=tenant,
        plan=plan,
        seat_limit=10,
        project_limit=None,
        effective_at=datetime.now(UTC) + timedelta(seconds=1),
        rate_tier=plan,
    )
    tx = Transaction(wiring.table_name())
    wiring.entitlements(tx).apply(tenant, changed)
    tx.execute()


def _named_key(gateway: Gateway, tenant: str) -> Any:
    return authorize({"Authorization": f"Bearer {gateway.token('ada')}", "X-Tenant-Id": tenant}).get(
        "usageIdentifierKey"
    )


def test_a_new_tenant_counts_against_the_shared_key_until_its_free_plan_gives_it_its_own(
    gateway: Gateway, usage_plans: dict[str, str]
) -> None:
    # When Ada signs up
    tenant = gateway.sign_up("ada")
    # Then her tenant counts against the shared key: sign-up made no key (no control-plane call)
    assert _named_key(gateway, tenant) == STAGED.shared_usage_key
    assert all(_keys_in(plan) == {} for plan in usage_plans.values())
    # When billing announces its free plan
    _change_plan(tenant, "free")
    # Then the key the authorizer names for her tenant is its own, in the free tier's usage plan only
    named = _named_key(gateway, tenant)
    assert named == usage_key(tenant, "free")
    assert list(_keys_in(usage_plans["free"]).values()) == [named]
    assert all(_keys_in(plan) == {} for tier, plan in usage_plans.items() if tier != "free")


def test_a_new_plan_puts_a_key_in_its_tiers_plan_before_the_authorizer_names_it(
    gateway: Gateway, usage_plans: dict[str, str]
) -> None:
    # Given Ada's tenant on the free plan
    tenant = gateway.sign_up("ada")
    # When billing moves it to "pro" (the event applied twice: delivery is at-least-once)
    _change_plan(tenant, "pro")
    _change_plan(tenant, "pro")
    # Then the authorizer names the tenant's pro key, which is in the pro plan, once
    named = _named_key(gateway, tenant)
    assert named == usage_key(tenant, "pro")
    assert list(_keys_in(usage_plans["pro"]).values()) == [named]


def _key_api(gateway: Gateway, tenant: str) -> str:
    reply = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ci", "role": "member"})
    assert reply.status == 201, reply
    return str(reply.body["secret"])


def test_a_tenant_made_before_the_usage_plans_counts_against_the_shared_key_until_the_job_gives_it_its_own(
    gateway: Gateway, no_plans_yet: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ada's tenant and API key, made while the stage had no usage plans (the API stack not deployed)
    tenant = gateway.sign_up("ada")
    secret = _key_api(gateway, tenant)
    # Then her member and her key are counted against the stage's shared key, which that stack makes
    assert _named_key(gateway, tenant) == STAGED.shared_usage_key
    assert authorize({"Authorization": f"Bearer {secret}"}).get("usageIdentifierKey") == STAGED.shared_usage_key
    # When the API stack has made the plans and identity's usage-keys job runs (twice: it is idempotent)
    plans = make_usage_plans(boto3.client("apigateway"), STAGED)
    monkeypatch.setenv(STAGED.context("identity").setting_name("USAGE_PLANS"), json.dumps(plans))
    settings.reset()
    first, again = wiring.usage_keys().reconcile(), wiring.usage_keys().reconcile()
    # Then the tenant has its own key in the free plan, and both its member and its key are counted there
    own = usage_key(tenant, "free")
    assert (first.keyed, again.keyed) == (1, 0)
    assert list(_keys_in(plans["free"]).values()) == [own]
    assert _named_key(gateway, tenant) == own
    assert authorize({"Authorization": f"Bearer {secret}"}).get("usageIdentifierKey") == own


def test_without_usage_plans_the_job_makes_nothing_and_says_so(gateway: Gateway, no_plans_yet: None) -> None:
    # Given a tenant and no usage plans yet
    gateway.sign_up("ada")
    # When the job runs
    done = wiring.usage_keys().reconcile()
    # Then it gave no key and says the plans were not there
    assert (done.keyed, done.plans_configured) == (0, False)
    assert boto3.client("apigateway").get_api_keys()["items"] == []


def test_the_job_moves_a_tenant_whose_key_lags_its_plans_tier(
    gateway: Gateway, usage_plans: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ada's tenant moved to "pro" while the plans could not be reached: still counted on its free key
    tenant = gateway.sign_up("ada")
    _change_plan(tenant, "free")
    secret = _key_api(gateway, tenant)
    monkeypatch.delenv(STAGED.context("identity").setting_name("USAGE_PLANS"))
    settings.reset()
    _change_plan(tenant, "pro")
    assert _named_key(gateway, tenant) == usage_key(tenant, "free")
    # When the plans are back and the job runs
    monkeypatch.setenv(STAGED.context("identity").setting_name("USAGE_PLANS"), json.dumps(usage_plans))
    settings.reset()
    assert wiring.usage_keys().reconcile().keyed == 1
    # Then the tenant's member and API key are counted on its pro key, in the pro plan
    assert _named_key(gateway, tenant) == usage_key(tenant, "pro")
    assert authorize({"Authorization": f"Bearer {secret}"}).get("usageIdentifierKey") == usage_key(tenant, "pro")
    assert list(_keys_in(usage_plans["pro"]).values()) == [usage_key(tenant, "pro")]
