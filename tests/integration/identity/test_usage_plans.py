"""Identity keeps each tenant's API Gateway key in its plan's usage plan (API Gateway under moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.identity import wiring
from functions.identity.domain.usage import usage_key
from keel import settings
from keel.contracts.billing import EntitlementsChanged
from keel.rate_tiers import RATE_TIERS
from keel.store import Transaction
from tests.integration.identity.gateway import Gateway, authorize
from tests.support.staged import STAGED


@pytest.fixture
def usage_plans(identity: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A usage plan per rate tier on moto's API Gateway, given to identity as the API stack gives them."""
    client = boto3.client("apigateway")
    plans = {name: client.create_usage_plan(name=STAGED.usage_plan_name(name))["id"] for name in RATE_TIERS}
    monkeypatch.setenv("KEEL_IDENTITY_USAGE_PLANS", json.dumps(plans))
    settings.reset()
    return plans


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
    )
    tx = Transaction(wiring.table_name())
    wiring.entitlements(tx).apply(tenant, changed)
    tx.execute()


def _named_key(gateway: Gateway, tenant: str) -> Any:
    return authorize({"Authorization": f"Bearer {gateway.token('ada')}", "X-Tenant-Id": tenant}).get(
        "usageIdentifierKey"
    )


def test_a_new_tenant_is_counted_against_its_own_key_in_the_free_plan(
    gateway: Gateway, usage_plans: dict[str, str]
) -> None:
    # When Ada signs up
    tenant = gateway.sign_up("ada")
    # Then the key the authorizer names for her tenant is in the free tier's usage plan, and only there
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
