"""Invitations: seats, who may accept, expiry and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.identity import wiring
from functions.identity.adapters.expiry import ExpiryRepository
from functions.identity.adapters.invitation_links import SignedInvitationLinks
from functions.identity.adapters.invitations import InvitationRepository
from functions.identity.adapters.tenants import TenantRepository
from functions.identity.domain.invitations import InvitationService
from keel.clock import FixedClock, SystemClock
from keel.contracts.identity import UserInvited
from tests.integration.identity.gateway import TABLE, Gateway, events_of, invitation_token, user_id
from tests.support.moto import all_items
from tests.support.pipeline import FakeLambdaContext


def invite(gateway: Gateway, tenant: str, email: str, role: str = "member", by: str = "ada"):  # type: ignore[no-untyped-def]
    return gateway.call("POST", "/v1/invitations", as_=by, tenant=tenant, body={"email": email, "role": role})


def accept(gateway: Gateway, subject: str, token: str, email: str | None = None):  # type: ignore[no-untyped-def]
    credential = gateway.token(subject, email)
    return gateway.call("POST", "/v1/invitations/accept", token=credential, body={"token": token})


def seats(gateway: Gateway, tenant: str) -> tuple[int, int, int]:
    body = gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body
    return body["members"], body["pending_invitations"], body["seats_taken"]


def test_an_invitation_is_announced_with_what_the_email_needs_but_not_the_bare_token(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    reply = invite(gateway, tenant, "Grace@Example.COM", "admin")
    assert reply.status == 201
    assert (reply.body["email"], reply.body["role"], reply.body["status"]) == ("grace@example.com", "admin", "pending")
    assert "token" not in reply.body
    [invited] = events_of(UserInvited.TYPE)
    payload = invited["payload"]
    assert (payload["invitation_id"], payload["tenant_name"], payload["invited_by"]) == (
        reply.body["id"],
        "Acme",
        user_id("ada"),
    )
    assert payload["expires_at"].startswith(reply.body["expires_at"][:16])
    token = invitation_token(reply.body["id"])
    assert payload["accept_url_template"] == "https://app.test/accept?token={token}"
    # The token is stored nowhere, outbox included: it is derived when the email is sent
    assert token not in repr(all_items(TABLE))


def test_the_invited_user_accepts_and_joins_with_the_invited_role(gateway: Gateway) -> None:
    # Given Grace is invited as admin (her email written in another case)
    tenant = gateway.sign_up("ada", "Acme")
    token = invitation_token(invite(gateway, tenant, "GRACE@example.com", "admin").body["id"])
    # When Grace, signed in with that email, accepts
    reply = accept(gateway, "grace", token, "grace@example.com")
    # Then she is an admin of Acme and the invitation is accepted
    assert reply.status == 201
    assert reply.body == {"tenant_id": tenant, "user_id": user_id("grace"), "role": "admin"}
    assert gateway.call("GET", "/v1/invitations", as_="grace", tenant=tenant).status == 200
    [listed] = gateway.call("GET", "/v1/invitations", as_="ada", tenant=tenant).body["items"]
    assert listed["status"] == "accepted"
    assert seats(gateway, tenant) == (2, 0, 2)
    joined = events_of("identity.member.joined.v1")[-1]["payload"]
    assert (joined["user_id"], joined["role"], joined["invitation_id"]) == (user_id("grace"), "admin", listed["id"])


def test_someone_else_cannot_accept_the_invitation(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    token = invitation_token(invite(gateway, tenant, "grace@example.com").body["id"])
    reply = accept(gateway, "eve", token, "eve@example.com")
    assert (reply.status, reply.code) == (403, "invitation_email_mismatch")
    assert seats(gateway, tenant) == (1, 1, 2)


def test_accepting_needs_a_verified_email(gateway: Gateway, idp) -> None:  # type: ignore[no-untyped-def]
    tenant = gateway.sign_up("ada", "Acme")
    token = invitation_token(invite(gateway, tenant, "grace@example.com").body["id"])
    unverified = idp.id_token("grace", "grace@example.com", email_verified=False)
    reply = gateway.call("POST", "/v1/invitations/accept", token=unverified, body={"token": token})
    assert (reply.status, reply.code) == (403, "verified_email_required")


def test_an_invitation_is_accepted_once(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    token = invitation_token(invite(gateway, tenant, "grace@example.com").body["id"])
    assert accept(gateway, "grace", token).status == 201
    again = accept(gateway, "grace", token)
    assert again.status == 404
    assert seats(gateway, tenant) == (2, 0, 2)


def test_an_unknown_token_is_a_404(gateway: Gateway) -> None:
    gateway.sign_up("ada", "Acme")
    assert accept(gateway, "grace", "x" * 43).status == 404


def test_inviting_past_the_seat_limit_is_refused_and_pending_invitations_hold_seats(gateway: Gateway) -> None:
    # Given the free plan's 3 seats: Ada plus two pending invitations
    tenant = gateway.sign_up("ada", "Acme")
    assert invite(gateway, tenant, "b@example.com").status == 201
    assert invite(gateway, tenant, "c@example.com").status == 201
    # When a fourth person is invited
    reply = invite(gateway, tenant, "d@example.com")
    # Then it is refused clearly, and nothing changed
    assert (reply.status, reply.code) == (409, "seat_limit_reached")
    assert seats(gateway, tenant) == (1, 2, 3)
    assert len(events_of(UserInvited.TYPE)) == 2


def test_revoking_an_invitation_frees_its_seat_and_kills_its_token(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    invitation = invite(gateway, tenant, "grace@example.com").body
    token = invitation_token(invitation["id"])
    assert gateway.call("DELETE", f"/v1/invitations/{invitation['id']}", as_="ada", tenant=tenant).status == 204
    assert seats(gateway, tenant) == (1, 0, 1)
    assert accept(gateway, "grace", token).status == 404
    [listed] = gateway.call("GET", "/v1/invitations", as_="ada", tenant=tenant).body["items"]
    assert listed["status"] == "revoked"
    # Revoking again changes nothing; the email may be invited again
    assert gateway.call("DELETE", f"/v1/invitations/{invitation['id']}", as_="ada", tenant=tenant).status == 204
    assert invite(gateway, tenant, "grace@example.com").status == 201


def test_revoking_an_accepted_invitation_is_a_409(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    invitation = invite(gateway, tenant, "grace@example.com").body
    accept(gateway, "grace", invitation_token(invitation["id"]))
    reply = gateway.call("DELETE", f"/v1/invitations/{invitation['id']}", as_="ada", tenant=tenant)
    assert (reply.status, reply.code) == (409, "invitation_not_pending")


def test_a_member_or_someone_already_invited_cannot_be_invited_again(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    assert invite(gateway, tenant, "grace@example.com").status == 201
    assert invite(gateway, tenant, "Grace@Example.com").code == "already_member_or_invited"
    assert invite(gateway, tenant, "ada@example.com").code == "already_member_or_invited"


def test_only_an_owner_invites_an_owner(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    gateway.join(tenant, "bob", "admin")
    assert invite(gateway, tenant, "x@example.com", "owner", by="bob").code == "owner_required"
    assert invite(gateway, tenant, "x@example.com", "owner", by="ada").status == 201


def test_the_same_idempotency_key_sends_one_invitation(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    body = {"email": "grace@example.com", "role": "member"}
    headers = {"Idempotency-Key": "invite-grace"}
    first = gateway.call("POST", "/v1/invitations", as_="ada", tenant=tenant, body=body, headers=headers)
    again = gateway.call("POST", "/v1/invitations", as_="ada", tenant=tenant, body=body, headers=headers)
    assert first.status == again.status == 201
    assert first.body == again.body
    assert len(events_of(UserInvited.TYPE)) == 1


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(SystemClock().now())


def service(clock: FixedClock) -> InvitationService:
    cfg = wiring.config()
    return InvitationService(
        InvitationRepository(cfg.table),
        TenantRepository(cfg.table),
        ExpiryRepository(cfg.table),
        SignedInvitationLinks(cfg.invitation_key.get_secret_value),
        issuer=cfg.oidc_issuer,
        accept_url_template=cfg.invite_url_template,
        clock=clock,
    )


def test_an_invitation_expires_after_7_days(gateway: Gateway, clock: FixedClock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given an invitation sent now
    tenant = gateway.sign_up("ada", "Acme")
    monkeypatch.setattr(wiring, "invitations", lambda: service(clock))
    token = invitation_token(invite(gateway, tenant, "grace@example.com").body["id"])
    # When 7 days and a minute have passed
    clock.advance(timedelta(days=7, minutes=1))
    # Then it shows as expired and cannot be accepted, but still holds its seat until the sweep
    [listed] = gateway.call("GET", "/v1/invitations", as_="ada", tenant=tenant).body["items"]
    assert listed["status"] == "expired"
    reply = accept(gateway, "grace", token)
    assert (reply.status, reply.code) == (409, "invitation_expired")
    assert seats(gateway, tenant) == (1, 1, 2)


def test_the_hourly_job_records_lapsed_invitations_and_frees_their_seats(
    gateway: Gateway, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.identity.handlers import jobs

    # Given two invitations: one sent 8 days ago, one just now
    tenant = gateway.sign_up("ada", "Acme")
    monkeypatch.setattr(wiring, "invitations", lambda: service(clock))
    clock.advance(timedelta(days=-8))
    old = invite(gateway, tenant, "old@example.com").body
    clock.advance(timedelta(days=8))
    fresh = invite(gateway, tenant, "fresh@example.com").body
    assert seats(gateway, tenant) == (1, 2, 3)
    # When the job runs
    result = jobs.handler({"id": "evt-1"}, FakeLambdaContext())  # type: ignore[arg-type]
    # Then the lapsed one is expired and its seat free; the fresh one is untouched
    assert result == {"expired": 1}
    statuses = {
        i["id"]: i["status"] for i in gateway.call("GET", "/v1/invitations", as_="ada", tenant=tenant).body["items"]
    }
    assert statuses == {old["id"]: "expired", fresh["id"]: "pending"}
    assert seats(gateway, tenant) == (1, 1, 2)
    assert invite(gateway, tenant, "old@example.com").status == 201
    # And a second run finds nothing more to do
    assert jobs.handler({"id": "evt-2"}, FakeLambdaContext()) == {"expired": 0}  # type: ignore[arg-type]


def test_an_address_with_a_kelvin_sign_does_not_match_an_invitation_for_the_ascii_one(gateway: Gateway) -> None:
    # Given an invitation for kate@ (str.lower() would turn U+212A KELVIN SIGN into that "k")
    tenant = gateway.sign_up("ada", "Acme")
    token = invitation_token(invite(gateway, tenant, "kate@example.com").body["id"])
    # When someone whose IdP verified "\u212aate@example.com" accepts it
    reply = accept(gateway, "kelvin", token, "\u212aate@example.com")
    # Then it is refused and the seat is still the invitation's
    assert reply.status == 403
    assert seats(gateway, tenant) == (1, 1, 2)
    # and such an address cannot be invited either: addresses are ASCII
    assert invite(gateway, tenant, "\u212aate@example.com").status == 422
