"""Tenants: sign-up (the first step of the saga), the tenant's own page, and the caller's tenants."""

from __future__ import annotations

from dataclasses import replace

from functions.identity.domain import instants
from functions.identity.domain.errors import SlugReserved, SlugTaken, TenantNotFound, TenantSuspended
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import MembershipIndex, Page, TenantStore
from functions.identity.domain.slugs import is_reserved, slugify, with_suffix
from functions.identity.domain.tenant import DEFAULT_TENANTS_PER_USER, Seats, Tenant, TenantStatus
from functions.identity.domain.tenant import tenants_per_user as allowance_of
from functions.identity.domain.user import Person, UserProfile
from keel import ids, metrics
from keel.clock import Clock, SystemClock
from keel.contracts.identity import MemberJoined, TenantCreated
from keel.events import Envelope, envelope
from keel.tenancy import Role, TenantContext


class TenantService:
    def __init__(
        self,
        tenants: TenantStore,
        memberships: MembershipIndex,
        *,
        issuer: str,
        tenants_per_user: int = DEFAULT_TENANTS_PER_USER,
        clock: Clock | None = None,
    ) -> None:
        self._tenants = tenants
        self._memberships = memberships
        self._issuer = issuer
        self._allowance = allowance_of(tenants_per_user)
        self._clock = clock or SystemClock()

    def create(self, person: Person, name: str) -> tuple[Tenant, Seats]:
        """Create a tenant named ``name`` with ``person`` as its owner, on the free plan until billing
        says otherwise. The slug comes from the name; if it is reserved or taken, a short random
        suffix is added (once). A person creates at most ``tenants_per_user`` tenants, unless an
        operator lifted their allowance (403 ``tenant_limit``). Publishes ``identity.tenant.created.v1``
        and ``identity.member.joined.v1``; business metrics ``TenantCreated`` and ``MemberJoined``.
        """
        email = person.verified_email()
        now = instants.now(self._clock)
        tenant = Tenant(
            id=ids.new_id("ten", now),
            name=name,
            slug=slugify(name),
            status=TenantStatus.ACTIVE,
            created_at=now,
            created_by=person.user_id,
        )
        owner = Membership(tenant_id=tenant.id, user_id=person.user_id, email=email, role=Role.OWNER, joined_at=now)
        seats = Seats.for_new_tenant(email)
        profile = UserProfile(
            user_id=person.user_id, email=email, issuer=self._issuer, subject=person.subject, updated_at=now
        )
        try:
            self._tenants.add(tenant, seats, owner, profile, self._created(tenant, owner), allowance=self._allowance)
        except SlugTaken:
            tenant = replace(tenant, slug=with_suffix(tenant.slug))
            self._tenants.add(tenant, seats, owner, profile, self._created(tenant, owner), allowance=self._allowance)
        metrics.business("TenantCreated", tenant_id=tenant.id, plan=seats.plan)
        metrics.business("MemberJoined", tenant_id=tenant.id, role=owner.role.value, via="sign-up")
        return tenant, seats

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

    def get(self, ctx: TenantContext) -> tuple[Tenant, Seats]:
        """The caller's tenant and its seat ledger (plan, limit, what holds the seats)."""
        found = self._tenants.with_seats(ctx.tenant_id)
        if found is None:
            raise TenantNotFound("no such tenant")
        return found

    def update(self, ctx: TenantContext, *, name: str | None, slug: str | None) -> tuple[Tenant, Seats]:
        """Rename the tenant and/or change its slug (a taken slug is a 409, a reserved one a 422)."""
        if slug is not None and is_reserved(slug):
            raise SlugReserved(f"the slug {slug!r} is reserved; choose another")
        tenant, seats = self.get(ctx)
        if tenant.is_suspended:  # an answer API Gateway cached just before the suspension
            raise TenantSuspended("this tenant is suspended")
        changed = tenant.renamed(name=name, slug=slug)
        if changed == tenant:
            return tenant, seats
        self._tenants.acting_as(ctx).save(changed, previous_slug=tenant.slug)
        return replace(changed, version=tenant.version + 1), seats

    def memberships(self, person: Person, *, limit: int, cursor: str | None) -> Page[Membership]:
        """One page of the signed-in person's memberships (the tenants they belong to)."""
        return self._memberships.memberships_of(person.user_id, limit=limit, cursor=cursor)
