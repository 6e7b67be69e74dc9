"""Memberships (``MEMBER#``, their ``EMAIL#`` seat holders and the ``USER#`` index of a user's tenants).

Removing or demoting a member revokes, in the same transaction, the pending invitations the member
sent (those above the new role), which the member item lists; its version condition makes a
concurrent invitation by that member either land first (and fail this write) or fail itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from functions.identity.adapters import items
from functions.identity.adapters.invitations import revoke_sent
from functions.identity.adapters.keys import (
    MEMBER,
    USER_TENANT_PREFIX,
    email_key,
    member_key,
    seats_key,
    user_membership_key,
    user_pk,
)
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.errors import LastOwner
from functions.identity.domain.invitation import Revocation
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import Page
from functions.identity.domain.tenant import ANOTHER_OWNER, Seats
from keel.events import Envelope
from keel.store import entity_sk, tenant_pk
from keel.tenancy import Role


class MemberRepository(IdentityTable):
    """Implements ``MemberStore`` and ``MembershipIndex``."""

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Membership]:
        return self._page(tenant_pk(tenant_id), entity_sk(MEMBER), items.to_member, limit=limit, cursor=cursor)

    def memberships_of(self, user_id: str, *, limit: int, cursor: str | None) -> Page[Membership]:
        return self._page(user_pk(user_id), USER_TENANT_PREFIX, items.to_member, limit=limit, cursor=cursor)

    def with_seats(self, tenant_id: str, user_id: str) -> tuple[Membership | None, Seats | None]:
        member, seats = self._get_many(member_key(tenant_id, user_id), seats_key(tenant_id))
        return (items.to_member(member) if member else None), (items.to_seats(seats) if seats else None)

    def change_role(
        self, member: Membership, role: Role, event: Envelope, revocations: Sequence[Revocation] = ()
    ) -> None:
        changed = member.with_role(role).without_sent({r.invitation.id for r in revocations})
        tx = self._tx(actor_item_written=member_key(member.tenant_id, member.user_id))
        tx.put_versioned(items.member_item(changed), expected_version=member.version)
        tx.put(items.user_membership_item(changed))
        pending = -len(revocations)
        if member.role is Role.OWNER and role is not Role.OWNER:
            self._move_seats(
                tx,
                member.tenant_id,
                owners=-1,
                pending=pending,
                require=[ANOTHER_OWNER],
                on_condition_failed=LastOwner("the last owner cannot be demoted"),
                drop=[items.owner_attribute(member.user_id)],
            )
        elif role is Role.OWNER and member.role is not Role.OWNER:
            self._move_seats(tx, member.tenant_id, owners=1, put={items.owner_attribute(member.user_id): member.email})
        elif revocations:
            self._move_seats(tx, member.tenant_id, pending=pending)
        for revocation in revocations:
            revoke_sent(tx, member.tenant_id, revocation)
        tx.publish(event)
        self._execute(tx)

    def remove(self, member: Membership, event: Envelope, revocations: Sequence[Revocation] = ()) -> None:
        tx = self._tx(actor_item_written=member_key(member.tenant_id, member.user_id))
        tx.delete(
            member_key(member.tenant_id, member.user_id),
            condition="#version = :version",
            names={"#version": "version"},
            values={":version": member.version},
        )
        tx.delete(user_membership_key(member.user_id, member.tenant_id))
        tx.delete(email_key(member.tenant_id, member.email))
        if member.role is Role.OWNER:
            self._move_seats(
                tx,
                member.tenant_id,
                members=-1,
                owners=-1,
                pending=-len(revocations),
                require=[ANOTHER_OWNER],
                on_condition_failed=LastOwner("the last owner cannot leave or be removed"),
                drop=[items.owner_attribute(member.user_id)],
            )
        else:
            self._move_seats(tx, member.tenant_id, members=-1, pending=-len(revocations))
        for revocation in revocations:
            revoke_sent(tx, member.tenant_id, revocation)
        tx.publish(event)
        self._execute(tx)
