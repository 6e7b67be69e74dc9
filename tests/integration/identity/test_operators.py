"""The operators' control plane through the real authorizer and the real API handler: who reaches
``/v1/admin`` (operators only) and who does not (members, owners, API keys), what an operator is on
a tenant's own routes (no one), the directory of tenants, and suspension and reactivation."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pytest

from functions.identity.handlers.api import app
from keel import settings
from keel.tenancy import Access
from tests.integration.identity.conftest import API_ID
from tests.integration.identity.gateway import TABLE, Gateway, authorize, events_of, user_id
from tests.integration.identity.test_stale_authorization import replay
from tests.support.moto import all_items

_PARAM = re.compile(r"<(\w+)>")

#: Every operator route, from the resolver's own list: a route added later is covered too.
OPERATOR_ROUTES = sorted(route for route, access in app.access_rules.items() if access is Access.OPERATOR)
#: Every route that acts in the caller's tenant.
TENANT_ROUTES = sorted(route for route, access in app.access_rules.items() if access.role is not None)
#: A valid body for each route that takes one.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/admin/tenants/<tenant_id>/suspend"): {"reason": "abuse"},
    ("POST", "/v1/admin/tenants/<tenant_id>/reactivate"): {"reason": "cleared"},
    ("PATCH", "/v1/tenant"): {"name": "Renamed"},
    ("PATCH", "/v1/members/<user_id>"): {"role": "admin"},
    ("POST", "/v1/invitations"): {"email": "new@example.com", "role": "member"},
    ("POST", "/v1/api-keys"): {"name": "ci", "role": "member"},
}
OPS = "ops"  # the operator's subject

#: Suspensions flush an API's authorizer cache, as in the cloud and the local runtime
pytestmark = pytest.mark.usefixtures("flushes")


@dataclass
class Acme:
    """Ada's tenant: Ada (owner), Cy (member), an admin API key."""

    tenant: str
    key: dict[str, Any]

    def path(self, rule: str, **ids: str) -> str:
        known = {"tenant_id": self.tenant, "user_id": user_id("cy"), "api_key_id": self.key["id"]} | ids
        return _PARAM.sub(lambda m: known.get(m.group(1), "unknown"), rule)

    @property
    def key_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key['secret']}"}


@pytest.fixture
def acme(gateway: Gateway) -> Acme:
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "cy", "member")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ci", "role": "admin"}).body
    return Acme(tenant=tenant, key=key)


