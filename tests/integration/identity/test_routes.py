"""Every identity route, driven from the resolver's own route list so new routes are covered too:
declared access, members kept off admin routes, other tenants' ids answered 404, and bodies that
try to smuggle in a tenant, a role or a plan refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from functions.identity.handlers.api import app
from keel.openapi import document
from keel.tenancy import Access
from tests.integration.identity.gateway import Gateway, user_id

#: The least role of every route, as the issue states it. A route missing here fails the tests.
EXPECTED_ACCESS = {
    ("POST", "/v1/tenants"): Access.AUTHENTICATED,
    ("GET", "/v1/me"): Access.AUTHENTICATED,
    ("GET", "/v1/tenant"): Access.MEMBER,
    ("PATCH", "/v1/tenant"): Access.ADMIN,
    ("GET", "/v1/members"): Access.MEMBER,
    ("PATCH", "/v1/members/<user_id>"): Access.ADMIN,
    ("DELETE", "/v1/members/<user_id>"): Access.MEMBER,  # admin, or the member leaving (checked by the rule)
    ("POST", "/v1/invitations"): Access.ADMIN,
    ("GET", "/v1/invitations"): Access.ADMIN,
    ("DELETE", "/v1/invitations/<invitation_id>"): Access.ADMIN,
    ("POST", "/v1/invitations/accept"): Access.AUTHENTICATED,
    ("POST", "/v1/api-keys"): Access.ADMIN,
    ("GET", "/v1/api-keys"): Access.ADMIN,
    ("DELETE", "/v1/api-keys/<api_key_id>"): Access.ADMIN,
    ("GET", "/v1/admin/tenants"): Access.OPERATOR,
    ("GET", "/v1/admin/tenants/<tenant_id>"): Access.OPERATOR,
    ("POST", "/v1/admin/tenants/<tenant_id>/suspend"): Access.OPERATOR,
    ("POST", "/v1/admin/tenants/<tenant_id>/reactivate"): Access.OPERATOR,
}

#: A valid body for every route that takes one.
VALID_BODIES = {
    ("POST", "/v1/tenants"): {"name": "Initech"},
    ("PATCH", "/v1/tenant"): {"name": "Renamed"},
    ("PATCH", "/v1/members/<user_id>"): {"role": "admin"},
    ("POST", "/v1/invitations"): {"email": "new@example.com", "role": "member"},
    ("POST", "/v1/invitations/accept"): {"token": "t" * 43},
    ("POST", "/v1/api-keys"): {"name": "ci", "role": "member"},
    ("POST", "/v1/admin/tenants/<tenant_id>/suspend"): {"reason": "abuse"},
    ("POST", "/v1/admin/tenants/<tenant_id>/reactivate"): {"reason": "cleared"},
}

#: Fields a body must never carry, unless the route's own model names them.
SMUGGLED = {"tenant_id": "ten_01JD0000000000000000000000", "role": "owner", "plan": "enterprise"}

_PARAM = re.compile(r"<(\w+)>")


def routes() -> list[tuple[str, str]]:
    return sorted(app.access_rules)


def tenant_routes() -> list[tuple[str, str]]:
    """The routes that act in the caller's tenant (not the operators', which act in none)."""
    return [route for route in routes() if app.access_rules[route] is not Access.OPERATOR]


def body_fields(method: str, rule: str) -> set[str]:
    operation = document([app], version="test")["paths"][_PARAM.sub(r"{\1}", rule)][method.lower()]
    body = operation.get("requestBody")
    if not body:
        return set()
    schema = body["content"]["application/json"]["schema"]
    # An optional body is "the model, or null"
    ref = next(s["$ref"] for s in [schema, *schema.get("anyOf", [])] if "$ref" in s).rsplit("/", 1)[-1]
    schemas = document([app], version="test")["components"]["schemas"]
    return set(schemas[ref]["properties"])


@dataclass
class World:
    """Tenant A (Ada owner, Cy member, a pending invitation, an API key: every seat of the free plan
    taken); tenant B (Zed owner)."""

    a: str
    b: str
    ids: dict[str, str]

    def path(self, rule: str) -> str:
        return _PARAM.sub(lambda m: self.ids[m.group(1)], rule)


@pytest.fixture
def world(gateway: Gateway) -> World:
    a = gateway.sign_up("ada", "A")
    gateway.join(a, "cy", "member")
    invitation = gateway.call("POST", "/v1/invitations", as_="ada", tenant=a, body={"email": "pending@example.com"})
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=a, body={"name": "ci"})
    b = gateway.sign_up("zed", "B")
    return World(
        a=a,
        b=b,
        ids={
            "user_id": user_id("cy"),
            "invitation_id": invitation.body["id"],
            "api_key_id": key.body["id"],
            "tenant_id": a,
        },
    )


def test_every_route_declares_the_least_role_the_issue_gives_it() -> None:
    assert dict(app.access_rules) == EXPECTED_ACCESS


def test_every_operation_in_the_document_carries_its_access() -> None:
    spec = document([app], version="test")
    declared = {
        (method.upper(), path): operation.get("x-keel-access")
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert len(declared) == len(EXPECTED_ACCESS)
    missing = [route for route, access in declared.items() if access not in {a.value for a in Access}]
    assert missing == []


def test_a_route_without_a_declared_access_cannot_exist() -> None:
    with pytest.raises(TypeError, match="access"):
        app.get("/v1/undeclared")(lambda: None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "route", [r for r in sorted(EXPECTED_ACCESS) if EXPECTED_ACCESS[r] is Access.ADMIN], ids=" ".join
)
def test_a_member_calling_an_admin_route_gets_403(gateway: Gateway, world: World, route: tuple[str, str]) -> None:
    method, rule = route
    reply = gateway.call(method, world.path(rule), as_="cy", tenant=world.a, body=VALID_BODIES.get(route))
    assert (reply.status, reply.code) == (403, "forbidden")


def test_the_admin_routes_list_is_not_empty() -> None:
    assert [r for r in routes() if app.access_rules[r] is Access.ADMIN]


def test_tenant_b_asking_for_tenant_as_ids_gets_404_on_every_route_that_takes_one(
    gateway: Gateway, world: World
) -> None:
    # Destructive controls last, so each route still finds what it names
    with_ids = sorted(((m, r) for m, r in tenant_routes() if _PARAM.search(r)), key=lambda route: route[0] == "DELETE")
    assert with_ids, "the route list should contain routes that take an id"
    unknown = {name for _, rule in with_ids for name in _PARAM.findall(rule)} - set(world.ids)
    assert not unknown, f"add an id of tenant A for {unknown} to the World fixture"
    for method, rule in with_ids:
        path = world.path(rule)
        body = VALID_BODIES.get((method, rule))
        # When tenant B's owner names tenant A's id
        probe = gateway.call(method, path, as_="zed", tenant=world.b, body=body)
        # Then it does not exist for B
        assert (probe.status, probe.code) == (404, "not_found"), (method, rule, probe)
        # And (positive control) it does exist for A
        control = gateway.call(method, path, as_="ada", tenant=world.a, body=body)
        assert 200 <= control.status < 300, (method, rule, control)


@pytest.mark.parametrize("route", sorted(VALID_BODIES), ids=" ".join)
def test_a_body_smuggling_a_tenant_role_or_plan_is_rejected(
    gateway: Gateway, world: World, route: tuple[str, str]
) -> None:
    method, rule = route
    allowed = body_fields(method, rule)
    for field, value in SMUGGLED.items():
        if field in allowed:
            continue
        body = {**VALID_BODIES[route], field: value}
        access = EXPECTED_ACCESS[route]
        as_, tenant = ("ada", world.a) if access.role is not None else ("ada", None)
        operator = access is Access.OPERATOR
        reply = gateway.call(method, world.path(rule), as_=as_, tenant=tenant, body=body, operator=operator)
        assert reply.status == 422, (route, field, reply)
        assert any(issue["loc"][-1] == field for issue in reply.body["error"]["details"])


def test_every_route_with_a_body_has_a_valid_body_for_these_tests() -> None:
    with_body = {(m, r) for m, r in routes() if body_fields(m, r)}
    assert with_body == set(VALID_BODIES)


def test_an_api_key_body_cannot_grant_the_owner_role(gateway: Gateway, world: World) -> None:
    reply = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=world.a, body={"name": "x", "role": "owner"})
    assert reply.status == 422
