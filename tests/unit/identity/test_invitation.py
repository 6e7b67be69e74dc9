"""Invitations as a state machine in time: pending, accepted, revoked, expired (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.identity.domain.errors import InvitationExpired, InvitationForSomeoneElse, InvitationNotPending
from functions.identity.domain.invitation import INVITATION_TTL, Invitation
from functions.identity.domain.invitation_status import InvitationStatus
from keel.errors import KeelError
from keel.tenancy import Role

SENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def invitation(email: str = "Grace@Example.com") -> Invitation:
    return Invitation.issue(
        invitation_id="inv_1", tenant_id="ten_1", email=email, role=Role.ADMIN, invited_by="usr_ada", now=SENT
    )


def test_a_new_invitation_is_pending_for_seven_days_for_the_normalized_address() -> None:
    pending = invitation()
    assert pending.status is InvitationStatus.PENDING
    assert pending.expires_at - pending.created_at == timedelta(days=7) == INVITATION_TTL
    assert pending.email == "grace@example.com"


@given(offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_a_pending_invitation_is_expired_exactly_from_its_expiry_on(offset: timedelta) -> None:
    pending = invitation()
    status = pending.status_at(SENT + offset)
    assert status is (InvitationStatus.EXPIRED if offset >= INVITATION_TTL else InvitationStatus.PENDING)


@given(
    email=st.sampled_from(["grace@example.com", "GRACE@EXAMPLE.COM", " Grace@example.com ", "grace@example.org"]),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
)
def test_only_the_invited_email_accepts_and_only_in_time(email: str, offset: timedelta) -> None:
    pending = invitation()
    at = SENT + offset
    if offset >= INVITATION_TTL:
        with pytest.raises(InvitationExpired):
            pending.accept(user_id="usr_grace", email=email, now=at)
    elif email.strip().lower() != "grace@example.com":
        with pytest.raises(InvitationForSomeoneElse):
            pending.accept(user_id="usr_grace", email=email, now=at)
    else:
        accepted = pending.accept(user_id="usr_grace", email=email, now=at)
        assert (accepted.status, accepted.accepted_by, accepted.closed_at) == (
            InvitationStatus.ACCEPTED,
            "usr_grace",
            at,
        )


def test_a_kelvin_sign_address_does_not_match_the_ascii_one() -> None:
    # str.lower() maps U+212A KELVIN SIGN to "k": compared that way, this address would match
    pending = invitation("kate@example.com")
    with pytest.raises(InvitationForSomeoneElse):
        pending.accept(user_id="usr_kelvin", email="\u212aate@example.com", now=SENT)


actions = st.lists(st.sampled_from(["accept", "revoke", "expire"]), min_size=1, max_size=5)


@given(steps=actions, days=st.lists(st.integers(min_value=0, max_value=10), min_size=5, max_size=5))
def test_an_invitation_closes_at_most_once_and_a_closed_one_never_reopens(steps: list[str], days: list[int]) -> None:
    current = invitation()
    closed_by: str | None = None
    for step, day in zip(steps, sorted(days), strict=False):
        at = SENT + timedelta(days=day)
        try:
            if step == "accept":
                current = current.accept(user_id="usr_grace", email="grace@example.com", now=at)
            elif step == "revoke":
                current = current.revoke(by="usr_ada", now=at)
            else:
                current = current.expire(now=at)
        except KeelError:
            continue
        assert closed_by is None, f"{step} after {closed_by}"
        closed_by = step
        assert current.status is not InvitationStatus.PENDING


def test_expiring_needs_a_lapsed_pending_invitation() -> None:
    pending = invitation()
    with pytest.raises(InvitationNotPending):
        pending.expire(now=SENT + timedelta(days=1))
    expired = pending.expire(now=SENT + timedelta(days=8))
    assert expired.status is InvitationStatus.EXPIRED
    with pytest.raises(InvitationNotPending):
        expired.revoke(by="usr_ada", now=SENT + timedelta(days=9))


def test_a_lapsed_but_unrecorded_invitation_may_still_be_revoked_to_free_its_seat() -> None:
    pending = invitation()
    revoked = pending.revoke(by="usr_ada", now=SENT + timedelta(days=9))
    assert revoked.status is InvitationStatus.REVOKED
