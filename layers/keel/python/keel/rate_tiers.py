"""Per-tenant request limits: one rate tier per plan, the same in the cloud and locally.

Billing's plan catalog names each plan's tier (``rate_tier`` of ``billing.entitlements.changed.v1``:
``free``, ``pro``, ``business``). API Gateway renders each tier as a usage plan
(``infra/cloud/protection.py``); identity keeps each tenant's key in the usage plan of its tier, and
the local gateway reads the same plans to size a token bucket per key (``infra/local/throttle.py``).
A tier name no tier here carries (a plan added to billing's catalog first) gets ``DEFAULT_TIER``.

``SHARED_TIER`` is the budget of tenants that have no key of their own yet: every tenant of a stage
deployed before usage plans existed, until identity's ``usage-keys`` job has made theirs. Its limits
are those the whole stage had before usage plans, so such a tenant is served exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RateTier:
    """What one tenant of a tier may send: a steady rate, a burst above it, and a daily quota."""

    name: str
    #: Requests per second, sustained.
    rate_per_second: float
    #: Requests at once above the rate (the token bucket's size).
    burst: int
    #: Requests per day (UTC); ``None``: no quota.
    requests_per_day: int | None = None


#: The tier of a plan whose tier is unknown here.
DEFAULT_TIER = "free"

RATE_TIERS: Mapping[str, RateTier] = {
    tier.name: tier
    for tier in (
        RateTier("free", rate_per_second=10, burst=20, requests_per_day=50_000),
        RateTier("pro", rate_per_second=50, burst=100, requests_per_day=1_000_000),
        RateTier("business", rate_per_second=200, burst=400),
    )
}

#: One budget for every tenant without a key of its own (the stage's own default throttle).
SHARED_TIER = RateTier("shared", rate_per_second=100, burst=200)


def tier_of(name: str | None, tiers: Mapping[str, RateTier] = RATE_TIERS) -> RateTier:
    """The rate tier named ``name`` (from the tenant's entitlements), else the default tier."""
    return tiers.get(name or "") or tiers[DEFAULT_TIER]