def as_operator(gateway: Gateway, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    return gateway.call(method, path, as_=OPS, operator=True, body=body, **kwargs)


def suspend(gateway: Gateway, tenant: str, reason: str = "abuse") -> Any:
    reply = as_operator(gateway, "POST", f"/v1/admin/tenants/{tenant}/suspend", {"reason": reason})
    assert reply.status == 200, reply
    return reply


def reactivate(gateway: Gateway, tenant: str, reason: str = "cleared") -> Any:
    reply = as_operator(gateway, "POST", f"/v1/admin/tenants/{tenant}/reactivate", {"reason": reason})
    assert reply.status == 200, reply
    return reply


# -- who reaches /v1/admin ----------------------------------------------------------------------------


def test_the_operator_routes_are_the_four_under_v1_admin() -> None:
    assert [f"{m} {r}" for m, r in OPERATOR_ROUTES] == [
        "GET /v1/admin/tenants",
        "GET /v1/admin/tenants/<tenant_id>",
        "POST /v1/admin/tenants/<tenant_id>/reactivate",
        "POST /v1/admin/tenants/<tenant_id>/suspend",
    ]


@pytest.mark.parametrize("route", OPERATOR_ROUTES, ids=" ".join)
def test_no_member_owner_or_api_key_reaches_an_operator_route(
    gateway: Gateway, acme: Acme, route: tuple[str, str]
) -> None:
    method, rule = route
    path, body = acme.path(rule), BODIES.get(route)
    # Given a member, the tenant's owner (with and without naming the tenant) and an admin API key
    callers: list[dict[str, Any]] = [
        {"as_": "cy", "tenant": acme.tenant},
        {"as_": "ada"},
        {"as_": "ada", "tenant": acme.tenant},
        {"headers": acme.key_headers},
    ]
    for caller in callers:
        # When each calls the operator route, then it is refused
        reply = gateway.call(method, path, body=body, **caller)
        assert (reply.status, reply.code) == (403, "forbidden"), (caller, reply)
    # And (positive control) an operator is not
    assert 200 <= as_operator(gateway, method, path, body).status < 300


def test_a_group_other_than_the_operators_makes_no_operator(gateway: Gateway, idp: Any) -> None:
    token = idp.id_token("mallory", "mallory@example.com", **{"cognito:groups": ["keel-operators-x", "admins"]})

    reply = gateway.call("GET", "/v1/admin/tenants", token=token)

    assert (reply.status, reply.code) == (403, "forbidden")


def test_the_groups_claim_and_the_operators_group_are_settings(
    gateway: Gateway, idp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OIDC provider that lists groups in "groups", and a deployment's own group name
    monkeypatch.setenv("KEEL_IDENTITY_GROUPS_CLAIM", "groups")
    monkeypatch.setenv("KEEL_IDENTITY_OPERATORS_GROUP", "platform-team")
    settings.reset()
    operator = idp.id_token("ops", "ops@example.com", groups=["platform-team"])
    cognito_style = idp.id_token("ops", "ops@example.com", **{"cognito:groups": ["platform-team"]})

    # Then a token whose "groups" holds that group is an operator's, and one that says so elsewhere is not
    assert gateway.call("GET", "/v1/admin/tenants", token=operator).status == 200
    assert gateway.call("GET", "/v1/admin/tenants", token=cognito_style).status == 403


def test_an_operator_gets_on_each_tenant_route_what_a_non_member_gets(gateway: Gateway, acme: Acme) -> None:
    assert TENANT_ROUTES
    for method, rule in TENANT_ROUTES:
        path, body = acme.path(rule), BODIES.get((method, rule))
        # When an operator, and Eve who is in no tenant, name Acme on one of its own routes
        operator = gateway.call(method, path, as_=OPS, operator=True, tenant=acme.tenant, body=body)
        stranger = gateway.call(method, path, as_="eve", tenant=acme.tenant, body=body)
        # Then both are refused alike: being an operator opens no tenant
        assert (operator.status, operator.code) == (403, "forbidden"), (method, rule, operator)
        assert operator.body == stranger.body


def test_an_operators_token_names_no_tenant_on_an_operator_route(gateway: Gateway, acme: Acme) -> None:
    # Given an operator sending X-Tenant-Id to an operator route (served by the token-only authorizer)
    answer = authorize(
        {"Authorization": f"Bearer {gateway.token(OPS, operator=True)}", "X-Tenant-Id": acme.tenant},
        "GET",
        "/v1/admin/tenants",
    )
    # Then the authorizer ignores it: the answer is the operator's alone
    assert answer["context"]["operator"] == "true"
    assert "tenant_id" not in answer["context"]


# -- the directory ------------------------------------------------------------------------------------


def test_the_directory_lists_every_tenant_newest_first_a_page_at_a_time(gateway: Gateway) -> None:
    # Given five tenants, signed up one after the other
    created = [gateway.sign_up(f"owner{i}", f"T{i}") for i in range(5)]
    # When the operator reads the directory two at a time
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        reply = as_operator(gateway, "GET", "/v1/admin/tenants", query=query)
        assert reply.status == 200, reply
        seen += reply.body["items"]
        pages += 1
        cursor = reply.body["cursor"]
        if cursor is None:
            break
    # Then every tenant is there once, newest first, over three pages
    assert [t["id"] for t in seen] == list(reversed(created))
    assert pages == 3
    assert seen[0] == {
        "id": created[-1],
        "name": "T4",
        "slug": "t4",
        "status": "active",
        "created_at": seen[0]["created_at"],
    }


def test_the_directory_filters_by_status(gateway: Gateway) -> None:
    tenants = [gateway.sign_up(f"owner{i}", f"T{i}") for i in range(4)]
    suspend(gateway, tenants[1])
    suspend(gateway, tenants[3])

    def listed(status: str) -> list[str]:
        reply = as_operator(gateway, "GET", "/v1/admin/tenants", query={"status": status})
        return [t["id"] for t in reply.body["items"]]

    assert listed("suspended") == [tenants[3], tenants[1]]
    assert listed("active") == [tenants[2], tenants[0]]
    reactivate(gateway, tenants[3])
    assert listed("suspended") == [tenants[1]]
    assert listed("active") == [tenants[3], tenants[2], tenants[0]]


def test_a_renamed_tenant_is_listed_under_its_new_name(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    assert gateway.call("PATCH", "/v1/tenant", as_="ada", tenant=tenant, body={"name": "Acme 2"}).status == 200

    (listed,) = as_operator(gateway, "GET", "/v1/admin/tenants").body["items"]

    assert listed["name"] == "Acme 2"


@pytest.mark.parametrize("query", [{"status": "deleted"}, {"limit": "0"}, {"limit": "101"}])
def test_a_bad_filter_or_limit_is_422(gateway: Gateway, query: dict[str, str]) -> None:
    assert as_operator(gateway, "GET", "/v1/admin/tenants", query=query).status == 422


def test_a_cursor_of_another_status_is_400(gateway: Gateway) -> None:
    for i in range(2):
        gateway.sign_up(f"owner{i}", f"T{i}")
    cursor = as_operator(gateway, "GET", "/v1/admin/tenants", query={"limit": "1"}).body["cursor"]

    reply = as_operator(gateway, "GET", "/v1/admin/tenants", query={"status": "suspended", "cursor": cursor})

    assert (reply.status, reply.code) == (400, "bad_request")


# -- one tenant -----------------------------------------------------------------------------------------


def test_an_operator_reads_a_tenants_record_and_its_owners_emails(gateway: Gateway, acme: Acme) -> None:
    # Given Acme with a second owner, Bob
    gateway.join(acme.tenant, "bob", "owner")

    reply = as_operator(gateway, "GET", f"/v1/admin/tenants/{acme.tenant}")

    assert reply.status == 200
    assert reply.body == {
        "id": acme.tenant,
        "name": "Acme",
        "slug": "acme",
        "status": "active",
        "plan": "free",
        "seat_limit": 3,
        "seats_taken": 3,
        "members": 3,
        "pending_invitations": 0,
        "api_keys": 1,
        "owners": ["ada@example.com", "bob@example.com"],
        "created_at": reply.body["created_at"],
        "suspension": None,
    }


def test_owners_emails_follow_promotions_demotions_and_departures(gateway: Gateway, acme: Acme) -> None:
    def owners() -> list[str]:
        return list(as_operator(gateway, "GET", f"/v1/admin/tenants/{acme.tenant}").body["owners"])

    cy = f"/v1/members/{user_id('cy')}"
    assert gateway.call("PATCH", cy, as_="ada", tenant=acme.tenant, body={"role": "owner"}).status == 200
    assert owners() == ["ada@example.com", "cy@example.com"]
    assert gateway.call("PATCH", cy, as_="ada", tenant=acme.tenant, body={"role": "admin"}).status == 200
    assert owners() == ["ada@example.com"]
    assert gateway.call("PATCH", cy, as_="ada", tenant=acme.tenant, body={"role": "owner"}).status == 200
    assert gateway.call("DELETE", f"/v1/members/{user_id('ada')}", as_="ada", tenant=acme.tenant).status == 204
    assert owners() == ["cy@example.com"]


@pytest.mark.parametrize("tenant_id", ["ten_01JD0000000000000000000000", "not-a-tenant", "TENANT#x"])
def test_an_unknown_tenant_is_404_on_every_operator_route_that_names_one(gateway: Gateway, tenant_id: str) -> None:
    for route in (r for r in OPERATOR_ROUTES if "<tenant_id>" in r[1]):
        method, rule = route
        reply = as_operator(gateway, method, rule.replace("<tenant_id>", tenant_id), BODIES.get(route))
        assert (reply.status, reply.code) == (404, "not_found"), route


# -- suspension -----------------------------------------------------------------------------------------


def test_a_suspended_tenant_refuses_its_owner_and_its_keys_on_reads_and_writes_until_reactivated(
    gateway: Gateway, acme: Acme
) -> None:
    owner: dict[str, Any] = {"as_": "ada", "tenant": acme.tenant}
    key: dict[str, Any] = {"headers": acme.key_headers}
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/v1/tenant", None),
        ("GET", "/v1/members", None),
        ("PATCH", "/v1/tenant", {"name": "Still Acme"}),
        ("POST", "/v1/api-keys", {"name": "another"}),
    ]
    # When an operator suspends Acme
    suspended = suspend(gateway, acme.tenant, "chargebacks").body
    assert suspended["status"] == "suspended"
    assert suspended["suspension"]["reason"] == "chargebacks"
    assert suspended["suspension"]["by"] == user_id(OPS)
    # Then its owner and its API key get 403 tenant_suspended on reads and writes
    for method, path, body in calls:
        for caller in (owner, key):
            reply = gateway.call(method, path, body=body, **caller)
            assert (reply.status, reply.code) == (403, "tenant_suspended"), (method, path, caller, reply)
    # And someone who is no member is told nothing about it
    stranger = gateway.call("GET", "/v1/tenant", as_="eve", tenant=acme.tenant)
    assert (stranger.status, stranger.code) == (403, "forbidden")
    # When an operator reactivates it, then both read and write again
    assert reactivate(gateway, acme.tenant).body["status"] == "active"
    for method, path, body in calls:
        for caller in (owner, key):
            reply = gateway.call(method, path, body=body, **caller)
            assert 200 <= reply.status < 300, (method, path, caller, reply)


def test_a_cached_answer_from_before_the_suspension_cannot_write(gateway: Gateway, acme: Acme) -> None:
    # Given answers API Gateway cached for Ada (owner), Cy (member) and the key before the suspension
    def cached(token: str) -> dict[str, Any]:
        return authorize({"Authorization": f"Bearer {token}", "X-Tenant-Id": acme.tenant}, "GET", "/v1/tenant")

    ada, cy, key = cached(gateway.token("ada")), cached(gateway.token("cy")), cached(acme.key["secret"])
    suspend(gateway, acme.tenant)
    # When they replay them on every kind of write (as a cache that missed the flush would)
    writes: list[tuple[dict[str, Any], str, str, Any]] = [
        (ada, "PATCH", "/v1/tenant", {"name": "Pwned"}),
        (ada, "POST", "/v1/invitations", {"email": "x@example.com", "role": "owner"}),
        (ada, "POST", "/v1/api-keys", {"name": "backdoor", "role": "admin"}),
        (ada, "PATCH", f"/v1/members/{user_id('cy')}", {"role": "admin"}),
        (ada, "DELETE", f"/v1/api-keys/{acme.key['id']}", None),
        (key, "POST", "/v1/invitations", {"email": "y@example.com"}),
        (cy, "DELETE", f"/v1/members/{user_id('cy')}", None),  # leaving
    ]
    for answer, method, path, body in writes:
        status, reply = replay(answer, method, path, body)
        # Then each is refused by its own transaction
        assert (status, reply["error"]["code"]) == (403, "tenant_suspended"), (method, path, reply)
    # And nothing changed
    reactivate(gateway, acme.tenant)
    assert gateway.call("GET", "/v1/tenant", as_="ada", tenant=acme.tenant).body["name"] == "Acme"
    invitations = gateway.call("GET", "/v1/invitations", as_="ada", tenant=acme.tenant).body["items"]
    assert [i["email"] for i in invitations] == ["cy@example.com"]  # Cy's, accepted before
    keys = gateway.call("GET", "/v1/api-keys", as_="ada", tenant=acme.tenant).body["items"]
    assert [(k["id"], k["revoked"]) for k in keys] == [(acme.key["id"], False)]
    members = gateway.call("GET", "/v1/members", as_="ada", tenant=acme.tenant).body["items"]
    assert sorted((m["email"], m["role"]) for m in members) == [
        ("ada@example.com", "owner"),
        ("cy@example.com", "member"),
    ]


def test_no_one_joins_a_suspended_tenant(gateway: Gateway, acme: Acme) -> None:
    # Given an invitation sent before the suspension
    token = gateway.invite(acme.tenant, "ada", "dan@example.com")
    suspend(gateway, acme.tenant)

    reply = gateway.call("POST", "/v1/invitations/accept", as_="dan", body={"token": token})

    assert (reply.status, reply.code) == (403, "tenant_suspended")
    reactivate(gateway, acme.tenant)
    assert gateway.call("POST", "/v1/invitations/accept", as_="dan", body={"token": token}).status == 201


def test_suspending_twice_is_a_no_op_that_keeps_the_first_suspension(gateway: Gateway, acme: Acme) -> None:
    first = suspend(gateway, acme.tenant, "first reason").body

    second = suspend(gateway, acme.tenant, "second reason").body

    assert second == first
    assert len(events_of("identity.tenant.suspended.v1")) == 1


def test_reactivating_an_active_tenant_is_a_no_op(gateway: Gateway, acme: Acme) -> None:
    before = as_operator(gateway, "GET", f"/v1/admin/tenants/{acme.tenant}").body

    after = reactivate(gateway, acme.tenant).body

    assert after == before
    assert events_of("identity.tenant.reactivated.v1") == []


def test_reactivating_needs_no_body(gateway: Gateway, acme: Acme) -> None:
    suspend(gateway, acme.tenant)

    reply = as_operator(gateway, "POST", f"/v1/admin/tenants/{acme.tenant}/reactivate")

    assert (reply.status, reply.body["status"]) == (200, "active")
    assert events_of("identity.tenant.reactivated.v1")[0]["payload"]["reason"] == ""


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "a\u202eb"}])
def test_a_suspension_needs_a_reason_of_plain_text(gateway: Gateway, acme: Acme, body: dict[str, Any]) -> None:
    reply = as_operator(gateway, "POST", f"/v1/admin/tenants/{acme.tenant}/suspend", body)

    assert (reply.status, reply.code) == (422, "validation_error")


