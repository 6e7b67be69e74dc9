"""API keys (``APIKEY#<id>`` in the tenant, and the ``APIKEY#<secret hash>`` lookup the authorizer reads)."""

from __future__ import annotations

from functions.identity.adapters import items
from functions.identity.adapters.keys import API_KEY, api_key_key, api_key_lookup_key
from functions.identity.adapters.store import Condition, IdentityTable
from functions.identity.domain.api_key import ROOM_FOR_API_KEY, ApiKey
from functions.identity.domain.ports import Page
from keel.events import Envelope
from keel.store import entity_sk, tenant_pk


def _still(plan: str, usage_tier: str | None, features: frozenset[str] | None) -> Condition:
    """The ledger still says ``plan``, ``usage_tier`` and ``features``."""
    names = {"#plan": "plan", "#usage": items.USAGE_TIER, "#features": items.FEATURES}
    values: dict[str, str] = {":plan": plan}
    held = ["#plan = :plan"]
    for name, value in (("usage", usage_tier), ("features", items.features_attribute(features).get(items.FEATURES))):
        if value is None:
            held.append(f"attribute_not_exists(#{name})")
        else:
            held.append(f"#{name} = :{name}")
            values[f":{name}"] = value
    return Condition(" AND ".join(held), names, values)


class ApiKeyRepository(IdentityTable):
    """Implements ``ApiKeyStore``."""

    def add(
        self, key: ApiKey, *, plan: str, usage_tier: str | None, features: frozenset[str] | None, event: Envelope
    ) -> None:
        tx = self._tx()
        # The plan, usage tier and features copied onto the lookup must be the tenant's now: a concurrent
        # entitlements change (or the usage-keys job) either fails this condition or, having read the
        # version this bumps, retries and sees the key.
        self._move_seats(
            tx,
            key.tenant_id,
            api_keys=1,
            require=[ROOM_FOR_API_KEY],
            also=_still(plan, usage_tier, features),
            put={items.api_key_attribute(key.id): key.secret_hash},
        )
        tx.put_versioned(items.api_key_item(key), expected_version=None)
        tx.put_new(items.api_key_lookup_item(key, plan, usage_tier, features))
        tx.publish(event)
        self._execute(tx)

    def get(self, tenant_id: str, api_key_id: str) -> ApiKey | None:
        item = self._get(api_key_key(tenant_id, api_key_id))
        return items.to_api_key(item) if item else None

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        return self._page(tenant_pk(tenant_id), entity_sk(API_KEY), items.to_api_key, limit=limit, cursor=cursor)

    def revoke(self, revoked: ApiKey, event: Envelope) -> None:
        tx = self._tx()
        tx.put_versioned(items.api_key_item(revoked), expected_version=revoked.version)
        tx.delete(api_key_lookup_key(revoked.secret_hash))
        self._move_seats(tx, revoked.tenant_id, api_keys=-1, drop=[items.api_key_attribute(revoked.id)])
        tx.publish(event)
        self._execute(tx)
