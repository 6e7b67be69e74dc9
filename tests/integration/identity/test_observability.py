"""What identity's functions print about their work: one request line per API call (every field, never
a credential or a body) and one EMF document per business fact (the tenant id a property, not a dimension)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import json_lines
from tests.integration.identity.gateway import Gateway, user_id

REQUEST_FIELDS = (
    "method",
    "route",
    "status_code",
    "duration_ms",
    "tenant_id",
    "user_id",
    "request_id",
    "correlation_id",
)


def request_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if line.get("message") == "request"]


def business_metrics(text: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(text) if "_aws" in doc]


def metric_name(doc: dict[str, Any]) -> str:
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    [metric] = directive["Metrics"]
    return str(metric["Name"])


def test_a_request_with_a_jwt_logs_one_line_with_every_field_and_never_the_token(
    gateway: Gateway, printed: Callable[[], str]
) -> None:
    # Given an owner signed in with a JWT
    tenant = gateway.sign_up("ada")
    token = gateway.token("ada")
    before = len(printed())

    # When they list the members, naming a correlation id
    reply = gateway.call("GET", "/v1/members", token=token, tenant=tenant, headers={"X-Correlation-Id": "corr-jwt"})

    # Then the API logged one request line carrying every field, with the Lambda context
    assert reply.status == 200
    out = printed()[before:]
    [line] = request_lines(out)
    assert set(REQUEST_FIELDS) <= set(line)
    assert {k: line[k] for k in REQUEST_FIELDS if k != "duration_ms"} == {
        "method": "GET",
        "route": "/v1/members",
        "status_code": 200,
        "tenant_id": tenant,
        "user_id": user_id("ada"),
        "request_id": "req-1",
        "correlation_id": "corr-jwt",
    }
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["service"] == "identity"
    assert {"cold_start", "function_name", "function_memory_size", "function_request_id"} <= set(line)
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"])
    # And nothing it printed (the authorizer's lines included) holds the token or a part of it
    for part in (token, *token.split(".")):
        assert part not in out


def test_a_request_with_an_api_key_never_prints_the_key_nor_a_body(
    gateway: Gateway, printed: Callable[[], str]
) -> None:
    # Given a tenant whose admin creates an API key (the secret is in that response's body)
    tenant = gateway.sign_up("ada", "Confidential Holdings")
    created = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "Deploy bot 7f3a"})
    secret = created.body["secret"]

    # When the key is used
    reply = gateway.call("GET", "/v1/members", token=secret, tenant=tenant)

    # Then the key's request line names the route, the tenant and the key as the caller
    assert reply.status == 200
    out = printed()
    line = request_lines(out)[-1]
    assert (line["route"], line["status_code"], line["tenant_id"]) == ("/v1/members", 200, tenant)
    assert line["user_id"] == created.body["id"]
    # And neither the key (nor its secret part) nor what bodies held was ever printed
    assert secret not in out
    assert secret.removeprefix(created.body["prefix"]) not in out
    for body_text in ("Confidential Holdings", "Deploy bot 7f3a"):
        assert body_text not in out


def test_a_request_line_names_the_route_template_and_the_status_of_a_refusal(
    gateway: Gateway, printed: Callable[[], str]
) -> None:
    tenant = gateway.sign_up("ada")
    gateway.join(tenant, "bob")

    # A member may not change roles: the route refuses with a 403
    reply = gateway.call("PATCH", f"/v1/members/{user_id('ada')}", as_="bob", tenant=tenant, body={"role": "member"})

    assert reply.status == 403
    line = request_lines(printed())[-1]
    assert (line["method"], line["route"], line["status_code"]) == ("PATCH", "/v1/members/{user_id}", 403)


def test_a_sign_up_prints_its_business_metrics_with_the_service_dimension_only(
    gateway: Gateway, printed: Callable[[], str]
) -> None:
    # When a person signs up
    tenant = gateway.sign_up("ada")

    # Then one EMF document says a tenant was created: dimension "service" alone, the tenant a property
    out = printed()
    docs = {metric_name(doc): doc for doc in business_metrics(out)}
    created = docs["TenantCreated"]
    [directive] = created["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Keel"
    assert directive["Dimensions"] == [["service"]]
    assert created["service"] == "identity"
    assert created["TenantCreated"] == [1.0]  # EMF: the values recorded in this document
    assert created["tenant_id"] == tenant
    assert created["plan"] == "free"
    assert created["correlation_id"] == "req-1"
    # And its owner joining is a fact too
    assert docs["MemberJoined"]["tenant_id"] == tenant
    assert docs["MemberJoined"]["role"] == "owner"
    # And the sign-up's request line names the tenant it created
    assert request_lines(out)[-1]["tenant_id"] == tenant


def test_each_identity_fact_is_one_metric_where_it_happens(gateway: Gateway, printed: Callable[[], str]) -> None:
    # Given a tenant
    tenant = gateway.sign_up("ada")
    start = len(printed())

    # When a member joins, a key is created and revoked (twice: the second changes nothing)
    gateway.join(tenant, "bob")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "CI"}).body
    for _ in range(2):
        assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204

    # Then each fact was counted once, for the tenant
    docs = business_metrics(printed()[start:])
    assert [metric_name(doc) for doc in docs] == ["MemberJoined", "ApiKeyCreated", "ApiKeyRevoked"]
    assert {doc["tenant_id"] for doc in docs} == {tenant}
    assert docs[0]["via"] == "invitation"


@pytest.mark.usefixtures("flushes")
def test_a_suspension_and_a_reactivation_are_each_one_metric_and_a_repeat_is_none(
    gateway: Gateway, printed: Callable[[], str]
) -> None:
    # Given a tenant
    tenant = gateway.sign_up("ada")
    start = len(printed())

    # When an operator suspends it twice, then reactivates it
    for action in ("suspend", "suspend", "reactivate"):
        reply = gateway.call(
            "POST", f"/v1/admin/tenants/{tenant}/{action}", as_="ops", operator=True, body={"reason": "abuse"}
        )
        assert reply.status == 200

    # Then the suspension and the reactivation were counted once each, the operator a property
    docs = business_metrics(printed()[start:])
    assert [metric_name(doc) for doc in docs] == ["TenantSuspended", "TenantReactivated"]
    assert {doc["tenant_id"] for doc in docs} == {tenant}
    assert {doc["operator_id"] for doc in docs} == {user_id("ops")}
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]] for doc in docs)
