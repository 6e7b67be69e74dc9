"""Invitations: an email, a role and a 7-day life; the link that opens one is derived from its ids
and identity's invitation key (``keel.contracts.identity``), never stored.

States: pending -> accepted | revoked | expired. A pending invitation past its expiry *is*
expired (``status_at``) even before the hourly job records it; the job exists to give its seat
back. Only the signed-in user whose verified email is the invited one may accept (both in the one
normalized form of ``keel.text.normalize_email``: ``A-Z`` lower-cased, nothing else folded), and
only while whoever sent it could still grant its role: a sender who is removed or demoted takes
their pending invitations (those above their new role) with them, and accepting re-checks the
sender in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from functions.identity.domain.errors import (
    InvitationExpired,
    InvitationForSomeoneElse,
    InvitationNotPending,
)
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.membership import SentInvitation
from keel.tenancy import Role
from keel.text import normalize_email

if TYPE_CHECKING:
    from keel.events import Envelope

INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class Invitation:
    id: str
    tenant_id: str
    email: str
    role: Role
    status: InvitationStatus
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    version: int = 1

    @classmethod
    def issue(
        cls, *, invitation_id: str, tenant_id: str, email: str, role: Role, invited_by: str, now: datetime
    ) -> Invitation:
        """A new pending invitation."""
        return cls(
            id=invitation_id,
            tenant_id=tenant_id,
            email=normalize_email(email),
            role=role,
            status=InvitationStatus.PENDING,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITATION_TTL,
        )

    def status_at(self, now: datetime) -> InvitationStatus:
        """The status as the business sees it at ``now`` (a lapsed pending invitation is expired)."""
        if self.status is InvitationStatus.PENDING and now >= self.expires_at:
            return InvitationStatus.EXPIRED
        return self.status

    def as_sent(self) -> SentInvitation:
        """What its sender's membership records of it while it is pending."""
        return SentInvitation(id=self.id, email=self.email, role=self.role, expires_at=self.expires_at)

    def as_seen_at(self, now: datetime) -> Invitation:
        """The invitation as the business shows it at ``now``: a lapsed pending one is expired."""
        return replace(self, status=self.status_at(now))

    def accept(self, *, user_id: str, email: str, now: datetime) -> Invitation:
        """Accepted by ``user_id``, whose verified email must be the invited one."""
        status = self.status_at(now)
        if status is InvitationStatus.EXPIRED:
            raise InvitationExpired("this invitation has expired; ask for a new one")
        if status is not InvitationStatus.PENDING:
            raise InvitationNotPending(f"this invitation is {status.value}")
        if normalize_email(email) != self.email:
            raise InvitationForSomeoneElse("this invitation is for another email address")
        return replace(self, status=InvitationStatus.ACCEPTED, accepted_by=user_id, closed_at=now, closed_by=user_id)

    def revoke(self, *, by: str, now: datetime) -> Invitation:
        """Revoked (a lapsed but unrecorded one too, which gives its seat back)."""
        if self.status is not InvitationStatus.PENDING:
            raise InvitationNotPending(f"this invitation is {self.status.value}")
        return replace(self, status=InvitationStatus.REVOKED, closed_at=now, closed_by=by)

    def expire(self, *, now: datetime) -> Invitation:
        """Recorded as expired; only a pending invitation past its expiry can be."""
        if self.status_at(now) is not InvitationStatus.EXPIRED or self.status is not InvitationStatus.PENDING:
            raise InvitationNotPending(f"this invitation is {self.status_at(now).value}")
        return replace(self, status=InvitationStatus.EXPIRED, closed_at=now)


@dataclass(frozen=True)
class Revocation:
    """A pending invitation revoked as part of another change (its sender's removal or demotion),
    with the ``identity.invitation.revoked.v1`` event that announces it."""

    invitation: SentInvitation
    by: str
    at: datetime
    event: Envelope
