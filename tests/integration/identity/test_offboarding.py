"""Offboarding closes every door the member opened: removing or demoting a member revokes the pending
invitations they sent (above the new role), in the same write, and accepting re-checks the sender."""

from __future__ import annotations

from typing import Any

import boto3

from functions.identity import wiring
from functions.identity.adapters.expiry import ExpiryRepository
from functions.identity.adapters.invitation_links import SignedInvitationLinks
from functions.identity.adapters.invitations import InvitationRepository
from functions.identity.adapters.members import MemberRepository
from functions.identity.adapters.tenants import TenantRepository
from functions.identity.domain.invitations import InvitationService
from functions.identity.domain.members import MemberService
from functions.identity.domain.membership import MAX_PENDING_SENT
from keel.store import tenant_pk, to_attributes
from keel.tenancy import Role, TenantContext
from tests.integration.identity.conftest import INVITATION_KEY
from tests.integration.identity.gateway import Gateway, events_of, invitation_token, user_id
from tests.integration.identity.test_entitlements import T0, deliver, entitlements
from tests.support.racing import RacingClient, race
from tests.support.staged import IDENTITY
from tests.unit.identity.idp import ISSUER


def invite(gateway: Gateway, tenant: str, by: str, email: str, role: str = "member") -> Any:
    return gateway.call("POST", "/v1/invitations", as_=by, tenant=tenant, body={"email": email, "role": role})


def accept(gateway: Gateway, subject: str, token: str) -> Any:
    return gateway.call("POST", "/v1/invitations/accept", as_=subject, body={"token": token})


def tenant_view(gateway: Gateway, tenant: str) -> dict[str, Any]:
    return dict(gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body)


def statuses(gateway: Gateway, tenant: str) -> dict[str, str]:
    items = gateway.call("GET", "/v1/invitations", as_="ada", tenant=tenant).body["items"]
    return {i["email"]: i["status"] for i in items}


def test_a_removed_owner_cannot_come_back_through_an_invitation_they_sent(gateway: Gateway) -> None:
    # Given Ada and Bob own Acme, and Bob invites a second address of his as owner
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "owner")
    token = invitation_token(invite(gateway, tenant, "bob", "alias@example.com", "owner").body["id"])
    # When Ada removes Bob, and the alias accepts
    assert gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant).status == 204
    reply = accept(gateway, "alias", token)
    # Then the accept is refused and the alias owns nothing: Ada stays the only owner
    assert reply.status in (403, 404), reply
    assert gateway.call("DELETE", f"/v1/members/{user_id('ada')}", as_="alias", tenant=tenant).status == 403
    members = gateway.call("GET", "/v1/members", as_="ada", tenant=tenant).body["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(user_id("ada"), "owner")]


def test_removing_a_member_revokes_their_pending_invitations_and_frees_the_seats(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    deliver(entitlements(tenant, "pro", 10, T0))
    gateway.join(tenant, "bob", "admin")
    invite(gateway, tenant, "bob", "x@example.com", "admin")
    invite(gateway, tenant, "bob", "y@example.com", "member")
    invite(gateway, tenant, "ada", "z@example.com", "member")
    assert tenant_view(gateway, tenant)["pending_invitations"] == 3

    assert gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant).status == 204

    assert statuses(gateway, tenant) == {
        "bob@example.com": "accepted",
        "x@example.com": "revoked",
        "y@example.com": "revoked",
        "z@example.com": "pending",
    }
    view = tenant_view(gateway, tenant)
    assert (view["members"], view["pending_invitations"], view["seats_taken"]) == (1, 1, 2)
    revoked = [e["payload"] for e in events_of("identity.invitation.revoked.v1")]
    assert sorted((r["email"], r["reason"], r["revoked_by"]) for r in revoked) == [
        ("x@example.com", "sender_removed", user_id("ada")),
        ("y@example.com", "sender_removed", user_id("ada")),
    ]
    # and the addresses may be invited again
    assert invite(gateway, tenant, "ada", "x@example.com").status == 201


def test_demoting_a_member_revokes_only_the_invitations_above_the_new_role(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    deliver(entitlements(tenant, "pro", 10, T0))
    gateway.join(tenant, "bob", "owner")
    owner_token = invitation_token(invite(gateway, tenant, "bob", "o@example.com", "owner").body["id"])
    admin_token = invitation_token(invite(gateway, tenant, "bob", "a@example.com", "admin").body["id"])

    demoted = gateway.call("PATCH", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant, body={"role": "admin"})

    assert demoted.status == 200
    assert accept(gateway, "o", owner_token).status == 404
    assert accept(gateway, "a", admin_token).status == 201
    [revoked] = events_of("identity.invitation.revoked.v1")
    assert (revoked["payload"]["email"], revoked["payload"]["reason"]) == ("o@example.com", "sender_demoted")


def test_an_admin_revoking_an_invitation_announces_it(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    invitation = invite(gateway, tenant, "ada", "grace@example.com").body
    assert gateway.call("DELETE", f"/v1/invitations/{invitation['id']}", as_="ada", tenant=tenant).status == 204
    [revoked] = events_of("identity.invitation.revoked.v1")
    assert revoked["payload"] == {
        "invitation_id": invitation["id"],
        "email": "grace@example.com",
        "role": "member",
        "revoked_by": user_id("ada"),
        "reason": "revoked",
    }


def test_an_invitation_from_a_revoked_api_key_cannot_be_accepted(gateway: Gateway) -> None:
    # API keys belong to the tenant and outlive their creator; a revoked one grants nothing any more
    tenant = gateway.sign_up("ada", "Acme")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "hr", "role": "admin"}).body
    sent = gateway.call(
        "POST", "/v1/invitations", token=key["secret"], body={"email": "k@example.com", "role": "admin"}
    )
    token = invitation_token(sent.body["id"])
    assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204

    reply = accept(gateway, "k", token)

    assert (reply.status, reply.code) == (403, "invitation_withdrawn")
    assert tenant_view(gateway, tenant)["members"] == 1


def test_accepting_rechecks_that_the_sender_still_holds_the_role(gateway: Gateway) -> None:
    # Given an admin's pending admin invitation that escaped revocation (data written before the rule,
    # or by hand): the sender's role is member now, the invitation still pending
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "admin")
    token = invitation_token(invite(gateway, tenant, "bob", "g@example.com", "admin").body["id"])
    boto3.client("dynamodb").update_item(
        TableName=IDENTITY.table_name,
        Key=to_attributes({"pk": tenant_pk(tenant), "sk": f"MEMBER#{user_id('bob')}"}),
        UpdateExpression="SET #role = :member",
        ExpressionAttributeNames={"#role": "role"},
        ExpressionAttributeValues=to_attributes({":member": "member"}),
    )

    reply = accept(gateway, "g", token)

    assert (reply.status, reply.code) == (403, "invitation_withdrawn")
    assert statuses(gateway, tenant)["g@example.com"] == "pending"


