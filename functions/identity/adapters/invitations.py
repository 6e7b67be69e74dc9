"""Invitations (``INVITATION#``), their seat-holding ``EMAIL#`` item, their place in the ``EXPIRES#``
index, and their entry on the sender's member item (``sent_<id>``, kept exactly while the invitation
is pending). Nothing here holds the token of an invitation's link: it is derived, not stored."""

from __future__ import annotations

from functions.identity.adapters import items
from functions.identity.adapters.keys import (
    INVITATION,
    api_key_key,
    email_key,
    expiry_key,
    invitation_key,
    member_key,
)
from functions.identity.adapters.store import (
    EXISTS,
    KEY_ACTIVE,
    Condition,
    IdentityTable,
    access_changed,
    check_tenant_active,
    roles_at_least,
)
from functions.identity.domain.errors import (
    AlreadyMember,
    AlreadyMemberOrInvited,
    InvitationNotPending,
    InvitationWithdrawn,
    SeatLimitReached,
)
from functions.identity.domain.invitation import Invitation, Revocation
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import Page
from functions.identity.domain.tenant import SEAT_FOR_INVITATION, SEAT_FOR_MEMBER
from functions.identity.domain.user import UserProfile
from keel import ids
from keel.clock import iso
from keel.errors import KeelError
from keel.events import Envelope
from keel.store import Transaction, entity_sk, tenant_pk
from keel.tenancy import Role


def _changed_meanwhile() -> InvitationNotPending:
    return InvitationNotPending("this invitation changed meanwhile; it is no longer pending")


def revoke_sent(tx: Transaction, tenant_id: str, revocation: Revocation) -> None:
    """Revoke a pending invitation without reading it, in ``tx`` (its sender's removal or demotion):
    the invitation, its expiry entry, its email and its event; the caller gives its seat back and
    writes the sender's member item."""
    sent = revocation.invitation
    tx.update(
        invitation_key(tenant_id, sent.id),
        "SET #status = :revoked, #closed_at = :at, #closed_by = :by ADD #version :one",
        condition="#status = :pending",
        names={"#status": "status", "#closed_at": "closed_at", "#closed_by": "closed_by", "#version": "version"},
        values={
            ":revoked": InvitationStatus.REVOKED.value,
            ":pending": InvitationStatus.PENDING.value,
            ":at": iso(revocation.at),
            ":by": revocation.by,
            ":one": 1,
        },
        on_condition_failed=_changed_meanwhile(),
    )
    tx.delete(expiry_key(tenant_id, sent.id, sent.expires_at))
    tx.delete(
        email_key(tenant_id, sent.email), condition="invitation_id = :invitation", values={":invitation": sent.id}
    )
    tx.publish(revocation.event)


class _SenderGone(KeelError):
    """The sender's member item is missing: nothing of theirs to update (an invitation older than
    the sender's record of it)."""


