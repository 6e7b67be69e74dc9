"""A user's membership of a tenant, with the role that decides what they may do there."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from keel.tenancy import Role


@dataclass(frozen=True)
class Membership:
    tenant_id: str
    user_id: str
    email: str
    role: Role
    joined_at: datetime
    invitation_id: str | None = None
    version: int = 1

    def with_role(self, role: Role) -> Membership:
        return replace(self, role=role)
