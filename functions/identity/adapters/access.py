"""The authorizer's reads: one request per decision, never a write."""

from __future__ import annotations

from functions.identity.adapters import items
from functions.identity.adapters.keys import api_key_lookup_key, member_key, seats_key, tenant_key
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.api_key import ApiKeyGrant
from functions.identity.domain.ports import MemberGrant
from functions.identity.domain.tenant import TenantStatus
from keel.tenancy import Role, decode_features


class AccessReads(IdentityTable):
    """Implements ``AccessStore``."""

    def member_grant(self, tenant_id: str, user_id: str) -> MemberGrant | None:
        """The member's role, the tenant's plan and features, and whether it is suspended: one BatchGetItem."""
        member, seats, tenant = self._get_many(
            member_key(tenant_id, user_id), seats_key(tenant_id), tenant_key(tenant_id)
        )
        if member is None or seats is None or tenant is None:
            return None
        return MemberGrant(
            role=Role(member["role"]),
            plan=str(seats["plan"]),
            suspended=tenant.get("status") == TenantStatus.SUSPENDED.value,
            usage_tier=seats.get(items.USAGE_TIER),
            features=decode_features(seats.get(items.FEATURES)),
        )

    def api_key_grant(self, secret_hash: str) -> ApiKeyGrant | None:
        """The key's tenant, role, the tenant's plan, features and status: one GetItem."""
        item = self._get(api_key_lookup_key(secret_hash))
        return items.to_api_key_grant(item) if item else None
