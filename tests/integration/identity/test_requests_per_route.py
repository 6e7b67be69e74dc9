"""DynamoDB requests per operation, the budgets in docs/architecture.md: a read endpoint costs one
request, a write one TransactWriteItems (after at most one read), nothing scans, and the authorizer
costs at most one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.identity.gateway import Gateway, authorize, invitation_token, user_id
from tests.integration.identity.test_entitlements import T0, deliver, entitlements
from tests.support.moto import dynamodb_requests

READS = {"GetItem", "Query", "BatchGetItem"}


def api_only(gateway: Gateway) -> Callable[..., Any]:
    """Calls through the gateway but counts only the API handler (the authorizer is measured apart)."""
    from tests.integration.identity import gateway as gateway_module

    real = gateway_module.authorize

    def call(method: str, path: str, **kwargs: Any) -> tuple[Any, Counter[str]]:
        headers = {"Authorization": f"Bearer {gateway.token(kwargs['as_'], operator=kwargs.get('operator', False))}"}
        if kwargs.get("tenant"):
            headers["X-Tenant-Id"] = kwargs["tenant"]
        answer = real(headers, method, path)
        gateway_module.authorize = lambda *_: answer  # type: ignore[assignment]
        try:
            with dynamodb_requests(*filter(None, [kwargs.get("tenant")])) as count:
                reply = gateway.call(method, path, **kwargs)
        finally:
            gateway_module.authorize = real
        return reply, count

    return call


def assert_read(count: Counter[str]) -> None:
    assert sum(count[o] for o in READS) == 1, count
    assert sum(count.values()) == 1, count


def assert_write(count: Counter[str]) -> None:
    assert count["TransactWriteItems"] == 1, count
    assert sum(count[o] for o in READS) <= 1, count
    assert set(count) <= READS | {"TransactWriteItems"}, count


def test_each_route_costs_one_read_or_one_transaction(gateway: Gateway) -> None:
    call = api_only(gateway)
    reply, count = call("POST", "/v1/tenants", as_="ada", body={"name": "Acme"})
    assert reply.status == 201
    assert count == Counter({"TransactWriteItems": 1})
    tenant = reply.body["id"]
    ada = {"as_": "ada", "tenant": tenant}

    for path in ("/v1/tenant", "/v1/members", "/v1/invitations", "/v1/api-keys"):
        reply, count = call("GET", path, **ada)
        assert reply.status == 200
        assert_read(count)
    reply, count = call("GET", "/v1/me", as_="ada")
    assert_read(count)

    reply, count = call("PATCH", "/v1/tenant", body={"name": "Acme Inc", "slug": "acme-inc"}, **ada)
    assert reply.status == 200
    assert_write(count)
    reply, count = call("POST", "/v1/invitations", body={"email": "bob@example.com", "role": "admin"}, **ada)
    assert reply.status == 201
    assert_write(count)
    token = invitation_token(reply.body["id"])
    reply, count = call("POST", "/v1/invitations/accept", as_="bob", body={"token": token})
    assert reply.status == 201
    assert_write(count)
    reply, count = call("PATCH", f"/v1/members/{user_id('bob')}", body={"role": "member"}, **ada)
    assert reply.status == 200
    assert_write(count)
    reply, count = call("POST", "/v1/invitations", body={"email": "cy@example.com"}, **ada)
    reply, count = call("DELETE", f"/v1/invitations/{reply.body['id']}", **ada)
    assert reply.status == 204
    assert_write(count)
    reply, count = call("POST", "/v1/api-keys", body={"name": "ci"}, **ada)
    assert reply.status == 201
    assert_write(count)
    reply, count = call("DELETE", f"/v1/api-keys/{reply.body['id']}", **ada)
    assert reply.status == 204
    assert_write(count)
    reply, count = call("DELETE", f"/v1/members/{user_id('bob')}", **ada)
    assert reply.status == 204
    assert_write(count)

    # The operators' routes: the directory and a tenant's record are one read each, a suspension or
    # a reactivation one read and one transaction
    ops = {"as_": "ops", "operator": True}
    reply, count = call("GET", "/v1/admin/tenants", **ops)
    assert reply.status == 200
    assert_read(count)
    reply, count = call("GET", f"/v1/admin/tenants/{tenant}", **ops)
    assert reply.status == 200
    assert_read(count)
    for action in ("suspend", "reactivate"):
        reply, count = call("POST", f"/v1/admin/tenants/{tenant}/{action}", body={"reason": "bench"}, **ops)
        assert reply.status == 200
        assert_write(count)


@pytest.mark.parametrize("with_tenant", [False, True])
def test_the_authorizer_costs_at_most_one_request_for_a_jwt(gateway: Gateway, with_tenant: bool) -> None:
    tenant = gateway.sign_up("ada")
    headers = {"Authorization": f"Bearer {gateway.token('ada')}"} | ({"X-Tenant-Id": tenant} if with_tenant else {})
    with dynamodb_requests() as count:
        answer = authorize(headers)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert count == (Counter({"BatchGetItem": 1}) if with_tenant else Counter())


def test_the_authorizer_costs_one_get_item_for_an_api_key(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ci"}).body
    with dynamodb_requests() as count:
        authorize({"Authorization": f"Bearer {key['secret']}"})
    assert count == Counter({"GetItem": 1})


def test_the_entitlements_consumer_writes_one_transaction(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    with dynamodb_requests(tenant) as count:
        assert deliver(entitlements(tenant, "pro", 10, T0)) == {"batchItemFailures": []}
    assert count["TransactWriteItems"] == 1
    assert count["Scan"] == 0
