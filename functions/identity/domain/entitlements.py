"""Identity's own copy of a tenant's plan and seat limit, fed by ``billing.entitlements.changed.v1``.

Delivery is unordered: an event not newer (by ``effective_at``) than the copy held changes nothing.
The plan is also copied onto the tenant's active API keys' lookups, so the authorizer answers an
API key with one ``GetItem``. The tenant's API Gateway key of the new plan's rate tier (``rate_tier``)
is made first (``usage``) and recorded with the copy: the authorizer names it from then on. This is
also how a new tenant gets its first key: billing announces its free plan right after sign-up, so
sign-up itself never calls API Gateway's control plane (whose rate limits are low), and the tenant
counts against the stage's shared key for those seconds. Where there are no usage plans yet, the
tenant keeps the key it has (or the shared one) until identity's ``usage-keys`` job gives it the new
tier's.
"""

from __future__ import annotations

from functions.identity.domain.ports import EntitlementsCopy, UsagePlans
from keel.contracts.billing import EntitlementsChanged
from keel.rate_tiers import tier_of


class EntitlementsService:
    def __init__(self, copy: EntitlementsCopy, usage: UsagePlans) -> None:
        self._copy = copy
        self._usage = usage

    def apply(self, tenant_id: str, entitlements: EntitlementsChanged) -> bool:
        """Replace the copy (in the consumer's unit of work, with its inbox marker). Returns ``False``
        when the event is ignored: an unknown tenant, or older than the copy."""
        seats = self._copy.seats(tenant_id)
        if seats is None or not seats.is_newer(entitlements.effective_at):
            return False
        tier = tier_of(entitlements.rate_tier or entitlements.plan).name
        has_key = seats.usage_tier == tier or self._usage.provide(tenant_id, tier)
        usage_tier = tier if has_key else seats.usage_tier
        self._copy.replace(
            tenant_id=tenant_id,
            plan=entitlements.plan,
            seat_limit=entitlements.seat_limit,
            rate_tier=tier,
            usage_tier=usage_tier,
            effective_at=entitlements.effective_at,
            seats_version=seats.version,
            api_key_hashes=self._copy.active_api_key_hashes(tenant_id),
        )
        return True
