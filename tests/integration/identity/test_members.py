"""Members and roles: who may change whose role, remove whom, and the last owner."""

from __future__ import annotations

import pytest

from tests.integration.identity.gateway import Gateway, events_of, user_id


@pytest.fixture
def acme(gateway: Gateway) -> str:
    """Acme: Ada (owner), Bob (admin), Cy (member)."""
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "admin")
    gateway.join(tenant, "cy", "member")
    return tenant


def role_of(gateway: Gateway, tenant: str, subject: str) -> str | None:
    members = gateway.call("GET", "/v1/members", as_="ada", tenant=tenant).body["items"]
    return next((m["role"] for m in members if m["user_id"] == user_id(subject)), None)


def test_an_admin_changes_a_members_role(gateway: Gateway, acme: str) -> None:
    reply = gateway.call("PATCH", f"/v1/members/{user_id('cy')}", as_="bob", tenant=acme, body={"role": "admin"})
    assert reply.status == 200
    assert reply.body["role"] == "admin"
    [changed] = events_of("identity.member.role_changed.v1")
    assert changed["payload"] == {
        "user_id": user_id("cy"),
        "previous_role": "member",
        "role": "admin",
        "changed_by": user_id("bob"),
    }


def test_the_new_role_applies_to_the_next_authorization(gateway: Gateway, acme: str) -> None:
    assert gateway.call("GET", "/v1/invitations", as_="cy", tenant=acme).status == 403
    gateway.call("PATCH", f"/v1/members/{user_id('cy')}", as_="ada", tenant=acme, body={"role": "admin"})
    assert gateway.call("GET", "/v1/invitations", as_="cy", tenant=acme).status == 200


def test_an_admin_cannot_make_an_owner(gateway: Gateway, acme: str) -> None:
    reply = gateway.call("PATCH", f"/v1/members/{user_id('cy')}", as_="bob", tenant=acme, body={"role": "owner"})
    assert (reply.status, reply.code) == (403, "owner_required")
    assert role_of(gateway, acme, "cy") == "member"


def test_an_admin_cannot_demote_or_remove_an_owner(gateway: Gateway, acme: str) -> None:
    ada = user_id("ada")
    demote = gateway.call("PATCH", f"/v1/members/{ada}", as_="bob", tenant=acme, body={"role": "member"})
    remove = gateway.call("DELETE", f"/v1/members/{ada}", as_="bob", tenant=acme)
    assert (demote.status, demote.code) == (403, "owner_required")
    assert (remove.status, remove.code) == (403, "owner_required")
    assert role_of(gateway, acme, "ada") == "owner"


def test_an_owner_makes_another_owner_who_may_then_demote_the_first(gateway: Gateway, acme: str) -> None:
    promote = gateway.call("PATCH", f"/v1/members/{user_id('bob')}", as_="ada", tenant=acme, body={"role": "owner"})
    assert promote.status == 200
    demote = gateway.call("PATCH", f"/v1/members/{user_id('ada')}", as_="bob", tenant=acme, body={"role": "admin"})
    assert demote.status == 200
    assert (role_of(gateway, acme, "ada"), role_of(gateway, acme, "bob")) == ("admin", "owner")


def test_the_last_owner_can_neither_be_demoted_nor_leave(gateway: Gateway, acme: str) -> None:
    ada = user_id("ada")
    demote = gateway.call("PATCH", f"/v1/members/{ada}", as_="ada", tenant=acme, body={"role": "admin"})
    leave = gateway.call("DELETE", f"/v1/members/{ada}", as_="ada", tenant=acme)
    assert (demote.status, demote.code) == (409, "last_owner")
    assert (leave.status, leave.code) == (409, "last_owner")
    assert role_of(gateway, acme, "ada") == "owner"


def test_a_member_cannot_change_roles(gateway: Gateway, acme: str) -> None:
    reply = gateway.call("PATCH", f"/v1/members/{user_id('cy')}", as_="cy", tenant=acme, body={"role": "admin"})
    assert reply.status == 403


def test_a_member_leaves_and_loses_access(gateway: Gateway, acme: str) -> None:
    # When Cy removes themself
    reply = gateway.call("DELETE", f"/v1/members/{user_id('cy')}", as_="cy", tenant=acme)
    # Then Cy is gone, the seat is free, and Cy's next (uncached) authorization is denied
    assert reply.status == 204
    assert role_of(gateway, acme, "cy") is None
    assert gateway.call("GET", "/v1/tenant", as_="ada", tenant=acme).body["seats_taken"] == 2
    assert gateway.call("GET", "/v1/tenant", as_="cy", tenant=acme).status == 403
    [removed] = events_of("identity.member.removed.v1")
    assert removed["payload"]["reason"] == "left"


def test_a_member_cannot_remove_someone_else(gateway: Gateway, acme: str) -> None:
    reply = gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="cy", tenant=acme)
    assert reply.status == 403
    assert role_of(gateway, acme, "bob") == "admin"


def test_an_admin_removes_a_member_who_can_then_be_invited_again(gateway: Gateway, acme: str) -> None:
    assert gateway.call("DELETE", f"/v1/members/{user_id('cy')}", as_="bob", tenant=acme).status == 204
    [removed] = events_of("identity.member.removed.v1")
    assert (removed["payload"]["reason"], removed["payload"]["removed_by"]) == ("removed", user_id("bob"))
    assert gateway.call("GET", "/v1/me", as_="cy").body["memberships"] == []
    gateway.join(acme, "cy")
    assert role_of(gateway, acme, "cy") == "member"


def test_an_unknown_or_malformed_member_id_is_a_404(gateway: Gateway, acme: str) -> None:
    for member in ("usr_01JD0000000000000000000000", "nobody", "usr_#1"):
        assert (
            gateway.call("PATCH", f"/v1/members/{member}", as_="ada", tenant=acme, body={"role": "admin"}).status == 404
        )
        assert gateway.call("DELETE", f"/v1/members/{member}", as_="ada", tenant=acme).status == 404


def test_members_are_listed_a_page_at_a_time(gateway: Gateway, acme: str) -> None:
    seen: list[str] = []
    query = {"limit": "2"}
    for _ in range(3):
        page = gateway.call("GET", "/v1/members", as_="cy", tenant=acme, query=query).body
        seen += [m["user_id"] for m in page["items"]]
        if page["cursor"] is None:
            break
        query = {"limit": "2", "cursor": page["cursor"]}
    assert sorted(seen) == sorted(user_id(s) for s in ("ada", "bob", "cy"))
