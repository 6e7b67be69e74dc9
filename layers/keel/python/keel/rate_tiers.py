"""Per-tenant request limits by plan: one rate tier per plan, the same in the cloud and locally.

API Gateway renders each tier as a usage plan (``infra/cloud/protection.py``) and the local gateway
as a token bucket per tenant (``infra/local/throttle.py``); identity keeps each tenant's key in the
usage plan of its plan's tier. A plan with no tier of its own name gets ``DEFAULT_TIER``: add a tier
named as the plan to give it other limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RateTier:
    """What one tenant of a plan may send: a steady rate, a burst above it, and a daily quota."""

    name: str
    #: Requests per second, sustained.
    rate_per_second: float
    #: Requests at once above the rate (the token bucket's size).
    burst: int
    #: Requests per day (UTC); ``None``: no quota.
    requests_per_day: int | None = None

    @property
    def seconds_per_request(self) -> float:
        """How long one spent request takes to come back: the least a throttled caller should wait."""
        return 1 / self.rate_per_second


#: The tier of any plan without one of its own.
DEFAULT_TIER = "free"

RATE_TIERS: Mapping[str, RateTier] = {
    tier.name: tier
    for tier in (
        RateTier("free", rate_per_second=10, burst=20, requests_per_day=50_000),
        RateTier("pro", rate_per_second=50, burst=100, requests_per_day=1_000_000),
        RateTier("enterprise", rate_per_second=200, burst=400),
    )
}


def tier_of(plan: str, tiers: Mapping[str, RateTier] = RATE_TIERS) -> RateTier:
    """The rate tier of ``plan``: the tier of that name, else the default tier."""
    return tiers.get(plan) or tiers[DEFAULT_TIER]