def test_a_member_has_at_most_so_many_invitations_out_and_removing_them_fits_one_write(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    deliver(entitlements(tenant, "enterprise", None, T0))
    gateway.join(tenant, "bob", "admin")
    bob = TenantContext(tenant_id=tenant, user_id=user_id("bob"), role=Role.ADMIN, plan="enterprise")
    for n in range(MAX_PENDING_SENT):  # straight to the service: the gateway's JWT round trips are not the point
        wiring.invitations().invite(bob, f"p{n}@example.com", Role.MEMBER)
    refused = invite(gateway, tenant, "bob", "one-more@example.com")
    assert (refused.status, refused.code) == (409, "pending_invitation_limit")

    assert gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant).status == 204

    assert len(events_of("identity.invitation.revoked.v1")) == MAX_PENDING_SENT
    assert tenant_view(gateway, tenant)["pending_invitations"] == 0


def test_an_invitation_racing_its_senders_removal_never_outlives_the_sender(gateway: Gateway) -> None:
    # Given Bob, an admin, about to invite Carol while Ada removes him: both read, then both write
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "admin")
    client = RacingClient(racers=2)
    table = IDENTITY.table_name
    members = MemberService(MemberRepository(table, client=lambda: client))  # type: ignore[arg-type,return-value]
    invitations = InvitationService(
        InvitationRepository(table, client=lambda: client),  # type: ignore[arg-type,return-value]
        TenantRepository(table),
        ExpiryRepository(table),
        SignedInvitationLinks(lambda: INVITATION_KEY),
        issuer=ISSUER,
        accept_url_template="{token}",
    )
    ada = TenantContext(tenant_id=tenant, user_id=user_id("ada"), role=Role.OWNER, plan="free")
    bob = TenantContext(tenant_id=tenant, user_id=user_id("bob"), role=Role.ADMIN, plan="free")

    results = race(
        lambda: members.remove(ada, bob.user_id),
        lambda: invitations.invite(bob, "carol@example.com", Role.ADMIN),
    )

    # Then exactly one write lands (the other read what it changed), and whichever it was, no
    # pending invitation outlives its sender; once the removal is retried, none of Bob's is left
    assert sum(isinstance(r, Exception) for r in results) == 1, results
    bob_is_member = gateway.call("GET", "/v1/tenant", as_="bob", tenant=tenant).status == 200
    assert bob_is_member == isinstance(results[0], Exception)
    assert (statuses(gateway, tenant).get("carol@example.com") == "pending") == bob_is_member
    if bob_is_member:
        assert gateway.call("DELETE", f"/v1/members/{user_id('bob')}", as_="ada", tenant=tenant).status == 204
    assert statuses(gateway, tenant).get("carol@example.com") in (None, "revoked")
    assert tenant_view(gateway, tenant)["pending_invitations"] == 0


def test_an_invitation_whose_senders_record_is_gone_can_still_be_revoked(gateway: Gateway) -> None:
    # Given a pending invitation whose sender's member item is missing (data from before the rule)
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "admin")
    invitation = invite(gateway, tenant, "bob", "g@example.com").body
    boto3.client("dynamodb").delete_item(
        TableName=IDENTITY.table_name, Key=to_attributes({"pk": tenant_pk(tenant), "sk": f"MEMBER#{user_id('bob')}"})
    )
    # When an admin revokes it, then it is revoked, its seat freed, and no member item is made up for bob
    assert gateway.call("DELETE", f"/v1/invitations/{invitation['id']}", as_="ada", tenant=tenant).status == 204
    assert statuses(gateway, tenant)["g@example.com"] == "revoked"
    assert tenant_view(gateway, tenant)["pending_invitations"] == 0
    members = gateway.call("GET", "/v1/members", as_="ada", tenant=tenant).body["items"]
    assert user_id("bob") not in [m["user_id"] for m in members]
