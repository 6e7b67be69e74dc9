"""Invitations: invite by email within the seat limit, list, revoke, accept, and expire the lapsed."""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.identity.domain import instants
from functions.identity.domain.errors import (
    AccessChanged,
    InvitationNotFound,
    InvitationNotPending,
    TenantNotFound,
    TooManyPendingInvitations,
)
from functions.identity.domain.invitation import INVITATION_TTL, Invitation
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.membership import MAX_PENDING_SENT, Membership
from functions.identity.domain.ports import ExpiryIndex, InvitationLinks, InvitationStore, Page, TenantReader
from functions.identity.domain.roles import check_grant
from functions.identity.domain.tenant import Tenant
from functions.identity.domain.user import Person, UserProfile
from keel import ids, metrics
from keel.clock import Clock, SystemClock
from keel.contracts.identity import InvitationRevoked, MemberJoined, UserInvited
from keel.events import envelope
from keel.tenancy import Role, TenantContext

HOUR = timedelta(hours=1)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class InvitationService:
    def __init__(
        self,
        invitations: InvitationStore,
        tenants: TenantReader,
        expiry: ExpiryIndex,
        links: InvitationLinks,
        *,
        issuer: str,
        accept_url_template: str,
        clock: Clock | None = None,
    ) -> None:
        self._invitations = invitations
        self._tenants = tenants
        self._expiry = expiry
        self._links = links
        self._issuer = issuer
        self._accept_url_template = accept_url_template
        self._clock = clock or SystemClock()

    def invite(self, ctx: TenantContext, email: str, role: Role) -> Invitation:
        """Invite ``email`` as ``role`` for 7 days. The invitation holds a seat while pending, so
        inviting past the seat limit is a 409, as is inviting a member or someone already invited, or
        a member having ``MAX_PENDING_SENT`` invitations out already. A person's invitation is recorded
        on their membership: it is revoked if they are removed, or demoted below its role.

        Publishes ``identity.user.invited.v2``: what the invitation email needs, its link's template
        included, but not the link's token, which the mailer derives at send time and nobody stores
        (see ``keel.contracts.identity``).
        """
        check_grant(actor=ctx.role, role=role)
        tenant, sender = self._sender(ctx)
        if tenant is None:
            raise TenantNotFound("no such tenant")
        now = instants.now(self._clock)
        invitation = Invitation.issue(
            invitation_id=ids.new_id("inv", now),
            tenant_id=ctx.tenant_id,
            email=email,
            role=role,
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
            accept_url_template=self._accept_url_template,
        )
        self._invitations.acting_as(ctx).add(
            invitation,
            envelope(invited, tenant_id=ctx.tenant_id, aggregate_id=invitation.id, clock=self._clock),
            sender=sender,
        )
        return invitation

    def _sender(self, ctx: TenantContext) -> tuple[Tenant | None, Membership | None]:
        """The tenant, and the inviting person's membership as it is now (``None`` for an API key)."""
        if ids.is_id("key", ctx.user_id):
            return self._tenants.get(ctx.tenant_id), None
        tenant, sender = self._tenants.with_member(ctx.tenant_id, ctx.user_id)
        if tenant is not None and (sender is None or not sender.role.at_least(ctx.role)):
            raise AccessChanged("your access to this tenant changed; sign in again")
        if sender is not None and not sender.may_send_more:
            raise TooManyPendingInvitations(
                f"you have {MAX_PENDING_SENT} invitations pending; revoke one or wait for them to be accepted"
            )
        return tenant, sender

    def list(self, ctx: TenantContext, *, limit: int, cursor: str | None) -> Page[Invitation]:
        """One page of the tenant's invitations, oldest first, as seen now (lapsed ones expired)."""
        page = self._invitations.page(ctx.tenant_id, limit=limit, cursor=cursor)
        now = instants.now(self._clock)
        return Page(items=[i.as_seen_at(now) for i in page.items], cursor=page.cursor)

    def revoke(self, ctx: TenantContext, invitation_id: str) -> None:
        """Revoke a pending invitation and give its seat back. Revoking a closed (revoked or expired)
        invitation again changes nothing; an accepted one is a 409. Publishes
        ``identity.invitation.revoked.v1``."""
        invitation = self._invitations.get(ctx.tenant_id, invitation_id) if ids.is_id("inv", invitation_id) else None
        if invitation is None:
            raise InvitationNotFound("no such invitation")
        if invitation.status in (InvitationStatus.REVOKED, InvitationStatus.EXPIRED):
            return
        revoked = invitation.revoke(by=ctx.user_id, now=instants.now(self._clock))
        event = InvitationRevoked(
            invitation_id=invitation.id,
            email=invitation.email,
            role=invitation.role.value,
            revoked_by=ctx.user_id,
            reason="revoked",
        )
        self._invitations.acting_as(ctx).close(
            revoked, envelope(event, tenant_id=ctx.tenant_id, aggregate_id=invitation.id, clock=self._clock)
        )

    def accept(self, person: Person, token: str) -> Membership:
        """Join the invitation's tenant as the signed-in ``person``, whose verified email must be the
        invited one, while whoever sent it can still grant its role (else 403 ``invitation_withdrawn``).
        Needs a seat under the current limit: of two accepts for the last seat, one wins and the other
        is a 409. Publishes ``identity.member.joined.v1``; business metric ``MemberJoined``."""
        email = person.verified_email()
        opened = self._links.opened_by(token)
        invitation = self._invitations.pending(*opened) if opened and self._addresses(*opened) else None
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
        self._invitations.accept(accepted, member, profile, event)
        metrics.business("MemberJoined", tenant_id=member.tenant_id, role=member.role.value, via="invitation")
        return member

    @staticmethod
    def _addresses(tenant_id: str, invitation_id: str) -> bool:
        return ids.is_id("ten", tenant_id) and ids.is_id("inv", invitation_id)

    def expire_lapsed(self) -> int:
        """Record as expired every pending invitation whose hour of expiry has passed, giving its seat
        back; resumes where the last run stopped (no Scan: invitations are indexed by hour of expiry).
        Returns how many were expired."""
        now = instants.now(self._clock)
        last_full_hour = hour_of(now) - HOUR
        done = self._expiry.swept_until()
        hour = done + HOUR if done is not None else hour_of(now - INVITATION_TTL - timedelta(days=1))
        expired = 0
        while hour <= last_full_hour:
            for tenant_id, invitation_id in self._expiry.expiring_in(hour):
                invitation = self._invitations.get(tenant_id, invitation_id)
                if invitation is None or invitation.status_at(now) is not InvitationStatus.EXPIRED:
                    continue
                try:
                    self._invitations.close(invitation.expire(now=now))
                except InvitationNotPending:
                    continue
                expired += 1
            self._expiry.record_sweep(hour)
            hour += HOUR
        return expired
