"""DynamoDB requests per operation: the request budget (README, "Budgets"), checked per step.

Each context contributes a scenario (``bench/scenarios/<context>.py``): steps that drive its real
handlers through the local gateway. A step's ``prepare`` runs before counting starts (looking up a
token, say); only ``run`` is counted, attributed to the API handler or to the authorizer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["read", "write", "auth", "receive", "process"]
READ_OPERATIONS = frozenset({"GetItem", "Query", "BatchGetItem"})
SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


@dataclass(frozen=True)
class Step:
    """``read``: at most 1 request. ``write``: 1 TransactWriteItems (after at most 1 read).
    ``auth``: the authorizer's requests for one uncached authorization, at most 1. ``receive`` (a
    webhook receiver): 1 TransactWriteItems, no read, no Stripe request. ``process`` (a webhook's
    processor): 1 Stripe request (the object fetched again) and 1 TransactWriteItems."""

    name: str
    kind: Kind
    run: Callable[[], Any]
    prepare: Callable[[], Any] | None = None


@dataclass(frozen=True)
class Measured:
    context: str
    step: str
    kind: Kind
    operations: dict[str, int]
    #: Requests to Stripe's API during the step.
    stripe: int = 0

    @property
    def breaches(self) -> list[str]:
        ops = Counter(self.operations)
        reads = sum(ops[o] for o in READ_OPERATIONS)
        out = []
        if ops["Scan"]:
            out.append("scans")
        if sum(ops[o] for o in SINGLE_WRITES):
            out.append("writes outside a transaction")
        if self.kind in ("read", "auth"):
            if reads > 1:
                out.append(f"{reads} reads")
            if ops["TransactWriteItems"]:
                out.append("a read that writes")
        if self.kind in ("write", "receive", "process") and ops["TransactWriteItems"] != 1:
            out.append(f"{ops['TransactWriteItems']} transactions")
        if self.kind == "write" and reads > 1:
            out.append(f"{reads} reads before the write")
        if self.kind == "receive":
            if reads:
                out.append(f"{reads} reads")
            if self.stripe:
                out.append(f"{self.stripe} Stripe requests")
        if self.kind == "process" and self.stripe != 1:
            out.append(f"{self.stripe} Stripe requests")
        return out

    @property
    def summary(self) -> str:
        counted = [f"{name} {count}" for name, count in sorted(self.operations.items())]
        if self.stripe:
            counted.append(f"Stripe {self.stripe}")
        return ", ".join(counted) or "none"
