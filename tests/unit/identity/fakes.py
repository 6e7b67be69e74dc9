"""In-memory stand-ins for identity's ports: the services' rules tested without DynamoDB.

They keep what the table keeps, enforce the same limits (the domain's own objects) and record the
events each write carries; they are not a second implementation of the conditions' concurrency.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self

from functions.identity.domain.api_key import ROOM_FOR_API_KEY, ApiKey
from functions.identity.domain.errors import (
    AlreadyMemberOrInvited,
    InvitationNotPending,
    LastOwner,
    SeatLimitReached,
    SlugTaken,
    TenantChangedMeanwhile,
    TenantLimitReached,
)
from functions.identity.domain.invitation import Invitation, Revocation
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.limits import Below
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import Page, TenantDetails
from functions.identity.domain.tenant import (
    ANOTHER_OWNER,
    SEAT_FOR_INVITATION,
    SEAT_FOR_MEMBER,
    Seats,
    Tenant,
    TenantStatus,
    TenantSummary,
)
from functions.identity.domain.user import UserProfile
from keel.events import Envelope
from keel.tenancy import Role, TenantContext


def page_of(items: Sequence[Any], limit: int, cursor: str | None) -> Page[Any]:
    start = int(cursor or 0)
    end = start + limit
    return Page(items=list(items[start:end]), cursor=str(end) if end < len(items) else None)


@dataclass
class Identity:
    """Everything identity holds, shared by the fakes below (as the table is by the repositories)."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    seats: dict[str, Seats] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    members: dict[tuple[str, str], Membership] = field(default_factory=dict)
    emails: dict[tuple[str, str], str] = field(default_factory=dict)
    invitations: dict[tuple[str, str], Invitation] = field(default_factory=dict)
    keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)
    profiles: dict[str, UserProfile] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    lifted: dict[str, int] = field(default_factory=dict)
    published: list[Envelope] = field(default_factory=list)
    writes: int = 0
    actors: list[TenantContext] = field(default_factory=list)
    #: How many status changes to fail with ``TenantChangedMeanwhile`` before letting one through.
    interfere_with_status_changes: int = 0

    def move(self, tenant_id: str, **deltas: int) -> None:
        seats = self.seats[tenant_id]
        moved = {name: getattr(seats, name) + delta for name, delta in deltas.items()}
        self.seats[tenant_id] = replace(seats, **moved, version=seats.version + 1)

    def wrote(self, *events: Envelope) -> None:
        self.writes += 1
        self.published += events

    def types(self) -> list[str]:
        return [e.type for e in self.published]


@dataclass
class _Acting:
    state: Identity
    actor: TenantContext | None = None

    def acting_as(self, actor: TenantContext) -> Self:
        """The real repositories re-check ``actor`` in the write's transaction; here it is recorded."""
        self.state.actors.append(actor)
        return replace(self, actor=actor)


class FakeTenants(_Acting):
    def add(
        self,
        tenant: Tenant,
        seats: Seats,
        owner: Membership,
        profile: UserProfile,
        events: Sequence[Envelope],
        *,
        allowance: Below,
    ) -> None:
        created = self.state.created.get(owner.user_id, 0)
        if not allowance.holds({"created": created, "limit": self.state.lifted.get(owner.user_id)}):
            raise TenantLimitReached("limit")
        if tenant.slug in self.state.slugs:
            raise SlugTaken("slug taken")
        self.state.slugs[tenant.slug] = tenant.id
        self.state.tenants[tenant.id] = tenant
        self.state.seats[tenant.id] = seats
        self.state.members[(tenant.id, owner.user_id)] = owner
        self.state.emails[(tenant.id, owner.email)] = owner.user_id
        self.state.profiles[profile.user_id] = profile
        self.state.created[owner.user_id] = created + 1
        self.state.wrote(*events)

    def get(self, tenant_id: str) -> Tenant | None:
        return self.state.tenants.get(tenant_id)

    def with_member(self, tenant_id: str, user_id: str) -> tuple[Tenant | None, Membership | None]:
        return self.state.tenants.get(tenant_id), self.state.members.get((tenant_id, user_id))

    def seats(self, tenant_id: str) -> Seats | None:
        return self.state.seats.get(tenant_id)

    def with_seats(self, tenant_id: str) -> tuple[Tenant, Seats] | None:
        tenant, seats = self.state.tenants.get(tenant_id), self.state.seats.get(tenant_id)
        return (tenant, seats) if tenant and seats else None

    def save(self, tenant: Tenant, *, previous_slug: str) -> None:
        if tenant.slug != previous_slug:
            if tenant.slug in self.state.slugs:
                raise SlugTaken("slug taken")
            del self.state.slugs[previous_slug]
            self.state.slugs[tenant.slug] = tenant.id
        self.state.tenants[tenant.id] = replace(tenant, version=tenant.version + 1)
        self.state.wrote()

    # -- the operators' directory

    def page(self, status: TenantStatus | None, *, limit: int, cursor: str | None) -> Page[TenantSummary]:
        listed = sorted((t for t in self.state.tenants.values() if status in (None, t.status)), key=lambda t: t.id)
        summaries = [TenantSummary(t.id, t.name, t.slug, t.status, t.created_at) for t in reversed(listed)]
        return page_of(summaries, limit, cursor)

    def details(self, tenant_id: str) -> TenantDetails | None:
        found = self.with_seats(tenant_id)
        return TenantDetails(*found) if found else None

    def change_status(self, read: TenantDetails, changed: Tenant, event: Envelope) -> None:
        if self.state.interfere_with_status_changes > 0:  # as if a key were issued meanwhile
            self.state.interfere_with_status_changes -= 1
            raise TenantChangedMeanwhile("changed meanwhile")
        if self.state.tenants[read.tenant.id].version != read.tenant.version:
            raise TenantChangedMeanwhile("changed meanwhile")
        self.state.tenants[changed.id] = replace(changed, version=read.tenant.version + 1)
        self.state.wrote(event)


