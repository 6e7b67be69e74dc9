"""Operators' overrides of a tenant's entitlements (``/v1/admin/entitlements/{tenant_id}``) through the
real authorizer and billing's real API handler: who reaches them (operators only), what an override
does to the effective entitlements and what it announces, and what is refused."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.billing.handlers import lapse_overrides
from functions.billing.handlers.api import app
from keel.tenancy import Access
from tests.conftest import json_lines
from tests.integration.billing.support import Billing, new_tenant, published
from tests.integration.identity.gateway import Gateway, Reply, user_id
from tests.support.pipeline import FakeLambdaContext

OPERATOR_ROUTES = sorted(route for route, access in app.access_rules.items() if access is Access.OPERATOR)
OPS = "ops"  # the operator's subject
PILOT = {"seat_limit": 25, "features": {"sso": True}, "reason": "enterprise pilot, ticket 4521"}
CHANGED = "billing.entitlements.changed.v1"


def as_operator(gateway: Gateway, method: str, tenant: str, body: Any = None) -> Reply:
    return gateway.call(method, f"/v1/admin/entitlements/{tenant}", as_=OPS, operator=True, body=body)


@pytest.fixture
def acme(gateway: Gateway, billing: Billing) -> str:
    """Ada's tenant, on the free plan (3 seats, no SSO), with Cy as a member."""
    tenant = gateway.sign_up("ada", "Acme")
    billing.sign_up(tenant)
    gateway.join(tenant, "cy", "member")
    return tenant


# -- who reaches them --------------------------------------------------------------------------------


def test_the_operator_routes_of_billing_are_the_three_on_a_tenants_entitlements() -> None:
    assert [f"{m} {r}" for m, r in OPERATOR_ROUTES] == [
        "DELETE /v1/admin/entitlements/<tenant_id>",
        "GET /v1/admin/entitlements/<tenant_id>",
        "PUT /v1/admin/entitlements/<tenant_id>",
    ]


@pytest.mark.parametrize("route", OPERATOR_ROUTES, ids=" ".join)
def test_no_member_owner_or_api_key_reaches_an_entitlements_route(
    gateway: Gateway, acme: str, route: tuple[str, str]
) -> None:
    method, rule = route
    path = rule.replace("<tenant_id>", acme)
    body = PILOT if method == "PUT" else None
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=acme, body={"name": "ci", "role": "admin"}).body
    # Given a member, the owner (with and without naming the tenant) and an admin API key
    callers: list[dict[str, Any]] = [
        {"as_": "cy", "tenant": acme},
        {"as_": "ada"},
        {"as_": "ada", "tenant": acme},
        {"headers": {"Authorization": f"Bearer {key['secret']}"}},
    ]
    for caller in callers:
        # When each calls the route, then it is refused
        reply = gateway.call(method, path, body=body, **caller)
        assert (reply.status, reply.code) == (403, "forbidden"), (caller, reply)
    # And nothing was overridden; (positive control) an operator reaches the route
    assert as_operator(gateway, "GET", acme).body["override"] is None
    if method == "DELETE":
        assert as_operator(gateway, "PUT", acme, PILOT).status == 200
    assert as_operator(gateway, method, acme, body).status == 200


# -- what an override does ---------------------------------------------------------------------------


def test_an_operator_overrides_reads_and_removes_a_tenants_entitlements(gateway: Gateway, acme: str) -> None:
    # Given a free tenant
    before = as_operator(gateway, "GET", acme)
    assert (before.status, before.body["plan"], before.body["override"]) == (200, "free", None)
    assert before.body["entitlements"] == before.body["plan_entitlements"]
    assert (before.body["entitlements"]["seat_limit"], before.body["entitlements"]["features"]["sso"]) == (3, False)

    # When an operator grants it 25 seats and SSO for a pilot
    set_ = as_operator(gateway, "PUT", acme, PILOT)

    # Then the effective entitlements are the plan's with the override, and reading them says so
    assert set_.status == 200, set_
    read = as_operator(gateway, "GET", acme).body
    stored_at = read["override"].pop("set_at")  # stored to the millisecond
    assert stored_at[:23] == set_.body["override"].pop("set_at")[:23]
    assert read == set_.body
    assert (read["entitlements"]["seat_limit"], read["entitlements"]["features"]["sso"]) == (25, True)
    assert read["entitlements"]["project_limit"] == read["plan_entitlements"]["project_limit"] == 3
    assert read["plan_entitlements"]["seat_limit"] == 3
    assert (read["override"]["reason"], read["override"]["set_by"]) == (PILOT["reason"], user_id(OPS))
    # And the tenant's own view of its subscription shows the override
    own = gateway.call("GET", "/v1/billing/subscription", as_="cy", tenant=acme).body
    assert (own["entitlements"]["seat_limit"], own["overridden"]) == (25, True)

    # When the operator removes it, then the plan's entitlements apply again
    removed = as_operator(gateway, "DELETE", acme)
    assert (removed.status, removed.body["override"], removed.body["entitlements"]["seat_limit"]) == (200, None, 3)
    assert as_operator(gateway, "GET", acme).body["override"] is None


