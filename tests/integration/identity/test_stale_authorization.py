"""Writes re-check the caller's access: API Gateway may replay an authorizer answer for up to
AUTHORIZER_CACHE_SECONDS, and a write made on a stale answer must not outlive it (mint a key,
invite an owner, promote oneself)."""

from __future__ import annotations

import json
from typing import Any

from functions.identity.handlers import api
from tests.integration.identity.gateway import Gateway, authorize, user_id
from tests.support.events import api_event
from tests.support.pipeline import FakeLambdaContext


def replay(answer: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """What API Gateway does within the cache TTL: hand the cached context to the API again."""
    context = {**answer["context"], "principalId": answer["principalId"]}
    response = api.handler(api_event(method, path, body=body, authorizer=context), FakeLambdaContext())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def test_a_removed_owner_on_a_cached_answer_cannot_mint_a_key_or_invite(gateway: Gateway) -> None:
    # Given Bob, an owner whose last authorization (owner) is still cached
    tenant = gateway.sign_up("ada")
    gateway.join(tenant, "bob", role="owner")
    cached = authorize({"Authorization": f"Bearer {gateway.token('bob')}", "X-Tenant-Id": tenant}, "GET", "/v1/tenant")
    assert cached["context"]["role"] == "owner"
    # When Ada removes him and he replays the cached answer on privileged writes
    assert gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant).status == 204
    key_status, key_body = replay(cached, "POST", "/v1/api-keys", {"name": "backdoor", "role": "admin"})
    invite_status, _ = replay(cached, "POST", "/v1/invitations", {"email": "bob2@example.com", "role": "owner"})
    rename_status, _ = replay(cached, "PATCH", "/v1/tenant", {"name": "Pwned"})
    # Then every one is refused, and nothing was created
    assert (key_status, invite_status, rename_status) == (403, 403, 403)
    assert key_body["error"]["code"] == "access_changed"
    assert gateway.call("GET", "/v1/api-keys", as_="ada", tenant=tenant).body["items"] == []
    assert gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body["name"] != "Pwned"


def test_a_revoked_key_on_a_cached_answer_cannot_mint_a_successor(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ci", "role": "admin"}).body
    cached = authorize({"Authorization": f"Bearer {key['secret']}", "X-Tenant-Id": tenant})
    assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204

    status, body = replay(cached, "POST", "/v1/api-keys", {"name": "successor", "role": "admin"})

    assert status == 403
    assert body["error"]["code"] == "access_changed"


def test_a_demoted_owner_on_a_cached_answer_cannot_promote_anyone(gateway: Gateway) -> None:
    # Given Bob, cached as owner, demoted to member by Ada
    tenant = gateway.sign_up("ada")
    gateway.join(tenant, "bob", role="owner")
    gateway.join(tenant, "cy", role="member")
    cached = authorize({"Authorization": f"Bearer {gateway.token('bob')}", "X-Tenant-Id": tenant}, "GET", "/v1/tenant")
    demoted = gateway.call("PATCH", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant, body={"role": "member"})
    assert demoted.status == 200
    # When he replays the cached owner answer to promote himself, or someone else
    himself, _ = replay(cached, "PATCH", f"/v1/members/{user_id('bob')}", {"role": "owner"})
    other, _ = replay(cached, "PATCH", f"/v1/members/{user_id('cy')}", {"role": "owner"})
    # Then both are refused: his own role is judged on the member item just read, others' by a re-check
    assert (himself, other) == (403, 403)
    roles = {
        m["user_id"]: m["role"] for m in gateway.call("GET", "/v1/members", as_="ada", tenant=tenant).body["items"]
    }
    assert roles[user_id("bob")] == "member"
    assert roles[user_id("cy")] == "member"


def test_a_promoted_member_keeps_acting_on_an_older_lower_answer(gateway: Gateway) -> None:
    # The re-check accepts any role at least the cached one: a promotion never locks anyone out.
    tenant = gateway.sign_up("ada")
    gateway.join(tenant, "bob", role="admin")
    cached = authorize({"Authorization": f"Bearer {gateway.token('bob')}", "X-Tenant-Id": tenant}, "GET", "/v1/tenant")
    gateway.call("PATCH", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant, body={"role": "owner"})

    status, _ = replay(cached, "POST", "/v1/invitations", {"email": "dee@example.com", "role": "member"})

    assert status == 201
