"""Identity's own copy of a tenant's plan and seat limit, fed by ``billing.entitlements.changed.v1``.

Delivery is unordered: an event not newer (by ``effective_at``) than the copy held changes nothing.
The plan is also copied onto the tenant's active API keys' lookups, so the authorizer answers an
API key with one ``GetItem``. The tenant's API Gateway key of the new plan's rate tier is made first
(``usage``): the authorizer names it as soon as the copy says the new plan.
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
        self._usage.provide(tenant_id, tier_of(entitlements.plan).name)
        self._copy.replace(
            tenant_id=tenant_id,
            plan=entitlements.plan,
            seat_limit=entitlements.seat_limit,
            effective_at=entitlements.effective_at,
            seats_version=seats.version,
            api_key_hashes=self._copy.active_api_key_hashes(tenant_id),
        )
        return True