def test_each_change_is_announced_with_the_operator_and_their_reason(gateway: Gateway, acme: str) -> None:
    # When an operator sets an override, then removes it
    as_operator(gateway, "PUT", acme, PILOT)
    as_operator(gateway, "DELETE", acme)

    # Then two announcements followed the sign-up's, each naming the operator; the first, their reason
    *_, set_, removed = (e["payload"] for e in published(acme, CHANGED))
    assert (set_["reason"], set_["seat_limit"], set_["features"]["sso"]) == ("override", 25, True)
    assert (set_["operator_id"], set_["operator_reason"]) == (user_id(OPS), PILOT["reason"])
    assert (removed["reason"], removed["seat_limit"], removed["operator_id"]) == ("override", 3, user_id(OPS))
    assert removed["operator_reason"] is None
    assert removed["effective_at"] > set_["effective_at"]


def test_every_operator_action_is_logged_with_the_operators_id(
    gateway: Gateway, acme: str, printed: Callable[[], str]
) -> None:
    start = len(printed())
    as_operator(gateway, "GET", acme)
    as_operator(gateway, "PUT", acme, PILOT)
    as_operator(gateway, "DELETE", acme)

    actions = [line for line in json_lines(printed()[start:]) if line.get("message") == "operator action"]
    assert [a["action"] for a in actions] == [
        "view_entitlements",
        "override_entitlements",
        "remove_entitlements_override",
    ]
    assert {(a["operator_id"], a["tenant_id"]) for a in actions} == {(user_id(OPS), acme)}


def test_an_override_with_until_lapses_by_itself_and_the_hourly_job_announces_it(gateway: Gateway, acme: str) -> None:
    # Given an override until a moment from now
    until = datetime.now(UTC) + timedelta(seconds=1)
    assert as_operator(gateway, "PUT", acme, PILOT | {"until": until.isoformat()}).status == 200
    assert as_operator(gateway, "GET", acme).body["entitlements"]["seat_limit"] == 25

    # When that moment has passed, then reads no longer apply it
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.05)
    lapsed = as_operator(gateway, "GET", acme).body
    assert (lapsed["override"], lapsed["entitlements"]["seat_limit"]) == (None, 3)
    assert gateway.call("GET", "/v1/billing/subscription", as_="cy", tenant=acme).body["overridden"] is False

    # And the hourly job drops it and announces the entitlements without it
    assert lapse_overrides.handler({"id": "scheduled"}, FakeLambdaContext()) == {"lapsed": 1}  # type: ignore[arg-type]
    last = published(acme, CHANGED)[-1]["payload"]
    assert (last["reason"], last["seat_limit"]) == ("override_lapsed", 3)
    # And there is nothing left to remove
    assert as_operator(gateway, "DELETE", acme).status == 404


# -- what is refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "tenant",
    [pytest.param(new_tenant(), id="unprovisioned"), "ten_nope", "x" * 300],
    ids=["unknown", "invalid", "long"],
)
def test_a_tenant_billing_does_not_know_or_an_invalid_id_is_not_found(
    gateway: Gateway, acme: str, method: str, tenant: str
) -> None:
    reply = as_operator(gateway, method, tenant, PILOT if method == "PUT" else None)

    assert (reply.status, reply.code) == (404, "not_found"), reply
    assert reply.body["error"]["request_id"]


def test_removing_an_override_that_is_not_there_is_not_found(gateway: Gateway, acme: str) -> None:
    reply = as_operator(gateway, "DELETE", acme)

    assert (reply.status, reply.code) == (404, "not_found")


BAD_BODIES: dict[str, Any] = {
    "no reason": {"seat_limit": 25},
    "a blank reason": {"seat_limit": 25, "reason": "   "},
    "a reason too long": {"seat_limit": 25, "reason": "x" * 501},
    "a control character in the reason": {"seat_limit": 25, "reason": "pilot\u202e"},
    "nothing to override": {"reason": "pilot"},
    "an unknown feature": {"features": {"teleport": True}, "reason": "pilot"},
    "no seat": {"seat_limit": 0, "reason": "pilot"},
    "negative projects": {"project_limit": -1, "reason": "pilot"},
    "an until in the past": {"seat_limit": 25, "reason": "pilot", "until": "2020-01-01T00:00:00Z"},
    "an until without an offset": {"seat_limit": 25, "reason": "pilot", "until": "2099-01-01T00:00:00"},
    "a tenant id slipped in": {"seat_limit": 25, "reason": "pilot", "tenant_id": "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"},
    "not an object": ["seat_limit", 25],
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_an_override_that_is_not_well_formed_is_422_in_the_error_shape_and_changes_nothing(
    gateway: Gateway, acme: str, billing: Billing, case: str
) -> None:
    announced = len(published(acme, CHANGED))

    reply = as_operator(gateway, "PUT", acme, BAD_BODIES[case])

    assert reply.status == 422, reply
    assert re.fullmatch(r"[a-z_]+", reply.code or "")
    assert reply.body["error"]["message"]
    assert reply.body["error"]["request_id"]
    assert as_operator(gateway, "GET", acme).body["override"] is None
    assert len(published(acme, CHANGED)) == announced
