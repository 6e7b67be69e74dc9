"""Limits on counters, each defined once and enforced twice from that one definition.

A limit is a rule on a counter item (a tenant's seat ledger, a user's tenant allowance): the domain
evaluates it on what it read (``holds``, a clear error before any write), and the table adapter
renders the same rule as the DynamoDB condition of the write that moves the counter, so that no
concurrent writer slips past it. A counter that does not exist yet counts as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: What a limit reads: counter and limit values by attribute name (``None`` or missing: not set).
Counters = Mapping[str, int | None]


@dataclass(frozen=True)
class Below:
    """``counter < limit``. The limit is the counter item's ``limit`` attribute when it holds one
    (an override), else ``default``; with neither there is no limit."""

    counter: str
    limit: str | None = None
    default: int | None = None

    def bound(self, counters: Counters) -> int | None:
        held = counters.get(self.limit) if self.limit else None
        return held if held is not None else self.default

    def holds(self, counters: Counters) -> bool:
        bound = self.bound(counters)
        return bound is None or (counters.get(self.counter) or 0) < bound


@dataclass(frozen=True)
class Above:
    """``counter > floor``."""

    counter: str
    floor: int

    def holds(self, counters: Counters) -> bool:
        return (counters.get(self.counter) or 0) > self.floor


Limit = Below | Above