@dataclass
class FakeUsagePlans:
    """``(tenant id, tier)`` of every key provided, in order."""

    provided: list[tuple[str, str]] = field(default_factory=list)
    #: ``False``: there are no usage plans yet (the API stack has not made them).
    configured: bool = True

    def provide(self, tenant_id: str, tier: str) -> bool:
        if self.configured:
            self.provided.append((tenant_id, tier))
        return self.configured


@dataclass
class FakeAuthorizerCache:
    flushes: int = 0

    def flush(self) -> None:
        self.flushes += 1


class FakeMembers(_Acting):
    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Membership]:
        members = [m for (t, _), m in sorted(self.state.members.items()) if t == tenant_id]
        return page_of(members, limit, cursor)

    def memberships_of(self, user_id: str, *, limit: int, cursor: str | None) -> Page[Membership]:
        members = [m for (_, u), m in sorted(self.state.members.items()) if u == user_id]
        return page_of(members, limit, cursor)

    def with_seats(self, tenant_id: str, user_id: str) -> tuple[Membership | None, Seats | None]:
        return self.state.members.get((tenant_id, user_id)), self.state.seats.get(tenant_id)

    def _revoke(self, tenant_id: str, revocations: Sequence[Revocation]) -> None:
        for revocation in revocations:
            key = (tenant_id, revocation.invitation.id)
            self.state.invitations[key] = replace(
                self.state.invitations[key], status=InvitationStatus.REVOKED, closed_by=revocation.by
            )
            del self.state.emails[(tenant_id, revocation.invitation.email)]
            self.state.move(tenant_id, pending=-1)
            self.state.published.append(revocation.event)

    def change_role(
        self, member: Membership, role: Role, event: Envelope, revocations: Sequence[Revocation] = ()
    ) -> None:
        if member.role is Role.OWNER and role is not Role.OWNER:
            if not ANOTHER_OWNER.holds(self.state.seats[member.tenant_id].counters):
                raise LastOwner("last owner")
            self.state.move(member.tenant_id, owners=-1)
        elif role is Role.OWNER and member.role is not Role.OWNER:
            self.state.move(member.tenant_id, owners=1)
        self._revoke(member.tenant_id, revocations)
        revoked = {r.invitation.id for r in revocations}
        self.state.members[(member.tenant_id, member.user_id)] = member.with_role(role).without_sent(revoked)
        self.state.wrote(event)

    def remove(self, member: Membership, event: Envelope, revocations: Sequence[Revocation] = ()) -> None:
        owner = member.role is Role.OWNER
        if owner and not ANOTHER_OWNER.holds(self.state.seats[member.tenant_id].counters):
            raise LastOwner("last owner")
        self._revoke(member.tenant_id, revocations)
        del self.state.members[(member.tenant_id, member.user_id)]
        del self.state.emails[(member.tenant_id, member.email)]
        self.state.move(member.tenant_id, members=-1, owners=-int(owner))
        self.state.wrote(event)


