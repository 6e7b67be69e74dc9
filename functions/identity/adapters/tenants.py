"""Tenants, their unique slugs, their seat ledgers and the operators' directory of them (``TENANT``,
``SLUG#``, ``SEATS``, ``TENANTS#<status>``)."""

from __future__ import annotations

from collections.abc import Sequence

from functions.identity.adapters import items
from functions.identity.adapters.keys import (
    DIRECTORY_PREFIX,
    api_key_lookup_key,
    directory_key,
    directory_pk,
    email_key,
    member_key,
    seats_key,
    slug_key,
    tenant_allowance_key,
    tenant_key,
)
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.errors import SlugTaken, TenantChangedMeanwhile, TenantLimitReached
from functions.identity.domain.limits import Below
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import Page, TenantDetails
from functions.identity.domain.tenant import Seats, Tenant, TenantStatus, TenantSummary
from functions.identity.domain.user import UserProfile
from keel.events import Envelope
from keel.store import Transaction


def _listed(tx: Transaction, tenant: Tenant) -> None:
    """The tenant's rows in the directory: among every tenant, and among those of its status."""
    for status in (None, tenant.status):
        tx.put(items.directory_item(tenant, status=status))


class TenantRepository(IdentityTable):
    """Implements ``TenantStore``, ``TenantReader``, ``SeatsReader`` and ``TenantDirectory``."""

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
        tx.put_versioned(items.seats_item(tenant.id, seats, owner=owner), expected_version=None)
        tx.put_versioned(items.member_item(owner), expected_version=None)
        tx.put_new(email_key(tenant.id, owner.email) | {"holder": "member", "user_id": owner.user_id})
        tx.put_new(items.user_membership_item(owner))
        tx.put(items.profile_item(profile))
        _listed(tx, tenant)
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
        # The tenant item is written as read (its version): a suspension since then fails this write.
        tx = self._tx(tenant_item_written=True)
        tx.put_versioned(items.tenant_item(tenant), expected_version=tenant.version)
        if tenant.slug != previous_slug:
            tx.delete(slug_key(previous_slug), condition="tenant_id = :tenant", values={":tenant": tenant.id})
            tx.put_new(
                slug_key(tenant.slug) | {"tenant_id": tenant.id},
                on_condition_failed=SlugTaken(f"the slug {tenant.slug!r} is taken"),
            )
        _listed(tx, tenant)
        self._execute(tx)

    # -- the operators' directory -----------------------------------------------------------------

    def page(self, status: TenantStatus | None, *, limit: int, cursor: str | None) -> Page[TenantSummary]:
        """One page of the tenants in ``status`` (every tenant: ``None``), newest first: one Query."""
        return self._page(
            directory_pk(status.value if status else None),
            DIRECTORY_PREFIX,
            items.to_summary,
            limit=limit,
            cursor=cursor,
            newest_first=True,
        )

    def details(self, tenant_id: str) -> TenantDetails | None:
        found = self.with_seats(tenant_id)
        return TenantDetails(tenant=found[0], seats=found[1]) if found else None

    def change_status(self, read: TenantDetails, changed: Tenant, event: Envelope) -> None:
        tenant = read.tenant
        meanwhile = TenantChangedMeanwhile("the tenant changed meanwhile; try again")
        tx = self._tx()
        tx.put_versioned(items.tenant_item(changed), expected_version=tenant.version, on_condition_failed=meanwhile)
        # The keys read are still all the keys: none issued or revoked since (each moves the ledger's version).
        tx.check(
            seats_key(tenant.id),
            "#version = :read",
            names={"#version": "version"},
            values={":read": read.seats.version},
            on_condition_failed=meanwhile,
        )
        for secret_hash in read.seats.api_key_hashes:
            # The authorizer reads a key's lookup alone: it carries the tenant's status.
            tx.update(
                api_key_lookup_key(secret_hash),
                "SET #status = :status" if changed.is_suspended else "REMOVE #status",
                condition="attribute_exists(pk)",
                names={"#status": items.LOOKUP_STATUS},
                values={":status": changed.status.value} if changed.is_suspended else None,
            )
        tx.delete(directory_key(tenant.status.value, tenant.id))
        _listed(tx, changed)
        tx.publish(event)
        self._execute(tx)
