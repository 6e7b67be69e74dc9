"""Projects' own read model of the tenant's members, fed by identity's events (never by identity's
table): who may be assigned a task. Events arrive unordered, so each side keeps its latest time and a
member is one whose latest joining is after their latest removal."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Membership:
    user_id: str
    joined_at: datetime | None = None
    removed_at: datetime | None = None
    version: int = 0

    @property
    def is_member(self) -> bool:
        return self.joined_at is not None and (self.removed_at is None or self.joined_at > self.removed_at)


class Roster(Protocol):
    """Memberships as this context holds them; ``save`` writes into the consumer's transaction."""

    def membership(self, tenant_id: str, user_id: str) -> Membership | None: ...

    def save(self, tenant_id: str, membership: Membership) -> None:
        """Store ``membership`` if the stored one is still at ``membership.version - 1``."""
        ...


class MemberRoster:
    """Keeps the read model from identity's joined and removed events."""

    def __init__(self, roster: Roster) -> None:
        self._roster = roster

    def joined(self, tenant_id: str, user_id: str, *, at: datetime) -> None:
        """``user_id`` became a member at ``at`` (a sign-up's owner, an accepted invitation)."""
        held = self._held(tenant_id, user_id)
        if held.joined_at is None or at > held.joined_at:
            self._roster.save(tenant_id, replace(held, joined_at=at, version=held.version + 1))

    def removed(self, tenant_id: str, user_id: str, *, at: datetime) -> None:
        """``user_id`` left or was removed at ``at``."""
        held = self._held(tenant_id, user_id)
        if held.removed_at is None or at > held.removed_at:
            self._roster.save(tenant_id, replace(held, removed_at=at, version=held.version + 1))

    def _held(self, tenant_id: str, user_id: str) -> Membership:
        return self._roster.membership(tenant_id, user_id) or Membership(user_id)
