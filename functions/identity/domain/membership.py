"""A user's membership of a tenant, with the role that decides what they may do there.

A membership also records the invitations its member sent that are still pending (``sent``): they
are the doors the member opened, and they close with the member. Removing a member revokes them
all, demoting one revokes those above the new role, both in the same transaction as the change
(``MAX_PENDING_SENT`` keeps that transaction within DynamoDB's 100 items).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from keel.tenancy import Role

#: Pending invitations one member may have out at once: each costs 4 items of the transaction that
#: removes or demotes the member (revoking it), which also needs 7 of its own; DynamoDB allows 100.
MAX_PENDING_SENT = 20


@dataclass(frozen=True)
class SentInvitation:
    """A pending invitation as its sender's membership records it: enough to revoke it in the same
    transaction as the sender's removal or demotion, without reading it first."""

    id: str
    email: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class Membership:
    tenant_id: str
    user_id: str
    email: str
    role: Role
    joined_at: datetime
    invitation_id: str | None = None
    sent: tuple[SentInvitation, ...] = ()
    version: int = 1

    def with_role(self, role: Role) -> Membership:
        return replace(self, role=role)

    def sent_above(self, role: Role) -> tuple[SentInvitation, ...]:
        """The pending invitations this member sent that grant more than ``role``."""
        return tuple(s for s in self.sent if not role.at_least(s.role))

    def without_sent(self, invitation_ids: Collection[str]) -> Membership:
        return replace(self, sent=tuple(s for s in self.sent if s.id not in invitation_ids))

    @property
    def may_send_more(self) -> bool:
        return len(self.sent) < MAX_PENDING_SENT
