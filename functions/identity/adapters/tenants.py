"""Tenants, their unique slugs and their seat ledgers (``TENANT``, ``SLUG#``, ``SEATS``)."""

from __future__ import annotations

from collections.abc import Sequence

from functions.identity.adapters import items
from functions.identity.adapters.keys import (
    email_key,
    member_key,
    seats_key,
    slug_key,
    tenant_allowance_key,
    tenant_key,
)
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.errors import SlugTaken, TenantLimitReached
from functions.identity.domain.limits import Below
from functions.identity.domain.membership import Membership
from functions.identity.domain.tenant import Seats, Tenant
from functions.identity.domain.user import UserProfile
from keel.events import Envelope


class TenantRepository(IdentityTable):
    """Implements ``TenantStore``, ``TenantReader`` and ``SeatsReader``."""

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
        tx = self._tx()
        # First, so that past the allowance the refusal says so (rather than a taken slug).
        self._count(
            tx,
            tenant_allowance_key(owner.user_id),
            allowance,
            on_condition_failed=TenantLimitReached(
                "you created as many tenants as you may; ask an operator to lift your limit"
            ),
        )
        tx.put_new(slug_key(tenant.slug) | {"tenant_id": tenant.id}, on_condition_failed=SlugTaken("slug taken"))
        tx.put_versioned(items.tenant_item(tenant), expected_version=None)
        tx.put_versioned(items.seats_item(tenant.id, seats), expected_version=None)
        tx.put_versioned(items.member_item(owner), expected_version=None)
        tx.put_new(email_key(tenant.id, owner.email) | {"holder": "member", "user_id": owner.user_id})
        tx.put_new(items.user_membership_item(owner))
        tx.put(items.profile_item(profile))
        for event in events:
            tx.publish(event)
        self._execute(tx)

    def get(self, tenant_id: str) -> Tenant | None:
        item = self._get(tenant_key(tenant_id))
        return items.to_tenant(item) if item else None

    def with_member(self, tenant_id: str, user_id: str) -> tuple[Tenant | None, Membership | None]:
        tenant, member = self._get_many(tenant_key(tenant_id), member_key(tenant_id, user_id))
        return (items.to_tenant(tenant) if tenant else None), (items.to_member(member) if member else None)

    def seats(self, tenant_id: str) -> Seats | None:
        item = self._get(seats_key(tenant_id))
        return items.to_seats(item) if item else None

    def with_seats(self, tenant_id: str) -> tuple[Tenant, Seats] | None:
        tenant, seats = self._get_many(tenant_key(tenant_id), seats_key(tenant_id))
        if tenant is None or seats is None:
            return None
        return items.to_tenant(tenant), items.to_seats(seats)

    def save(self, tenant: Tenant, *, previous_slug: str) -> None:
        tx = self._tx()
        tx.put_versioned(items.tenant_item(tenant), expected_version=tenant.version)
        if tenant.slug != previous_slug:
            tx.delete(slug_key(previous_slug), condition="tenant_id = :tenant", values={":tenant": tenant.id})
            tx.put_new(
                slug_key(tenant.slug) | {"tenant_id": tenant.id},
                on_condition_failed=SlugTaken(f"the slug {tenant.slug!r} is taken"),
            )
        self._execute(tx)
