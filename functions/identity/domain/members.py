"""Members of a tenant: list them, change their role, remove them (or leave).

Offboarding closes every door the member opened: their pending invitations go with them (all of
them on removal, those above the new role on demotion), in the same write. API keys stay: they
belong to the tenant, not to whoever created them (revoke them apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from functions.identity.domain import instants
from functions.identity.domain.errors import MemberNotFound
from functions.identity.domain.invitation import Revocation
from functions.identity.domain.membership import Membership, SentInvitation
from functions.identity.domain.ports import MemberStore, Page
from functions.identity.domain.roles import check_removal, check_role_change
from functions.identity.domain.tenant import Seats
from keel import ids
from keel.clock import Clock, SystemClock
from keel.contracts.identity import InvitationRevoked, MemberRemoved, MemberRoleChanged
from keel.events import envelope
from keel.tenancy import Role, TenantContext


class MemberService:
    def __init__(self, members: MemberStore, *, clock: Clock | None = None) -> None:
        self._members = members
        self._clock = clock or SystemClock()

    def _member(self, ctx: TenantContext, user_id: str) -> tuple[Membership, Seats]:
        if not ids.is_id("usr", user_id):
            raise MemberNotFound("no such member")
        member, seats = self._members.with_seats(ctx.tenant_id, user_id)
        if member is None or seats is None:
            raise MemberNotFound("no such member")
        return member, seats

    def _acting(self, ctx: TenantContext, member: Membership) -> tuple[MemberStore, Role]:
        """The store to write with (re-checking the tenant is not suspended, and the actor) and the
        actor's role to judge by. Acting on oneself, the member item just read is the actor's own,
        fresh and version-checked by the write; on anyone else, the write re-checks the (possibly
        cached) role of the actor."""
        return self._members.acting_as(ctx), member.role if member.user_id == ctx.user_id else ctx.role

    def list(self, ctx: TenantContext, *, limit: int, cursor: str | None) -> Page[Membership]:
        """One page of the tenant's members."""
        return self._members.page(ctx.tenant_id, limit=limit, cursor=cursor)

    def change_role(self, ctx: TenantContext, user_id: str, role: Role) -> Membership:
        """Give a member another role. Only owners touch owners; the last owner stays one (409).

        Publishes ``identity.member.role_changed.v1`` (nothing when the role is already ``role``); a
        demotion revokes the member's pending invitations above the new role (``identity.invitation.revoked.v1``).
        """
        member, seats = self._member(ctx, user_id)
        store, actor_role = self._acting(ctx, member)
        check_role_change(actor=actor_role, current=member.role, new=role, owners=seats.owners)
        if member.role is role:
            return member
        event = MemberRoleChanged(
            user_id=user_id, previous_role=member.role.value, role=role.value, changed_by=ctx.user_id
        )
        store.change_role(
            member,
            role,
            envelope(event, tenant_id=ctx.tenant_id, aggregate_id=user_id, clock=self._clock),
            self._revocations(ctx, member.sent_above(role), reason="sender_demoted"),
        )
        return member.with_role(role).without_sent({s.id for s in member.sent_above(role)})

    def remove(self, ctx: TenantContext, user_id: str) -> None:
        """Remove a member (admin), or leave (anyone, for themself). Owners go only by an owner's hand,
        and never the last one (409). Publishes ``identity.member.removed.v1``; the seat is freed, and
        so are those of the member's pending invitations, revoked (``identity.invitation.revoked.v1``)."""
        member, seats = self._member(ctx, user_id)
        store, actor_role = self._acting(ctx, member)
        check_removal(
            actor=actor_role, actor_id=ctx.user_id, member_id=user_id, member_role=member.role, owners=seats.owners
        )
        event = MemberRemoved(
            user_id=user_id,
            email=member.email,
            role=member.role.value,
            removed_by=ctx.user_id,
            reason="left" if ctx.user_id == user_id else "removed",
        )
        store.remove(
            member,
            envelope(event, tenant_id=ctx.tenant_id, aggregate_id=user_id, clock=self._clock),
            self._revocations(ctx, member.sent, reason="sender_removed"),
        )

    def _revocations(
        self, ctx: TenantContext, sent: Sequence[SentInvitation], *, reason: Literal["sender_removed", "sender_demoted"]
    ) -> Sequence[Revocation]:
        now = instants.now(self._clock)
        revocations: list[Revocation] = []
        for invitation in sent:
            revoked = InvitationRevoked(
                invitation_id=invitation.id,
                email=invitation.email,
                role=invitation.role.value,
                revoked_by=ctx.user_id,
                reason=reason,
            )
            event = envelope(revoked, tenant_id=ctx.tenant_id, aggregate_id=invitation.id, clock=self._clock)
            revocations.append(Revocation(invitation=invitation, by=ctx.user_id, at=now, event=event))
        return revocations
