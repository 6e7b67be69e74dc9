"""Identity's routes and its authorizer, driven as a client would: an owner signs up a tenant,
invites a member who accepts, manages roles and API keys; an operator lists the tenants, reads one,
suspends it (its owner is refused) and reactivates it."""

from __future__ import annotations

import os
from typing import Any

from bench.harness import Harness
from bench.requests import Step
from infra.topology import TOPOLOGY
from keel.contracts.identity import invitation_token


def _invitation_token(tenant_id: str, invitation_id: str) -> str:
    # No token is stored anywhere: derive it as the mailer will, with the local runtime's invitation key.
    identity = TOPOLOGY.context("identity")
    key = os.environ[identity.secret_setting("invitation-key")].encode()
    return invitation_token(key, tenant_id=tenant_id, invitation_id=invitation_id)


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}

    def owner(tenant: bool = True) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {s['owner']}"}
        return headers | ({"X-Tenant-Id": s["tenant"]} if tenant else {})

    def prepare_users() -> None:
        s["owner"] = h.token("bench-owner@example.com")
        s["member"] = h.token("bench-member@example.com")
        s["operator"] = {"Authorization": f"Bearer {h.token('bench-ops@example.com', operator=True)}"}

    def operator(method: str, action: str = "") -> Any:
        return h.expect(200, method, f"/v1/admin/tenants/{s['tenant']}{action}", {"reason": "bench"}, s["operator"])

    def sign_up() -> None:
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Co"}, owner(tenant=False))["id"]

    def invite(email: str) -> str:
        body = {"email": email, "role": "member"}
        return str(h.expect(201, "POST", "/v1/invitations", body, owner())["id"])

    def accept() -> None:
        headers = {"Authorization": f"Bearer {s['member']}"}
        joined = h.expect(201, "POST", "/v1/invitations/accept", {"token": s["token"]}, headers)
        s["member_id"] = joined.get("user_id") or joined.get("member", {}).get("user_id")

    def create_key() -> None:
        s["key"] = h.expect(201, "POST", "/v1/api-keys", {"name": "ci", "role": "member"}, owner())
        s["key_headers"] = {"Authorization": f"Bearer {s['key']['secret']}", "X-Tenant-Id": s["tenant"]}

    return [
        Step("authorizer: JWT, no tenant (POST /v1/tenants)", "auth", sign_up, prepare=prepare_users),
        Step(
            "POST /v1/tenants", "write", lambda: h.expect(201, "POST", "/v1/tenants", {"name": "Other"}, owner(False))
        ),
        Step("GET /v1/me", "read", lambda: h.expect(200, "GET", "/v1/me", None, owner(tenant=False))),
        Step(
            "authorizer: JWT + X-Tenant-Id (GET /v1/tenant)",
            "auth",
            lambda: h.expect(200, "GET", "/v1/tenant", None, owner()),
        ),
        Step("GET /v1/tenant", "read", lambda: h.expect(200, "GET", "/v1/tenant", None, owner())),
        Step("PATCH /v1/tenant", "write", lambda: h.expect(200, "PATCH", "/v1/tenant", {"name": "Bench Co."}, owner())),
        Step("GET /v1/members", "read", lambda: h.expect(200, "GET", "/v1/members", None, owner())),
        Step("POST /v1/invitations", "write", lambda: s.update(invitation=invite("bench-member@example.com"))),
        Step("GET /v1/invitations", "read", lambda: h.expect(200, "GET", "/v1/invitations", None, owner())),
        Step(
            "POST /v1/invitations/accept",
            "write",
            accept,
            prepare=lambda: s.update(token=_invitation_token(s["tenant"], s["invitation"])),
        ),
        Step(
            "PATCH /v1/members/{user_id}",
            "write",
            lambda: h.expect(200, "PATCH", f"/v1/members/{s['member_id']}", {"role": "admin"}, owner()),
        ),
        Step(
            "DELETE /v1/members/{user_id}",
            "write",
            lambda: h.expect(204, "DELETE", f"/v1/members/{s['member_id']}", None, owner()),
        ),
        Step(
            "DELETE /v1/invitations/{id}",
            "write",
            lambda: h.expect(204, "DELETE", f"/v1/invitations/{s['other']}", None, owner()),
            prepare=lambda: s.update(other=invite("bench-other@example.com")),
        ),
        Step("POST /v1/api-keys", "write", create_key),
        Step("GET /v1/api-keys", "read", lambda: h.expect(200, "GET", "/v1/api-keys", None, owner())),
        Step(
            "authorizer: API key (GET /v1/members)",
            "auth",
            lambda: h.expect(200, "GET", "/v1/members", None, s["key_headers"]),
        ),
        Step(
            "DELETE /v1/api-keys/{id}",
            "write",
            lambda: h.expect(204, "DELETE", f"/v1/api-keys/{s['key']['id']}", None, owner()),
        ),
        Step("GET /v1/admin/tenants", "read", lambda: h.expect(200, "GET", "/v1/admin/tenants", None, s["operator"])),
        Step(
            "GET /v1/admin/tenants/{tenant_id}",
            "read",
            lambda: h.expect(200, "GET", f"/v1/admin/tenants/{s['tenant']}", None, s["operator"]),
        ),
        Step("POST /v1/admin/tenants/{tenant_id}/suspend", "write", lambda: operator("POST", "/suspend")),
        Step(
            "authorizer: suspended tenant (GET /v1/tenant)",
            "auth",
            lambda: h.expect(403, "GET", "/v1/tenant", None, owner()),
        ),
        Step("POST /v1/admin/tenants/{tenant_id}/reactivate", "write", lambda: operator("POST", "/reactivate")),
    ]


def first_request(n: int) -> tuple[str, str, dict[str, str]]:
    """The first-response figure's request: a sign-up, with a name of its own each time (a replayed
    name would find its slug taken and take the retry path)."""
    return "POST", "/v1/tenants", {"name": f"First Response {n}"}
