"""API keys of a tenant: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from functions.identity.domain import instants
from functions.identity.domain.api_key import MAX_ACTIVE_API_KEYS, ApiKey
from functions.identity.domain.errors import ApiKeyLimitReached, ApiKeyNotFound, TenantNotFound
from functions.identity.domain.ports import IdentityStore
from functions.identity.domain.roles import check_api_key_role
from functions.identity.domain.views import ApiKeyPage, ApiKeyView, NewApiKey, NewApiKeyView
from keel import ids
from keel.clock import Clock, SystemClock
from keel.contracts.identity import ApiKeyCreated, ApiKeyRevoked
from keel.events import envelope
from keel.tenancy import Role, TenantContext


def api_key_view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        created_by=key.created_by,
        created_at=key.created_at,
        revoked=key.revoked,
        revoked_at=key.revoked_at,
    )


class ApiKeyService:
    def __init__(self, store: IdentityStore, *, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()

    def create(self, ctx: TenantContext, body: NewApiKey) -> NewApiKeyView:
        """Issue a key for the tenant with ``body.role`` (admin or member, never above the caller's).
        The response is the only place the secret ever appears. Publishes ``identity.api_key.created.v1``."""
        role = Role(body.role)
        check_api_key_role(actor=ctx.role, role=role)
        seats = self._store.seats(ctx.tenant_id)
        if seats is None:
            raise TenantNotFound("no such tenant")
        if seats.api_keys >= MAX_ACTIVE_API_KEYS:
            raise ApiKeyLimitReached(f"a tenant has at most {MAX_ACTIVE_API_KEYS} active API keys; revoke one")
        now = instants.now(self._clock)
        key, secret = ApiKey.issue(
            api_key_id=ids.new_id("key", now),
            tenant_id=ctx.tenant_id,
            name=body.name,
            role=role,
            created_by=ctx.user_id,
            now=now,
        )
        created = ApiKeyCreated(
            api_key_id=key.id, name=key.name, prefix=key.prefix, role=role.value, created_by=ctx.user_id
        )
        self._store.acting_as(ctx).create_api_key(
            key,
            plan=seats.plan,
            event=envelope(created, tenant_id=ctx.tenant_id, aggregate_id=key.id, clock=self._clock),
        )
        return NewApiKeyView(**api_key_view(key).model_dump(), secret=secret)

    def list(self, ctx: TenantContext, *, limit: int, cursor: str | None) -> ApiKeyPage:
        """One page of the tenant's keys (revoked ones included), never with a secret or hash."""
        page = self._store.api_keys(ctx.tenant_id, limit=limit, cursor=cursor)
        return ApiKeyPage(items=[api_key_view(k) for k in page.items], cursor=page.cursor)

    def revoke(self, ctx: TenantContext, api_key_id: str) -> None:
        """Revoke a key: its lookup goes in the same transaction, so an uncached authorization
        refuses it at once (a cached one within ``AUTHORIZER_CACHE_SECONDS``). Revoking twice is a
        no-op. Publishes ``identity.api_key.revoked.v1``."""
        key = self._store.api_key(ctx.tenant_id, api_key_id) if ids.is_id("key", api_key_id) else None
        if key is None:
            raise ApiKeyNotFound("no such API key")
        if key.revoked:
            return
        revoked = key.revoke(by=ctx.user_id, now=instants.now(self._clock))
        event = ApiKeyRevoked(api_key_id=key.id, prefix=key.prefix, revoked_by=ctx.user_id)
        self._store.acting_as(ctx).revoke_api_key(
            revoked, envelope(event, tenant_id=ctx.tenant_id, aggregate_id=key.id, clock=self._clock)
        )
