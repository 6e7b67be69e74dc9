"""Per-tenant request limits, as API Gateway's usage plans apply them: a token bucket per tenant key.

The authorizer names each tenant's key (``usageIdentifierKey``) and the tenant's plan; the plan's rate
tier (``keel.rate_tiers``) gives the bucket's rate and size. A tenant over its rate is answered 429 in
Keel's error shape with ``Retry-After``; another tenant's bucket is its own. A tenant-scoped request
whose authorizer named no key is refused 403, as API Gateway refuses a method that requires a key.
Daily quotas are not counted locally (a day of local traffic never reaches one).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keel.errors import Forbidden, TooManyRequests
from keel.rate_tiers import RATE_TIERS, RateTier, tier_of

#: API Gateway's answer when a method requires a key and the authorizer named none.
NO_KEY = (403, Forbidden.code, "Forbidden")


@dataclass(frozen=True)
class Throttled:
    """429: the tenant is over its tier's rate; ``retry_after`` whole seconds until it may send again."""

    retry_after: int
    status: int = 429
    code: str = TooManyRequests.code
    message: str = "too many requests for this tenant's plan; retry after the time in Retry-After"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantThrottle:
    """A token bucket per usage key, sized by the tier of the plan the authorizer read."""

    def __init__(
        self, tiers: Mapping[str, RateTier] = RATE_TIERS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.tiers = tiers
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, usage_key: str, plan: str) -> Throttled | None:
        """Spend one request of ``usage_key``'s bucket; ``Throttled`` when it is empty."""
        tier = tier_of(plan, self.tiers)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(usage_key, _Bucket(tokens=tier.burst, updated=now))
            bucket.tokens = min(tier.burst, bucket.tokens + (now - bucket.updated) * tier.rate_per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            wait = (1 - bucket.tokens) / tier.rate_per_second
        return Throttled(retry_after=max(1, math.ceil(wait)))
