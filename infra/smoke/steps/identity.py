"""Identity's main path, as a tenant's owner walks it: who am I, the tenant and its members, an
invitation sent and revoked, an API key made, used and revoked."""

from __future__ import annotations

from typing import Any

from infra.smoke import Session, SmokeFailure, Step


def steps(session: Session) -> list[Step]:
    made: dict[str, Any] = {}

    def me() -> None:
        found = session.expect(200, "GET", "/v1/me", headers=session.headers(tenant=False))
        if session.tenant_id not in {m["tenant_id"] for m in found["memberships"]}:
            raise SmokeFailure(f"GET /v1/me does not list the tenant just signed up ({session.tenant_id})")

    def tenant() -> None:
        if session.expect(200, "GET", "/v1/tenant")["id"] != session.tenant_id:
            raise SmokeFailure("GET /v1/tenant answered another tenant")

    def members() -> None:
        roles = [m["role"] for m in session.expect(200, "GET", "/v1/members")["items"]]
        if roles != ["owner"]:
            raise SmokeFailure(f"a new tenant's members should be its owner alone, not {roles}")

    def invite() -> None:
        body = {"email": session.email("invitee"), "role": "member"}
        made["invitation"] = invitation = session.expect(201, "POST", "/v1/invitations", body)["id"]
        session.on_cleanup(f"invitation {invitation}", lambda: _gone(session, f"/v1/invitations/{invitation}"))
        listed = {i["id"] for i in session.expect(200, "GET", "/v1/invitations")["items"]}
        if invitation not in listed:
            raise SmokeFailure(f"GET /v1/invitations does not list the invitation just sent ({invitation})")

    def revoke_invitation() -> None:
        session.expect(204, "DELETE", f"/v1/invitations/{made['invitation']}")

    def api_key() -> None:
        created = session.expect(201, "POST", "/v1/api-keys", {"name": f"smoke {session.run_id}", "role": "member"})
        made["api_key"] = key = created["id"]
        session.on_cleanup(f"API key {key}", lambda: _gone(session, f"/v1/api-keys/{key}"))
        as_key = {"Authorization": f"Bearer {created['secret']}", "X-Tenant-Id": session.tenant_id}
        session.expect(200, "GET", "/v1/members", headers=as_key)

    def revoke_api_key() -> None:
        session.expect(204, "DELETE", f"/v1/api-keys/{made['api_key']}")

    return [
        Step("GET /v1/me lists the new tenant", me),
        Step("GET /v1/tenant", tenant),
        Step("GET /v1/members: the owner alone", members),
        Step("POST /v1/invitations, then listed", invite),
        Step("DELETE /v1/invitations/{id}", revoke_invitation),
        Step("POST /v1/api-keys, then used", api_key),
        Step("DELETE /v1/api-keys/{id}", revoke_api_key),
    ]


def _gone(session: Session, path: str) -> None:
    """Revoke what a step made, unless a later step already did."""
    reply = session.http.call("DELETE", path, None, session.headers())
    if reply.status not in (204, 404, 409):
        raise SmokeFailure(f"DELETE {path} answered {reply.describe()}")
