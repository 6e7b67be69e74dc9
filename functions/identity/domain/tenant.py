"""Tenants, their slugs, and identity's own copy of a tenant's plan and seat ledger.

Seats: every member and every pending invitation holds one (``taken``). Inviting needs a free
seat; accepting turns the invitation's seat into a member's, and still checks ``members`` against
the limit because the limit may have dropped (a downgrade) since the invitation was sent. The
free plan's limits apply until billing's first ``billing.entitlements.changed.v1`` for the tenant.
The seat rules below are the one definition: ``Seats`` evaluates them on what it read, and the
table adapter turns the same objects into the conditions of the writes that move the counters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from functions.identity.domain.limits import Above, Below, Counters
from keel.rate_tiers import DEFAULT_TIER


class TenantStatus(StrEnum):
    """An active tenant works; a suspended one (an operator's decision) answers every route 403
    ``tenant_suspended`` and keeps all of its data until an operator reactivates it."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


#: The longest reason an operator may give for a suspension (it is kept and published).
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Suspension:
    """Who suspended the tenant, when, and why."""

    at: datetime
    by: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The limits identity enforces. ``seat_limit`` ``None`` means no limit."""

    name: str
    seat_limit: int | None


FREE_PLAN = Plan(name="free", seat_limit=3)

#: Tenants one user may create unless an operator lifts it for them (``KEEL_IDENTITY_MAX_TENANTS_PER_USER``).
DEFAULT_TENANTS_PER_USER = 10

#: Inviting needs a free seat: members and pending invitations together stay below the seat limit.
SEAT_FOR_INVITATION = Below("taken", limit="seat_limit")
#: Joining needs a member's seat: members stay below the limit (it may have dropped since the invitation).
SEAT_FOR_MEMBER = Below("members", limit="seat_limit")
#: Demoting or removing an owner needs another owner to remain.
ANOTHER_OWNER = Above("owners", 1)


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    slug: str
    status: TenantStatus
    created_at: datetime
    created_by: str
    version: int = 1
    #: Set while the tenant is suspended.
    suspension: Suspension | None = None

    def renamed(self, *, name: str | None, slug: str | None) -> Tenant:
        return replace(self, name=name if name is not None else self.name, slug=slug if slug is not None else self.slug)

    @property
    def is_suspended(self) -> bool:
        return self.status is TenantStatus.SUSPENDED

    def suspended(self, *, by: str, reason: str, at: datetime) -> Tenant:
        """The tenant suspended by operator ``by``; its data stays as it is."""
        return replace(self, status=TenantStatus.SUSPENDED, suspension=Suspension(at=at, by=by, reason=reason))

    def reactivated(self) -> Tenant:
        return replace(self, status=TenantStatus.ACTIVE, suspension=None)


@dataclass(frozen=True)
class TenantSummary:
    """A tenant as the operators' directory lists it."""

    id: str
    name: str
    slug: str
    status: TenantStatus
    created_at: datetime


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
    #: The owners' emails, kept next to their count so that an operator's view of the tenant is one read.
    owner_emails: tuple[str, ...] = ()
    #: The secret hashes of the active API keys (their lookups carry the tenant's status and plan).
    api_key_hashes: tuple[str, ...] = ()
    #: The plan's rate tier (``keel.rate_tiers``), as billing's entitlements name it.
    rate_tier: str = DEFAULT_TIER
    #: The rate tier whose usage plan holds the tenant's own API Gateway key (``usage``), copied onto
    #: the API keys' lookups like the plan; ``None``: no key of its own yet (the shared budget counts).
    usage_tier: str | None = None
    #: The plan's features that are on (billing's entitlements), copied onto the API keys' lookups and
    #: into the authorizer's answers; ``None``: no entitlements have arrived since identity began to copy them.
    features: frozenset[str] | None = None

    @property
    def taken(self) -> int:
        return self.members + self.pending

    @property
    def counters(self) -> Counters:
        """The ledger's counters and limit by attribute name, as the limits read them."""
        return {
            "members": self.members,
            "pending": self.pending,
            "taken": self.taken,
            "owners": self.owners,
            "api_keys": self.api_keys,
            "seat_limit": self.seat_limit,
        }

    def can_invite(self) -> bool:
        return SEAT_FOR_INVITATION.holds(self.counters)

    def can_accept(self) -> bool:
        return SEAT_FOR_MEMBER.holds(self.counters)

    def is_newer(self, effective_at: datetime) -> bool:
        """Whether entitlements effective at ``effective_at`` supersede the copy held (reordering)."""
        return self.entitlements_effective_at is None or effective_at > self.entitlements_effective_at

    @classmethod
    def for_new_tenant(cls, owner_email: str) -> Seats:
        return cls(
            plan=FREE_PLAN.name,
            seat_limit=FREE_PLAN.seat_limit,
            members=1,
            pending=0,
            owners=1,
            owner_emails=(owner_email,),
        )


def tenants_per_user(default: int = DEFAULT_TENANTS_PER_USER) -> Below:
    """A user's tenant allowance: at most ``default`` tenants created, unless an operator set a
    ``limit`` of their own on the user's allowance."""
    return Below("created", limit="limit", default=default)
