"""Each tenant's own request budget: the API Gateway API key its requests are counted against.

A tenant has one key per rate tier it has been on (``keel.rate_tiers``), each in that tier's usage
plan for good: a new tier's key is made and put in its plan before identity records it as the
tenant's ``usage_tier``, and the authorizer names the key of the recorded tier, so no key is ever
moved between plans and no request meets a key that is not in a plan. The key's value is derived from
the tenant and the tier, so the authorizer names it (``usageIdentifierKey``) without reading anything
more; callers never send it (the API takes keys from the authorizer only), so knowing it grants nothing.

A tenant with no key of its own recorded (for the seconds between its sign-up and billing's
announcement of its free plan, which makes its key; or signed up before the stage had usage plans, or
while they could not be reached) counts against the stage's shared key, in the shared tier's plan: served as the
whole stage was before usage plans. ``UsageKeysService.reconcile`` (identity's hourly ``usage-keys``
job) gives each such tenant its key, and moves a tenant whose key lags its plan's tier.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.identity.domain.ports import TenantDirectory, UsagePlans, UsageTiers
from keel.rate_tiers import tier_of

#: API Gateway wants key values of 20 characters or more; a tenant id alone has 30 (letters and digits kept).
_KEY_PREFIX = "keel"
#: Tenants read per page of the directory by the reconciliation.
RECONCILE_PAGE = 100


def usage_key_name(tenant_id: str, tier: str) -> str:
    """The name of ``tenant_id``'s key for ``tier`` (how an operator finds it in API Gateway)."""
    return f"{tenant_id}.{tier}"


def usage_key(tenant_id: str, tier: str) -> str:
    """The value of ``tenant_id``'s API Gateway key for ``tier``."""
    return _KEY_PREFIX + "".join(c for c in f"{tenant_id}{tier}" if c.isalnum())


@dataclass(frozen=True)
class Reconciled:
    """What one reconciliation did: tenants read, keys given, and whether the plans were there at all."""

    tenants: int = 0
    keyed: int = 0
    plans_configured: bool = True


class UsageKeysService:
    def __init__(self, directory: TenantDirectory, tiers: UsageTiers, usage: UsagePlans) -> None:
        self._directory = directory
        self._tiers = tiers
        self._usage = usage

    def reconcile(self) -> Reconciled:
        """Give every tenant whose recorded key is not of its plan's tier (or who has none) the key of
        that tier, then record it. Idempotent and safe beside sign-ups and plan changes: a ledger that
        changed meanwhile is left to the change (which makes its own key). Reads the directory page by
        page (one Query and one BatchGetItem per page; no Scan)."""
        tenants = keyed = 0
        cursor: str | None = None
        while True:
            page = self._directory.page(None, limit=RECONCILE_PAGE, cursor=cursor)
            ledgers = self._tiers.seats([t.id for t in page.items])
            tenants += len(page.items)
            for tenant_id, seats in ledgers.items():
                tier = tier_of(seats.rate_tier).name
                if seats.usage_tier == tier:
                    continue
                if not self._usage.provide(tenant_id, tier):
                    return Reconciled(tenants, keyed, plans_configured=False)
                hashes = self._tiers.active_api_key_hashes(tenant_id)
                keyed += self._tiers.record(tenant_id, tier, seats_version=seats.version, api_key_hashes=hashes)
            cursor = page.cursor
            if cursor is None:
                return Reconciled(tenants, keyed)