def test_the_events_carry_the_operator_and_the_reason(gateway: Gateway, acme: Acme) -> None:
    suspend(gateway, acme.tenant, "chargebacks")
    reactivate(gateway, acme.tenant, "paid up")

    (suspended,) = events_of("identity.tenant.suspended.v1")
    (reactivated,) = events_of("identity.tenant.reactivated.v1")
    assert suspended["tenant_id"] == reactivated["tenant_id"] == acme.tenant
    assert suspended["payload"] == {"tenant_id": acme.tenant, "operator_id": user_id(OPS), "reason": "chargebacks"}
    assert reactivated["payload"] == {
        "tenant_id": acme.tenant,
        "operator_id": user_id(OPS),
        "reason": "paid up",
        "suspension_reason": "chargebacks",
    }


def test_every_operator_action_is_logged_with_the_operators_id(
    gateway: Gateway, acme: Acme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="identity")
    caplog.clear()

    as_operator(gateway, "GET", "/v1/admin/tenants")
    as_operator(gateway, "GET", f"/v1/admin/tenants/{acme.tenant}")
    suspend(gateway, acme.tenant, "chargebacks")
    reactivate(gateway, acme.tenant)

    logged = [r.__dict__ for r in caplog.records if r.name == "identity" and r.getMessage() == "operator action"]
    assert [(line["action"], line["operator_id"]) for line in logged] == [
        (action, user_id(OPS)) for action in ("list_tenants", "view_tenant", "suspend_tenant", "reactivate_tenant")
    ]
    assert [line.get("tenant_id") for line in logged[1:]] == [acme.tenant] * 3