class InvitationRepository(IdentityTable):
    """Implements ``InvitationStore``."""

    def add(self, invitation: Invitation, event: Envelope, *, sender: Membership | None = None) -> None:
        sender_key = member_key(invitation.tenant_id, sender.user_id) if sender else None
        tx = self._tx(actor_item_written=sender_key)
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
        tx.put_new(
            expiry_key(invitation.tenant_id, invitation.id, invitation.expires_at)
            | {"tenant_id": invitation.tenant_id, "invitation_id": invitation.id}
        )
        if sender is not None:
            # The sender's item as read (its role checked by the service): bumping its version makes a
            # concurrent removal or demotion of the sender, which revokes what it read, retry and see this one.
            tx.update(
                member_key(invitation.tenant_id, sender.user_id),
                "SET #sent = :sent ADD #version :one",
                condition="#version = :read",
                names={"#sent": items.sent_attribute(invitation.id), "#version": "version"},
                values={":sent": items.sent_entry(invitation.as_sent()), ":read": sender.version, ":one": 1},
            )
        tx.publish(event)
        self._execute(tx)

    def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        item = self._get(invitation_key(tenant_id, invitation_id))
        return items.to_invitation(item) if item else None

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invitation]:
        return self._page(tenant_pk(tenant_id), entity_sk(INVITATION), items.to_invitation, limit=limit, cursor=cursor)

    def pending(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        invitation = self.get(tenant_id, invitation_id)
        return invitation if invitation is not None and invitation.status is InvitationStatus.PENDING else None

    def accept(self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope) -> None:
        tx = self._tx()
        check_tenant_active(tx, member.tenant_id)  # no one joins a suspended tenant
        owner = member.role is Role.OWNER
        self._move_seats(
            tx,
            member.tenant_id,
            members=1,
            pending=-1,
            owners=1 if owner else 0,
            require=[SEAT_FOR_MEMBER],
            on_condition_failed=SeatLimitReached("the tenant has no free seat left; ask an admin to free one"),
            put={items.owner_attribute(member.user_id): member.email} if owner else None,
        )
        self._close(tx, accepted)
        self._sender_still_grants(tx, accepted)
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

    def close(self, closed: Invitation, event: Envelope | None = None) -> None:
        def closing(forget_on_sender: bool) -> Transaction:
            sender_key = member_key(closed.tenant_id, closed.invited_by)
            tx = self._tx(actor_item_written=sender_key if forget_on_sender else None)
            self._close(tx, closed)
            tx.delete(
                email_key(closed.tenant_id, closed.email),
                condition="invitation_id = :invitation",
                values={":invitation": closed.id},
            )
            self._move_seats(tx, closed.tenant_id, pending=-1)
            if forget_on_sender:
                actor = self._actor_check_on(sender_key)
                self._forget_on_sender(
                    tx,
                    closed,
                    EXISTS & actor if actor else EXISTS,
                    on_condition_failed=access_changed() if actor else _SenderGone("sender gone"),
                )
            if event is not None:
                tx.publish(event)
            return tx

        by_person = not ids.is_id("key", closed.invited_by)
        try:
            self._execute(closing(forget_on_sender=by_person))
        except _SenderGone:
            self._execute(closing(forget_on_sender=False))

    @staticmethod
    def _close(tx: Transaction, closed: Invitation) -> None:
        """The writes every closing shares: the invitation (if still the version read), its expiry entry."""
        tx.put_versioned(
            invitation_key(closed.tenant_id, closed.id) | items.invitation_fields(closed),
            expected_version=closed.version,
            on_condition_failed=_changed_meanwhile(),
        )
        tx.delete(expiry_key(closed.tenant_id, closed.id, closed.expires_at))

    def _sender_still_grants(self, tx: Transaction, invitation: Invitation) -> None:
        """Accepting re-checks, in its own transaction, that the sender could still grant the role: a
        member at least that role (an owner for an owner), or an API key of at least that role, unrevoked."""
        grants = roles_at_least(invitation.role, placeholder="g")
        withdrawn = InvitationWithdrawn("whoever invited you can no longer grant this role; ask for a new invitation")
        if ids.is_id("key", invitation.invited_by):
            condition = KEY_ACTIVE & grants
            tx.check(
                api_key_key(invitation.tenant_id, invitation.invited_by),
                condition.expression,
                names=condition.names,
                values=condition.values,
                on_condition_failed=withdrawn,
            )
            return
        self._forget_on_sender(tx, invitation, grants, on_condition_failed=withdrawn)

    @staticmethod
    def _forget_on_sender(
        tx: Transaction, invitation: Invitation, condition: Condition, *, on_condition_failed: KeelError
    ) -> None:
        """Remove the invitation from its sender's member item, if ``condition`` holds there (it must
        name the item's existence one way or another: an update would create a missing item)."""
        tx.update(
            member_key(invitation.tenant_id, invitation.invited_by),
            "REMOVE #sent",
            condition=condition.expression,
            names={"#sent": items.sent_attribute(invitation.id), **condition.names},
            values=dict(condition.values),
            on_condition_failed=on_condition_failed,
        )
