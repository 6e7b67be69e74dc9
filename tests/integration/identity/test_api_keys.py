"""API keys: shown once, stored hashed, bounded roles, revocation."""

from __future__ import annotations

from tests.integration.identity.gateway import TABLE, Gateway, events_of, user_id
from tests.support.moto import all_items


def test_an_admin_creates_a_key_whose_secret_is_shown_once(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    reply = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "CI", "role": "member"})
    assert reply.status == 201
    key = reply.body
    assert key["secret"].startswith("keel_")
    assert len(key["secret"]) >= 40
    assert key["prefix"] == key["secret"][:13]
    assert (key["name"], key["role"], key["created_by"], key["revoked"]) == ("CI", "member", user_id("ada"), False)
    listed = gateway.call("GET", "/v1/api-keys", as_="ada", tenant=tenant).body["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    assert "secret_hash" not in listed[0]
    # The secret is nowhere at rest, events included
    assert key["secret"] not in repr(all_items(TABLE))
    [created] = events_of("identity.api_key.created.v1")
    assert created["payload"] == {
        "api_key_id": key["id"],
        "name": "CI",
        "prefix": key["prefix"],
        "role": "member",
        "created_by": user_id("ada"),
    }


def test_a_key_acts_with_its_role_in_its_tenant(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    member_key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ro", "role": "member"})
    secret = member_key.body["secret"]
    assert gateway.call("GET", "/v1/members", token=secret).status == 200
    assert gateway.call("GET", "/v1/api-keys", token=secret).status == 403


def test_a_key_is_never_an_owner(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    reply = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "root", "role": "owner"})
    assert reply.status == 422


def test_a_member_cannot_create_keys(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob")
    reply = gateway.call("POST", "/v1/api-keys", as_="bob", tenant=tenant, body={"name": "mine", "role": "member"})
    assert reply.status == 403


def test_revoking_a_key_is_recorded_and_announced(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "CI"}).body
    assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204
    [listed] = gateway.call("GET", "/v1/api-keys", as_="ada", tenant=tenant).body["items"]
    assert listed["revoked"] is True
    assert listed["revoked_at"]
    [revoked] = events_of("identity.api_key.revoked.v1")
    assert revoked["payload"] == {"api_key_id": key["id"], "prefix": key["prefix"], "revoked_by": user_id("ada")}
    assert not [i for i in all_items(TABLE) if i["pk"].startswith("APIKEY#")]
    # Revoking again changes nothing
    assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204
    assert len(events_of("identity.api_key.revoked.v1")) == 1