class FakeInvitations(_Acting):
    def add(self, invitation: Invitation, event: Envelope, *, sender: Membership | None = None) -> None:
        tenant_id = invitation.tenant_id
        if not SEAT_FOR_INVITATION.holds(self.state.seats[tenant_id].counters):
            raise SeatLimitReached("no seat")
        if (tenant_id, invitation.email) in self.state.emails:
            raise AlreadyMemberOrInvited("already")
        self.state.emails[(tenant_id, invitation.email)] = invitation.id
        self.state.invitations[(tenant_id, invitation.id)] = invitation
        if sender is not None:
            key = (tenant_id, sender.user_id)
            self.state.members[key] = replace(sender, sent=(*sender.sent, invitation.as_sent()))
        self.state.move(tenant_id, pending=1)
        self.state.wrote(event)

    def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        return self.state.invitations.get((tenant_id, invitation_id))

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invitation]:
        found = [i for (t, _), i in sorted(self.state.invitations.items()) if t == tenant_id]
        return page_of(found, limit, cursor)

    def pending(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        found = self.state.invitations.get((tenant_id, invitation_id))
        return found if found is not None and found.status is InvitationStatus.PENDING else None

    def _close(self, closed: Invitation) -> None:
        stored = self.state.invitations[(closed.tenant_id, closed.id)]
        if stored.version != closed.version:
            raise InvitationNotPending("changed meanwhile")
        self.state.invitations[(closed.tenant_id, closed.id)] = replace(closed, version=closed.version + 1)
        sender = self.state.members.get((closed.tenant_id, closed.invited_by))
        if sender is not None:
            self.state.members[(closed.tenant_id, closed.invited_by)] = sender.without_sent({closed.id})

    def accept(self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope) -> None:
        if not SEAT_FOR_MEMBER.holds(self.state.seats[member.tenant_id].counters):
            raise SeatLimitReached("no seat")
        self._close(accepted)
        self.state.members[(member.tenant_id, member.user_id)] = member
        self.state.emails[(member.tenant_id, member.email)] = member.user_id
        self.state.profiles[profile.user_id] = profile
        self.state.move(member.tenant_id, members=1, pending=-1, owners=int(member.role is Role.OWNER))
        self.state.wrote(event)

    def close(self, closed: Invitation, event: Envelope | None = None) -> None:
        self._close(closed)
        del self.state.emails[(closed.tenant_id, closed.email)]
        self.state.move(closed.tenant_id, pending=-1)
        self.state.wrote(*([event] if event else []))


class FakeExpiry:
    def __init__(self, state: Identity) -> None:
        self.state = state
        self.swept: datetime | None = None

    def expiring_in(self, hour: datetime) -> list[tuple[str, str]]:
        return [
            (i.tenant_id, i.id)
            for i in self.state.invitations.values()
            if i.expires_at.replace(minute=0, second=0, microsecond=0) == hour
        ]

    def swept_until(self) -> datetime | None:
        return self.swept

    def record_sweep(self, hour: datetime) -> None:
        self.swept = hour


class FakeApiKeys(_Acting):
    def add(
        self, key: ApiKey, *, plan: str, usage_tier: str | None, features: frozenset[str] | None, event: Envelope
    ) -> None:
        seats = self.state.seats[key.tenant_id]
        held = (seats.plan, seats.usage_tier, seats.features)
        if held != (plan, usage_tier, features) or not ROOM_FOR_API_KEY.holds(seats.counters):
            raise SeatLimitReached("no room")
        self.state.keys[(key.tenant_id, key.id)] = key
        self.state.move(key.tenant_id, api_keys=1)
        self.state.wrote(event)

    def get(self, tenant_id: str, api_key_id: str) -> ApiKey | None:
        return self.state.keys.get((tenant_id, api_key_id))

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        return page_of([k for (t, _), k in sorted(self.state.keys.items()) if t == tenant_id], limit, cursor)

    def revoke(self, revoked: ApiKey, event: Envelope) -> None:
        self.state.keys[(revoked.tenant_id, revoked.id)] = replace(revoked, version=revoked.version + 1)
        self.state.move(revoked.tenant_id, api_keys=-1)
        self.state.wrote(event)


@dataclass
class FakeEntitlementsCopy:
    state: Identity
    replaced: list[dict[str, Any]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def seats(self, tenant_id: str) -> Seats | None:
        return self.state.seats.get(tenant_id)

    def active_api_key_hashes(self, tenant_id: str) -> list[str]:
        return [k.secret_hash for (t, _), k in self.state.keys.items() if t == tenant_id and not k.revoked]

    def replace(self, **change: Any) -> None:
        self.replaced.append(change)

    def once_written(self, action: Callable[[], None]) -> None:
        self.after_commit.append(action)

    def commit(self) -> None:
        """What the consumer's transaction does once written: run what waited for it."""
        for action in self.after_commit:
            action()