def test_nothing_of_a_suspended_tenant_is_deleted(gateway: Gateway, acme: Acme) -> None:
    def tenant_items() -> dict[str, dict[str, Any]]:
        partition = f"TENANT#{acme.tenant}"
        kept = (i for i in all_items(TABLE) if i["pk"] == partition and not i["sk"].startswith("OUTBOX#"))
        return {item["sk"]: item for item in kept}

    gateway.invite(acme.tenant, "ada", "dan@example.com")
    before = tenant_items()

    suspend(gateway, acme.tenant)
    during = tenant_items()
    reactivate(gateway, acme.tenant)
    after = tenant_items()

    # Every item is still there; only the tenant's own record changed (its status, then back)
    assert during.keys() == before.keys() == after.keys()
    assert {sk for sk in before if before[sk] != during[sk]} == {"TENANT"}
    assert {sk for sk in before if before[sk] != after[sk]} == {"TENANT"}
    assert after["TENANT"]["status"] == "active"


def test_suspending_and_reactivating_flush_the_authorizer_cache_also_when_nothing_changes(
    gateway: Gateway, acme: Acme, flushes: list[tuple[str, str]]
) -> None:
    suspend(gateway, acme.tenant)
    suspend(gateway, acme.tenant)
    reactivate(gateway, acme.tenant)

    assert flushes == [(API_ID, settings.platform().stage)] * 3


def test_a_tenants_keys_are_refused_once_suspended_also_when_issued_just_before(gateway: Gateway, acme: Acme) -> None:
    # Given a second key, then a suspension
    second = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=acme.tenant, body={"name": "two"}).body
    suspend(gateway, acme.tenant)

    for secret in (acme.key["secret"], second["secret"]):
        reply = gateway.call("GET", "/v1/tenant", headers={"Authorization": f"Bearer {secret}"})
        assert (reply.status, reply.code) == (403, "tenant_suspended")
