"""Sign-up and the tenant: POST /v1/tenants, GET /v1/me, GET and PATCH /v1/tenant."""

from __future__ import annotations

from tests.integration.identity.gateway import TABLE, Gateway, events_of, user_id
from tests.support.moto import all_items


def test_a_signed_in_user_creates_a_tenant_and_becomes_its_owner(gateway: Gateway) -> None:
    # When Ada signs up her company
    reply = gateway.call("POST", "/v1/tenants", as_="ada", body={"name": "Acme Corp"})
    # Then the tenant exists on the free plan with her as its only member, owner
    assert reply.status == 201
    tenant = reply.body
    assert tenant["id"].startswith("ten_")
    assert (tenant["name"], tenant["slug"], tenant["status"]) == ("Acme Corp", "acme-corp", "active")
    assert (tenant["plan"], tenant["seat_limit"], tenant["members"], tenant["seats_taken"]) == ("free", 3, 1, 1)
    members = gateway.call("GET", "/v1/members", as_="ada", tenant=tenant["id"]).body["items"]
    assert [(m["user_id"], m["email"], m["role"]) for m in members] == [(user_id("ada"), "ada@example.com", "owner")]


def test_creating_a_tenant_starts_the_sign_up_saga(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme Corp")
    [created] = events_of("identity.tenant.created.v1")
    assert created["tenant_id"] == tenant
    assert created["payload"] == {
        "tenant_id": tenant,
        "name": "Acme Corp",
        "slug": "acme-corp",
        "owner_user_id": user_id("ada"),
        "owner_email": "ada@example.com",
    }
    [joined] = events_of("identity.member.joined.v1")
    assert joined["payload"]["role"] == "owner"


def test_a_taken_slug_gets_a_short_suffix(gateway: Gateway) -> None:
    first = gateway.call("POST", "/v1/tenants", as_="ada", body={"name": "Acme"}).body
    second = gateway.call("POST", "/v1/tenants", as_="bob", body={"name": "ACME!"}).body
    assert first["slug"] == "acme"
    assert second["slug"].startswith("acme-")
    assert len(second["slug"]) == len("acme-") + 5
    assert {i["pk"] for i in all_items(TABLE) if i["pk"].startswith("SLUG#")} == {
        "SLUG#acme",
        f"SLUG#{second['slug']}",
    }


def test_signing_up_needs_a_verified_email(gateway: Gateway, idp) -> None:  # type: ignore[no-untyped-def]
    unverified = idp.id_token("ada", "ada@example.com", email_verified=False)
    reply = gateway.call("POST", "/v1/tenants", token=unverified, body={"name": "Acme"})
    assert (reply.status, reply.code) == (403, "verified_email_required")


def test_the_same_idempotency_key_creates_one_tenant(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "signup-1"}
    first = gateway.call("POST", "/v1/tenants", as_="ada", body={"name": "Acme"}, headers=headers)
    again = gateway.call("POST", "/v1/tenants", as_="ada", body={"name": "Acme"}, headers=headers)
    assert first.status == again.status == 201
    assert first.body == again.body
    assert len(events_of("identity.tenant.created.v1")) == 1


def test_me_lists_the_callers_memberships(gateway: Gateway) -> None:
    # Given Ada owns two tenants and Bob is a member of one of them
    acme = gateway.sign_up("ada", "Acme")
    globex = gateway.sign_up("ada", "Globex")
    gateway.join(acme, "bob")
    # Then each sees their own memberships, without naming a tenant
    ada = gateway.call("GET", "/v1/me", as_="ada").body
    bob = gateway.call("GET", "/v1/me", as_="bob").body
    assert ada["user_id"] == user_id("ada")
    assert {(m["tenant_id"], m["role"]) for m in ada["memberships"]} == {(acme, "owner"), (globex, "owner")}
    assert [(m["tenant_id"], m["role"]) for m in bob["memberships"]] == [(acme, "member")]
    assert gateway.call("GET", "/v1/me", as_="cy").body["memberships"] == []


def test_a_member_reads_the_tenant(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob")
    reply = gateway.call("GET", "/v1/tenant", as_="bob", tenant=tenant)
    assert reply.status == 200
    assert (reply.body["id"], reply.body["members"], reply.body["seats_taken"]) == (tenant, 2, 2)


def test_an_admin_renames_the_tenant_and_changes_its_slug(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    reply = gateway.call("PATCH", "/v1/tenant", as_="ada", tenant=tenant, body={"name": "Acme Inc", "slug": "acme-inc"})
    assert reply.status == 200
    assert (reply.body["name"], reply.body["slug"], reply.body["version"]) == ("Acme Inc", "acme-inc", 2)
    slugs = {i["pk"] for i in all_items(TABLE) if i["pk"].startswith("SLUG#")}
    assert slugs == {"SLUG#acme-inc"}


def test_a_slug_another_tenant_has_is_a_409(gateway: Gateway) -> None:
    gateway.sign_up("ada", "Acme")
    globex = gateway.sign_up("bob", "Globex")
    reply = gateway.call("PATCH", "/v1/tenant", as_="bob", tenant=globex, body={"slug": "acme"})
    assert (reply.status, reply.code) == (409, "slug_taken")
    assert gateway.call("GET", "/v1/tenant", as_="bob", tenant=globex).body["slug"] == "globex"


def test_an_empty_or_malformed_change_is_a_422(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    for body in ({}, {"slug": "Not A Slug"}, {"name": ""}):
        assert gateway.call("PATCH", "/v1/tenant", as_="ada", tenant=tenant, body=body).status == 422
