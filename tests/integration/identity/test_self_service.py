"""Bounded self-service: a per-user cap on tenants created, and slugs the product keeps for itself."""

from __future__ import annotations

import boto3
import pytest

from functions.identity.adapters.members import MemberRepository
from functions.identity.adapters.tenants import TenantRepository
from functions.identity.domain.errors import TenantLimitReached
from functions.identity.domain.slugs import RESERVED_SLUGS
from functions.identity.domain.tenants import TenantService
from functions.identity.settings import IdentitySettings
from keel import settings
from keel.store import to_attributes
from tests.integration.identity.gateway import Gateway, events_of, user_id
from tests.integration.identity.test_concurrency import person as signed_in
from tests.support.racing import RacingClient, race
from tests.support.staged import IDENTITY
from tests.unit.identity.idp import ISSUER


@pytest.fixture
def cap_of_two(identity: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("KEEL_IDENTITY_MAX_TENANTS_PER_USER", "2")
    settings.reset()
    return 2


def sign_up(gateway: Gateway, subject: str, name: str) -> tuple[int, str | None]:
    reply = gateway.call("POST", "/v1/tenants", as_=subject, body={"name": name})
    return reply.status, reply.code


def test_by_default_a_person_may_create_ten_tenants() -> None:
    assert IdentitySettings(table=IDENTITY.table_name).max_tenants_per_user == 10


def test_a_person_past_the_cap_is_refused_and_nothing_is_created(gateway: Gateway, cap_of_two: int) -> None:
    assert sign_up(gateway, "ada", "One") == (201, None)
    assert sign_up(gateway, "ada", "Two") == (201, None)

    assert sign_up(gateway, "ada", "Three") == (403, "tenant_limit")

    assert len(gateway.call("GET", "/v1/me", as_="ada").body["memberships"]) == 2
    assert len(events_of("identity.tenant.created.v1")) == 2
    assert sign_up(gateway, "bob", "Bob's") == (201, None)  # the cap is per person


def test_an_operator_lifts_the_cap_for_one_person(gateway: Gateway, cap_of_two: int) -> None:
    sign_up(gateway, "ada", "One")
    sign_up(gateway, "ada", "Two")
    # What an operator does (no route yet): set a limit on the person's allowance item
    boto3.client("dynamodb").update_item(
        TableName=IDENTITY.table_name,
        Key=to_attributes({"pk": f"USER#{user_id('ada')}", "sk": "TENANTS"}),
        UpdateExpression="SET #limit = :limit",
        ExpressionAttributeNames={"#limit": "limit"},
        ExpressionAttributeValues=to_attributes({":limit": 3}),
    )
    assert sign_up(gateway, "ada", "Three") == (201, None)
    assert sign_up(gateway, "ada", "Four") == (403, "tenant_limit")


def test_two_sign_ups_racing_for_the_last_one_allowed_create_one_tenant(gateway: Gateway, cap_of_two: int) -> None:
    # Given Ada has one tenant of the two she may create
    sign_up(gateway, "ada", "One")
    client = RacingClient(racers=2)
    racing = TenantService(
        TenantRepository(IDENTITY.table_name, client=lambda: client),  # type: ignore[arg-type,return-value]
        MemberRepository(IDENTITY.table_name),
        issuer=ISSUER,
        tenants_per_user=cap_of_two,
    )
    # When two sign-ups of hers write at the same moment, neither having seen the other
    results = race(lambda: racing.create(signed_in("ada"), "Two"), lambda: racing.create(signed_in("ada"), "Three"))
    # Then exactly one tenant was created, and the other was refused by the cap
    assert sum(isinstance(r, TenantLimitReached) for r in results) == 1, results
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert len(gateway.call("GET", "/v1/me", as_="ada").body["memberships"]) == 2


def test_a_name_whose_slug_is_reserved_gets_a_suffixed_slug(gateway: Gateway) -> None:
    reply = gateway.call("POST", "/v1/tenants", as_="ada", body={"name": "Admin"})
    assert reply.status == 201
    assert reply.body["slug"].startswith("admin-")


@pytest.mark.parametrize("slug", ["admin", "api", "www", "billing", "support"])
def test_changing_to_a_reserved_slug_is_refused(gateway: Gateway, slug: str) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    reply = gateway.call("PATCH", "/v1/tenant", as_="ada", tenant=tenant, body={"slug": slug})
    assert (reply.status, reply.code) == (422, "slug_reserved")
    assert gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body["slug"] == "acme"
    assert slug in RESERVED_SLUGS
