"""Invitations (``INVITATION#``), their seat-holding ``EMAIL#`` item, their ``INVITE#`` lookup by token
hash (gone once closed) and their place in the ``EXPIRES#`` index."""

from __future__ import annotations

from functions.identity.adapters import items
from functions.identity.adapters.keys import (
    INVITATION,
    email_key,
    expiry_key,
    invitation_key,
    invite_lookup_key,
)
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.errors import (
    AlreadyMember,
    AlreadyMemberOrInvited,
    InvitationNotPending,
    SeatLimitReached,
)
from functions.identity.domain.invitation import Invitation
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import Page
from functions.identity.domain.tenant import SEAT_FOR_INVITATION, SEAT_FOR_MEMBER
from functions.identity.domain.user import UserProfile
from keel.events import Envelope
from keel.store import Transaction, entity_sk, tenant_pk
from keel.tenancy import Role


class InvitationRepository(IdentityTable):
    """Implements ``InvitationStore``."""

    def add(self, invitation: Invitation, event: Envelope) -> None:
        tx = self._tx()
        fields = items.invitation_fields(invitation)
        self._move_seats(
            tx,
            invitation.tenant_id,
            pending=1,
            require=[SEAT_FOR_INVITATION],
            on_condition_failed=SeatLimitReached("every seat is taken (pending invitations hold one); free one first"),
        )
        tx.put_new(
            email_key(invitation.tenant_id, invitation.email)
            | {"holder": "invitation", "invitation_id": invitation.id},
            on_condition_failed=AlreadyMemberOrInvited(f"{invitation.email} is already a member or invited"),
        )
        tx.put_versioned(invitation_key(invitation.tenant_id, invitation.id) | fields, expected_version=None)
        tx.put_new(invite_lookup_key(invitation.token_hash) | fields | {"version": invitation.version})
        tx.put_new(
            expiry_key(invitation.tenant_id, invitation.id, invitation.expires_at)
            | {"tenant_id": invitation.tenant_id, "invitation_id": invitation.id}
        )
        tx.publish(event)
        self._execute(tx)

    def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        item = self._get(invitation_key(tenant_id, invitation_id))
        return items.to_invitation(item) if item else None

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invitation]:
        return self._page(tenant_pk(tenant_id), entity_sk(INVITATION), items.to_invitation, limit=limit, cursor=cursor)

    def pending(self, token_hash: str) -> Invitation | None:
        item = self._get(invite_lookup_key(token_hash))
        return items.to_invitation(item) if item else None

    def accept(self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope) -> None:
        tx = self._tx()
        self._move_seats(
            tx,
            member.tenant_id,
            members=1,
            pending=-1,
            owners=1 if member.role is Role.OWNER else 0,
            require=[SEAT_FOR_MEMBER],
            on_condition_failed=SeatLimitReached("the tenant has no free seat left; ask an admin to free one"),
        )
        self._close(tx, accepted)
        tx.put_versioned(
            items.member_item(member),
            expected_version=None,
            on_condition_failed=AlreadyMember("you are already a member of this tenant"),
        )
        tx.put(
            email_key(member.tenant_id, member.email) | {"holder": "member", "user_id": member.user_id},
            condition="invitation_id = :invitation",
            values={":invitation": accepted.id},
        )
        tx.put(items.user_membership_item(member))
        tx.put(items.profile_item(profile))
        tx.publish(event)
        self._execute(tx)

    def close(self, closed: Invitation) -> None:
        tx = self._tx()
        self._close(tx, closed)
        tx.delete(
            email_key(closed.tenant_id, closed.email),
            condition="invitation_id = :invitation",
            values={":invitation": closed.id},
        )
        self._move_seats(tx, closed.tenant_id, pending=-1)
        self._execute(tx)

    @staticmethod
    def _close(tx: Transaction, closed: Invitation) -> None:
        """The writes every closing shares: the invitation (if still the version read), its lookups."""
        tx.put_versioned(
            invitation_key(closed.tenant_id, closed.id) | items.invitation_fields(closed),
            expected_version=closed.version,
            on_condition_failed=InvitationNotPending("this invitation changed meanwhile; it is no longer pending"),
        )
        tx.delete(invite_lookup_key(closed.token_hash))
        tx.delete(expiry_key(closed.tenant_id, closed.id, closed.expires_at))
