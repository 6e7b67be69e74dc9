"""What a tenant uses, day by day: members, pending invitations, API keys and active projects are
things that open and close (lifecycles); tasks created and completed are counted on their day.

A lifecycle is a function of the *set* of its facts (sorted by effective time, then event id), so
its contribution to the daily figures, ``+1`` on the day it opens and ``-1`` on the day it closes,
is the same whatever order the facts arrived in. When a fact arrives, the store adds the difference
between the new contribution and the old one: any order and any duplicate leave the same sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OPEN, CLOSE = "open", "close"
#: The figures that are levels (how many at the end of a day), by the kind of thing that opens and closes.
LEVELS = {"member": "members", "invitation": "pending_invitations", "api_key": "api_keys", "project": "active_projects"}
#: The figures counted on their day.
COUNTS = ("tasks_created", "tasks_completed")


@dataclass(frozen=True, order=True)
class LifecycleFact:
    """A thing opened or closed at ``at`` (UTC ISO-8601); ``until`` closes it by itself (an invitation expires)."""

    at: str
    event_id: str
    op: str
    until: str | None = None

    def as_item(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def of_item(cls, item: Mapping[str, str]) -> LifecycleFact:
        return cls(at=item["at"], event_id=item["event_id"], op=item["op"], until=item.get("until"))


def day_of(at: str) -> str:
    """``YYYY-MM-DD`` of a UTC ISO-8601 time."""
    return at[:10]


def intervals(facts: Iterable[LifecycleFact]) -> list[tuple[str, str | None]]:
    """When the thing was open: ``(opened at, closed at or None)``, from its facts in effective order."""
    timeline: list[tuple[str, str, str]] = []  # (at, event id, op); an expiry sorts as a close
    for fact in set(facts):
        timeline.append((fact.at, fact.event_id, fact.op))
        if fact.op == OPEN and fact.until is not None:
            timeline.append((fact.until, fact.event_id + "~", CLOSE))
    opened: str | None = None
    out: list[tuple[str, str | None]] = []
    for at, _, op in sorted(timeline):
        if op == OPEN and opened is None:
            opened = at
        elif op == CLOSE and opened is not None:
            out.append((opened, at))
            opened = None
    if opened is not None:
        out.append((opened, None))
    return out


def daily_deltas(facts: Iterable[LifecycleFact]) -> dict[str, int]:
    """The thing's contribution to the level: ``+1`` on each day it opened, ``-1`` on each day it closed
    (a thing opened and closed on the same day contributes nothing)."""
    deltas: Counter[str] = Counter()
    for opened, closed in intervals(facts):
        deltas[day_of(opened)] += 1
        if closed is not None:
            deltas[day_of(closed)] -= 1
    return {day: n for day, n in deltas.items() if n}


def difference(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """What to add to go from ``before`` to ``after`` (non-zero entries only)."""
    keys = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(keys) if after.get(k, 0) != before.get(k, 0)}
