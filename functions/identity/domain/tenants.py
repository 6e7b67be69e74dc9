"""Tenants: sign-up (the first step of the saga), the tenant's own page, and the caller's tenants."""

from __future__ import annotations

from dataclasses import replace

from functions.identity.domain import instants
from functions.identity.domain.errors import SlugTaken, TenantNotFound
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import IdentityStore
from functions.identity.domain.tenant import Seats, Tenant, TenantStatus, slugify, with_suffix
from functions.identity.domain.user import Person, UserProfile
from functions.identity.domain.views import MembershipView, MeView, NewTenant, TenantChanges, TenantView
from keel import ids
from keel.clock import Clock, SystemClock
from keel.contracts.identity import MemberJoined, TenantCreated
from keel.events import Envelope, envelope
from keel.tenancy import Role, TenantContext


def tenant_view(tenant: Tenant, seats: Seats) -> TenantView:
    return TenantView(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        status=tenant.status.value,
        plan=seats.plan,
        seat_limit=seats.seat_limit,
        seats_taken=seats.taken,
        members=seats.members,
        pending_invitations=seats.pending,
        created_at=tenant.created_at,
        version=tenant.version,
    )


class TenantService:
    def __init__(self, store: IdentityStore, *, issuer: str, clock: Clock | None = None) -> None:
        self._store = store
        self._issuer = issuer
        self._clock = clock or SystemClock()

    def create(self, person: Person, body: NewTenant) -> TenantView:
        """Create a tenant with ``person`` as its owner, on the free plan until billing says otherwise.

        The slug comes from the name; if it is taken, a short random suffix is added (once).
        Publishes ``identity.tenant.created.v1`` and ``identity.member.joined.v1``.
        """
        email = person.verified_email()
        now = instants.now(self._clock)
        tenant = Tenant(
            id=ids.new_id("ten", now),
            name=body.name,
            slug=slugify(body.name),
            status=TenantStatus.ACTIVE,
            created_at=now,
            created_by=person.user_id,
        )
        owner = Membership(tenant_id=tenant.id, user_id=person.user_id, email=email, role=Role.OWNER, joined_at=now)
        seats = Seats.for_new_tenant()
        profile = UserProfile(
            user_id=person.user_id, email=email, issuer=self._issuer, subject=person.subject, updated_at=now
        )
        try:
            self._store.create_tenant(tenant, seats, owner, profile, self._created(tenant, owner))
        except SlugTaken:
            tenant = replace(tenant, slug=with_suffix(tenant.slug))
            self._store.create_tenant(tenant, seats, owner, profile, self._created(tenant, owner))
        return tenant_view(tenant, seats)

    def _created(self, tenant: Tenant, owner: Membership) -> list[Envelope]:
        created = TenantCreated(
            tenant_id=tenant.id,
            name=tenant.name,
            slug=tenant.slug,
            owner_user_id=owner.user_id,
            owner_email=owner.email,
        )
        joined = MemberJoined(user_id=owner.user_id, email=owner.email, role=owner.role.value)
        return [
            envelope(created, tenant_id=tenant.id, aggregate_id=tenant.id, clock=self._clock),
            envelope(joined, tenant_id=tenant.id, aggregate_id=owner.user_id, clock=self._clock),
        ]

    def get(self, ctx: TenantContext) -> TenantView:
        """The caller's tenant: name, slug, status, plan and seats."""
        found = self._store.tenant_with_seats(ctx.tenant_id)
        if found is None:
            raise TenantNotFound("no such tenant")
        return tenant_view(*found)

    def update(self, ctx: TenantContext, changes: TenantChanges) -> TenantView:
        """Rename the tenant and/or change its slug (a taken slug is a 409)."""
        found = self._store.tenant_with_seats(ctx.tenant_id)
        if found is None:
            raise TenantNotFound("no such tenant")
        tenant, seats = found
        changed = tenant.renamed(name=changes.name, slug=changes.slug)
        if changed == tenant:
            return tenant_view(tenant, seats)
        self._store.acting_as(ctx).update_tenant(changed, previous_slug=tenant.slug)
        return tenant_view(replace(changed, version=tenant.version + 1), seats)

    def me(self, person: Person, *, limit: int, cursor: str | None) -> MeView:
        """The signed-in user and one page of their memberships."""
        page = self._store.memberships_of(person.user_id, limit=limit, cursor=cursor)
        return MeView(
            user_id=person.user_id,
            email=person.email,
            memberships=[MembershipView(tenant_id=m.tenant_id, role=m.role, joined_at=m.joined_at) for m in page.items],
            cursor=page.cursor,
        )
