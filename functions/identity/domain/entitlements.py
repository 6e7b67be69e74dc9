"""Identity's own copy of a tenant's plan, seat limit and features, fed by ``billing.entitlements.changed.v1``.

Delivery is unordered: an event not newer (by ``effective_at``) than the copy held changes nothing.
The plan and the features that are on are also copied onto the tenant's active API keys' lookups, so
the authorizer answers an API key with one ``GetItem``, and it hands both to every context in its
answer (a context gating a route on a feature reads nothing for it). When the features change, the
API's cache of authorizer answers is flushed once the copy is written, so the change holds at once
rather than within the cache's TTL (if the flush fails, a warning is logged and the TTL bounds it).

The tenant's API Gateway key of the new plan's rate tier (``rate_tier``) is made first (``usage``) and
recorded with the copy: the authorizer names it from then on. This is also how a new tenant gets its
first key: billing announces its free plan right after sign-up, so sign-up itself never calls API
Gateway's control plane (whose rate limits are low), and the tenant counts against the stage's shared
key for those seconds. Where there are no usage plans yet, the tenant keeps the key it has (or the
shared one) until identity's ``usage-keys`` job gives it the new tier's.
"""

from __future__ import annotations

from functions.identity.domain.ports import AuthorizerCache, EntitlementsCopy, UsagePlans
from keel import observability
from keel.contracts.billing import EntitlementsChanged
from keel.rate_tiers import tier_of

SERVICE = "identity"


class EntitlementsService:
    def __init__(self, copy: EntitlementsCopy, usage: UsagePlans, authorizer_cache: AuthorizerCache) -> None:
        self._copy = copy
        self._usage = usage
        self._authorizer_cache = authorizer_cache

    def apply(self, tenant_id: str, entitlements: EntitlementsChanged) -> bool:
        """Replace the copy (in the consumer's unit of work, with its inbox marker). Returns ``False``
        when the event is ignored: an unknown tenant, or older than the copy."""
        seats = self._copy.seats(tenant_id)
        if seats is None or not seats.is_newer(entitlements.effective_at):
            return False
        tier = tier_of(entitlements.rate_tier or entitlements.plan).name
        has_key = seats.usage_tier == tier or self._usage.provide(tenant_id, tier)
        usage_tier = tier if has_key else seats.usage_tier
        features = frozenset(name for name, on in entitlements.features.items() if on)
        self._copy.replace(
            tenant_id=tenant_id,
            plan=entitlements.plan,
            seat_limit=entitlements.seat_limit,
            rate_tier=tier,
            usage_tier=usage_tier,
            features=features,
            effective_at=entitlements.effective_at,
            seats_version=seats.version,
            api_key_hashes=self._copy.active_api_key_hashes(tenant_id),
        )
        # Answers cached without features are not stale: the contexts then read their own copies.
        if seats.features is not None and seats.features != features:
            self._copy.once_written(self._flush)
        return True

    def _flush(self) -> None:
        try:
            self._authorizer_cache.flush()
        except Exception:  # the copy is written: its event must not be retried for a cache
            observability.for_service(SERVICE).logger.warning(
                "authorizer cache not flushed: answers cached before the features changed hold until they expire",
                exc_info=True,
            )
