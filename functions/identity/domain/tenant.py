"""Tenants, their slugs, and identity's own copy of a tenant's plan and seat ledger.

Seats: every member and every pending invitation holds one (``taken``). Inviting needs a free
seat; accepting turns the invitation's seat into a member's, and still checks ``members`` against
the limit because the limit may have dropped (a downgrade) since the invitation was sent. The
free plan's limits apply until billing's first ``billing.entitlements.changed.v1`` for the tenant.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

SLUG_MAX_LENGTH = 48
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SUFFIX_ALPHABET = "abcdefghjkmnpqrstvwxyz23456789"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Plan:
    """The limits identity enforces. ``seat_limit`` ``None`` means no limit."""

    name: str
    seat_limit: int | None


FREE_PLAN = Plan(name="free", seat_limit=3)


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    slug: str
    status: TenantStatus
    created_at: datetime
    created_by: str
    version: int = 1

    def renamed(self, *, name: str | None, slug: str | None) -> Tenant:
        return replace(self, name=name if name is not None else self.name, slug=slug if slug is not None else self.slug)


@dataclass(frozen=True)
class Seats:
    """The tenant's plan (a copy of billing's entitlements) and what holds its seats."""

    plan: str
    seat_limit: int | None
    members: int
    pending: int
    owners: int
    api_keys: int = 0
    entitlements_effective_at: datetime | None = None
    version: int = 1

    @property
    def taken(self) -> int:
        return self.members + self.pending

    @property
    def free(self) -> int | None:
        return None if self.seat_limit is None else max(0, self.seat_limit - self.taken)

    def can_invite(self) -> bool:
        return self.seat_limit is None or self.taken < self.seat_limit

    def can_accept(self) -> bool:
        return self.seat_limit is None or self.members < self.seat_limit

    def is_newer(self, effective_at: datetime) -> bool:
        """Whether entitlements effective at ``effective_at`` supersede the copy held (reordering)."""
        return self.entitlements_effective_at is None or effective_at > self.entitlements_effective_at

    @classmethod
    def for_new_tenant(cls) -> Seats:
        return cls(plan=FREE_PLAN.name, seat_limit=FREE_PLAN.seat_limit, members=1, pending=0, owners=1)


def slugify(name: str) -> str:
    """A URL-safe slug from a tenant name: ASCII lower case, words joined by dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")
    return slug or "tenant"


def with_suffix(slug: str) -> str:
    """``slug`` plus a short random suffix, for when the plain slug is taken."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{slug[: SLUG_MAX_LENGTH - len(suffix) - 1].rstrip('-')}-{suffix}"
