"""Invitations: invite by email within the seat limit, list, revoke, accept, and expire the lapsed."""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.identity.domain import instants
from functions.identity.domain.errors import InvitationNotFound, InvitationNotPending, TenantNotFound
from functions.identity.domain.invitation import INVITATION_TTL, Invitation, InvitationStatus, hash_token
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import IdentityStore
from functions.identity.domain.roles import check_grant
from functions.identity.domain.user import Person, UserProfile
from functions.identity.domain.views import (
    AcceptedInvitation,
    AcceptInvitation,
    InvitationPage,
    InvitationView,
    NewInvitation,
)
from keel import ids
from keel.clock import Clock, SystemClock
from keel.contracts.identity import MemberJoined, UserInvited
from keel.events import envelope
from keel.tenancy import TenantContext

HOUR = timedelta(hours=1)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class InvitationService:
    def __init__(
        self, store: IdentityStore, *, issuer: str, accept_url_template: str, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._issuer = issuer
        self._accept_url_template = accept_url_template
        self._clock = clock or SystemClock()

    def view(self, invitation: Invitation) -> InvitationView:
        """The invitation as the API shows it: no token hash, a lapsed pending one as expired."""
        return InvitationView(
            id=invitation.id,
            email=invitation.email,
            role=invitation.role,
            status=invitation.status_at(instants.now(self._clock)),
            invited_by=invitation.invited_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )

    def invite(self, ctx: TenantContext, body: NewInvitation) -> InvitationView:
        """Invite ``body.email`` as ``body.role`` for 7 days. The invitation holds a seat while pending,
        so inviting past the seat limit is a 409, as is inviting a member or someone already invited.

        Publishes ``identity.user.invited.v1`` whose ``accept_url`` carries the one-time token (see
        ``keel.contracts.identity``); the token is returned to nobody else and stored only hashed.
        """
        check_grant(actor=ctx.role, role=body.role)
        tenant = self._store.tenant(ctx.tenant_id)
        if tenant is None:
            raise TenantNotFound("no such tenant")
        now = instants.now(self._clock)
        invitation, token = Invitation.issue(
            invitation_id=ids.new_id("inv", now),
            tenant_id=ctx.tenant_id,
            email=body.email,
            role=body.role,
            invited_by=ctx.user_id,
            now=now,
        )
        invited = UserInvited(
            invitation_id=invitation.id,
            email=invitation.email,
            role=invitation.role.value,
            invited_by=ctx.user_id,
            tenant_name=tenant.name,
            expires_at=invitation.expires_at,
            accept_url=self._accept_url_template.replace("{token}", token),
        )
        self._store.acting_as(ctx).invite(
            invitation, envelope(invited, tenant_id=ctx.tenant_id, aggregate_id=invitation.id, clock=self._clock)
        )
        return self.view(invitation)

    def list(self, ctx: TenantContext, *, limit: int, cursor: str | None) -> InvitationPage:
        """One page of the tenant's invitations, oldest first, lapsed ones shown as expired."""
        page = self._store.invitations(ctx.tenant_id, limit=limit, cursor=cursor)
        return InvitationPage(items=[self.view(i) for i in page.items], cursor=page.cursor)

    def revoke(self, ctx: TenantContext, invitation_id: str) -> None:
        """Revoke a pending invitation and give its seat back. Revoking a closed (revoked or expired)
        invitation again changes nothing; an accepted one is a 409."""
        invitation = self._store.invitation(ctx.tenant_id, invitation_id) if ids.is_id("inv", invitation_id) else None
        if invitation is None:
            raise InvitationNotFound("no such invitation")
        if invitation.status in (InvitationStatus.REVOKED, InvitationStatus.EXPIRED):
            return
        self._store.acting_as(ctx).close_invitation(invitation.revoke(by=ctx.user_id, now=instants.now(self._clock)))

    def accept(self, person: Person, body: AcceptInvitation) -> AcceptedInvitation:
        """Join the invitation's tenant as the signed-in ``person``, whose verified email must be the
        invited one. Needs a seat under the current limit: of two accepts for the last seat, one
        wins and the other is a 409. Publishes ``identity.member.joined.v1``."""
        email = person.verified_email()
        invitation = self._store.pending_invitation(hash_token(body.token))
        if invitation is None:
            raise InvitationNotFound("no such invitation, or it was already used or revoked")
        now = instants.now(self._clock)
        accepted = invitation.accept(user_id=person.user_id, email=email, now=now)
        member = Membership(
            tenant_id=invitation.tenant_id,
            user_id=person.user_id,
            email=email,
            role=invitation.role,
            joined_at=now,
            invitation_id=invitation.id,
        )
        profile = UserProfile(
            user_id=person.user_id, email=email, issuer=self._issuer, subject=person.subject, updated_at=now
        )
        joined = MemberJoined(user_id=person.user_id, email=email, role=member.role.value, invitation_id=invitation.id)
        event = envelope(joined, tenant_id=invitation.tenant_id, aggregate_id=person.user_id, clock=self._clock)
        self._store.accept_invitation(accepted, member, profile, event)
        return AcceptedInvitation(tenant_id=member.tenant_id, user_id=member.user_id, role=member.role)

    def expire_lapsed(self) -> int:
        """Record as expired every pending invitation whose hour of expiry has passed, giving its seat
        back; resumes where the last run stopped (no Scan: invitations are indexed by hour of expiry).
        Returns how many were expired."""
        now = instants.now(self._clock)
        last_full_hour = hour_of(now) - HOUR
        done = self._store.expiry_sweep_done_until()
        hour = done + HOUR if done is not None else hour_of(now - INVITATION_TTL - timedelta(days=1))
        expired = 0
        while hour <= last_full_hour:
            for tenant_id, invitation_id in self._store.invitations_expiring_in(hour):
                invitation = self._store.invitation(tenant_id, invitation_id)
                if invitation is None or invitation.status_at(now) is not InvitationStatus.EXPIRED:
                    continue
                try:
                    self._store.close_invitation(invitation.expire(now=now))
                except InvitationNotPending:
                    continue
                expired += 1
            self._store.record_expiry_sweep(hour)
            hour += HOUR
        return expired
