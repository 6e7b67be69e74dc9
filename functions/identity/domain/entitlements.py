"""Identity's own copy of a tenant's plan and seat limit, fed by ``billing.entitlements.changed.v1``.

Delivery is unordered: an event not newer (by ``effective_at``) than the copy held changes nothing.
The plan is also copied onto the tenant's active API keys' lookups, so the authorizer answers an
API key with one ``GetItem``.
"""

from __future__ import annotations

from functions.identity.domain.ports import EntitlementsCopy
from keel.contracts.billing import EntitlementsChanged


class EntitlementsService:
    def __init__(self, copy: EntitlementsCopy) -> None:
        self._copy = copy

    def apply(self, tenant_id: str, entitlements: EntitlementsChanged) -> bool:
        """Replace the copy (in the consumer's unit of work, with its inbox marker). Returns ``False``
        when the event is ignored: an unknown tenant, or older than the copy."""
        seats = self._copy.seats(tenant_id)
        if seats is None or not seats.is_newer(entitlements.effective_at):
            return False
        self._copy.replace(
            tenant_id=tenant_id,
            plan=entitlements.plan,
            seat_limit=entitlements.seat_limit,
            effective_at=entitlements.effective_at,
            seats_version=seats.version,
            api_key_hashes=self._copy.active_api_key_hashes(tenant_id),
        )
        return True
