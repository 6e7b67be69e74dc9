"""API keys of a tenant: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from functions.identity.domain import instants
from functions.identity.domain.api_key import MAX_ACTIVE_API_KEYS, ROOM_FOR_API_KEY, ApiKey
from functions.identity.domain.errors import ApiKeyLimitReached, ApiKeyNotFound, TenantNotFound
from functions.identity.domain.ports import ApiKeyStore, Page, SeatsReader
from functions.identity.domain.roles import check_api_key_role
from keel import ids, metrics
from keel.clock import Clock, SystemClock
from keel.contracts.identity import ApiKeyCreated, ApiKeyRevoked
from keel.events import envelope
from keel.tenancy import Role, TenantContext


class ApiKeyService:
    def __init__(self, keys: ApiKeyStore, seats: SeatsReader, *, clock: Clock | None = None) -> None:
        self._keys = keys
        self._seats = seats
        self._clock = clock or SystemClock()

    def create(self, ctx: TenantContext, name: str, role: Role) -> tuple[ApiKey, str]:
        """Issue a key named ``name`` for the tenant with ``role`` (admin or member, never above the
        caller's). Returns the key and its secret: the caller's answer is the only place the secret
        ever appears. Publishes ``identity.api_key.created.v1``; business metric ``ApiKeyCreated``."""
        check_api_key_role(actor=ctx.role, role=role)
        seats = self._seats.seats(ctx.tenant_id)
        if seats is None:
            raise TenantNotFound("no such tenant")
        if not ROOM_FOR_API_KEY.holds(seats.counters):
            raise ApiKeyLimitReached(f"a tenant has at most {MAX_ACTIVE_API_KEYS} active API keys; revoke one")
        now = instants.now(self._clock)
        key, secret = ApiKey.issue(
            api_key_id=ids.new_id("key", now),
            tenant_id=ctx.tenant_id,
            name=name,
            role=role,
            created_by=ctx.user_id,
            now=now,
        )
        created = ApiKeyCreated(
            api_key_id=key.id, name=key.name, prefix=key.prefix, role=role.value, created_by=ctx.user_id
        )
        self._keys.acting_as(ctx).add(
            key,
            plan=seats.plan,
            usage_tier=seats.usage_tier,
            features=seats.features,
            event=envelope(created, tenant_id=ctx.tenant_id, aggregate_id=key.id, clock=self._clock),
        )
        metrics.business("ApiKeyCreated", tenant_id=ctx.tenant_id, role=role.value)
        return key, secret

    def list(self, ctx: TenantContext, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        """One page of the tenant's keys (revoked ones included)."""
        return self._keys.page(ctx.tenant_id, limit=limit, cursor=cursor)

    def revoke(self, ctx: TenantContext, api_key_id: str) -> None:
        """Revoke a key: its lookup goes in the same transaction, so an uncached authorization
        refuses it at once (a cached one within ``AUTHORIZER_CACHE_SECONDS``). Revoking twice is a
        no-op. Publishes ``identity.api_key.revoked.v1``; business metric ``ApiKeyRevoked``."""
        key = self._keys.get(ctx.tenant_id, api_key_id) if ids.is_id("key", api_key_id) else None
        if key is None:
            raise ApiKeyNotFound("no such API key")
        if key.revoked:
            return
        revoked = key.revoke(by=ctx.user_id, now=instants.now(self._clock))
        event = ApiKeyRevoked(api_key_id=key.id, prefix=key.prefix, revoked_by=ctx.user_id)
        self._keys.acting_as(ctx).revoke(
            revoked, envelope(event, tenant_id=ctx.tenant_id, aggregate_id=key.id, clock=self._clock)
        )
        metrics.business("ApiKeyRevoked", tenant_id=ctx.tenant_id, role=key.role.value)
