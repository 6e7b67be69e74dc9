"""Per-tenant request limits, as API Gateway's usage plans apply them: a token bucket per usage key.

``keel dev`` makes the stage's usage plans on moto as the API stack makes them in the cloud
(``make_usage_plans``: one per rate tier, and the shared tier's holding the stage's shared key), and
identity keeps each tenant's key in its tier's plan there exactly as it does on AWS. The gateway then
answers each tenant-scoped request as API Gateway does with the key the authorizer named
(``usageIdentifierKey``):

- no key, or a key in no usage plan: 403, the method requires a key;
- a key whose bucket (its plan's rate and burst, read from moto once per key) is empty: 429 in Keel's
  error shape with ``Retry-After``. Another key's bucket is its own.

Daily quotas are not counted locally (a day of local traffic never reaches one).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infra.model import Topology
from keel.errors import Forbidden, TooManyRequests
from keel.rate_tiers import RATE_TIERS, SHARED_TIER, RateTier

#: API Gateway's answer when a method requires a key and the authorizer named none it knows.
NO_KEY = (403, Forbidden.code, "Forbidden")


def make_usage_plans(
    client: Any,
    topology: Topology,
    tiers: Iterable[RateTier] = RATE_TIERS.values(),
    shared: RateTier = SHARED_TIER,
) -> dict[str, str]:
    """The stage's usage plans (``{tier: id}``, what identity is given) and the shared tier's plan with
    the stage's shared key in it, made on ``client``'s API Gateway."""

    def plan(tier: RateTier) -> str:
        throttle = {"rateLimit": tier.rate_per_second, "burstLimit": tier.burst}
        return str(client.create_usage_plan(name=topology.usage_plan_name(tier.name), throttle=throttle)["id"])

    plans = {tier.name: plan(tier) for tier in tiers}
    key = client.create_api_key(
        name=topology.resource_name("shared-usage"), value=topology.shared_usage_key, enabled=True
    )
    client.create_usage_plan_key(usagePlanId=plan(shared), keyId=key["id"], keyType="API_KEY")
    return plans


class UsagePlanLimits:
    """The rate and burst of the usage plan holding a key, found on API Gateway (moto) by the key's
    value and kept: a key never changes plans (``functions/identity/domain/usage.py``)."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client
        self._known: dict[str, RateTier] = {}

    def __call__(self, value: str) -> RateTier | None:
        known = self._known.get(value)
        if known is not None:
            return known
        client = self._client()
        keys = client.get_api_keys(includeValues=True)["items"]
        key_id = next((k["id"] for k in keys if k.get("value") == value), None)
        plans = client.get_usage_plans(keyId=key_id)["items"] if key_id is not None else []
        if not plans:
            return None  # not (yet) in a plan: asked again next time
        throttle = plans[0].get("throttle") or {}
        tier = RateTier(
            plans[0]["name"], rate_per_second=float(throttle["rateLimit"]), burst=int(throttle["burstLimit"])
        )
        self._known[value] = tier
        return tier


@dataclass(frozen=True)
class Throttled:
    """429: the key is over its plan's rate; ``retry_after`` whole seconds until it may send again."""

    retry_after: int
    status: int = 429
    code: str = TooManyRequests.code
    message: str = "too many requests for this tenant's plan; retry after the time in Retry-After"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantThrottle:
    """A token bucket per usage key, sized by the usage plan ``limits`` finds the key in."""

    def __init__(
        self, limits: Callable[[str], RateTier | None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, usage_key: str | None) -> Throttled | tuple[int, str, str] | None:
        """Spend one request of ``usage_key``'s bucket: ``None`` when admitted, ``Throttled`` when it
        is empty, ``NO_KEY`` when there is no key or it is in no usage plan."""
        tier = self.limits(usage_key) if usage_key is not None else None
        if usage_key is None or tier is None:
            return NO_KEY
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
