"""The read models and how one event changes them.

Per tenant: its summary (name, status, events seen, last activity, limits, its subscription facts),
the things that open and close (members, invitations, API keys, projects: each with its own facts),
its activity entries, and its usage per day. For the platform: MRR movements, refunds and credit
notes per month and currency; subscriptions by plan and status; trial outcomes; tenants ranked by
MRR and by activity.

``changes`` is pure: from the event and the state it touches, the writes that bring every model to
what the facts now say. Sums (usage per day, revenue per month, subscriptions by plan) change by
the difference between a tenant's (or a thing's) contribution after the fact and before it, and a
contribution is a function of a set of facts, so any delivery order gives the same sums; the
activity entry, keyed by the event id, makes a duplicate a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from functions.reporting.domain import revenue, usage
from functions.reporting.domain.facts import Fact, Limits, Reading
from functions.reporting.domain.revenue import RevenueFact
from functions.reporting.domain.usage import LifecycleFact

EntityKey = tuple[str, str]  # (kind, id)
Sums = dict[str, int]


@dataclass(frozen=True)
class TenantState:
    """What reporting holds about one tenant; ``version`` is ``None`` until it is first stored."""

    tenant_id: str
    version: int | None = None
    name: str | None = None
    #: When the name and the status were set (``<time>#<event id>``: the latest fact wins, whatever the order).
    name_at: str | None = None
    status: str | None = None
    status_at: str | None = None
    events: int = 0
    last_activity_at: str | None = None
    limits: Limits | None = None
    revenue: frozenset[RevenueFact] = frozenset()

    @property
    def mrr(self) -> dict[str, int]:
        return revenue.mrr_now(self.revenue)

    @property
    def subscription(self) -> tuple[str, str, str] | None:
        return revenue.subscription_state(self.revenue)


@dataclass(frozen=True)
class Entity:
    """A thing that opens and closes, with its facts; ``version`` is ``None`` until it is first stored."""

    kind: str
    id: str
    facts: frozenset[LifecycleFact] = frozenset()
    version: int | None = None


@dataclass(frozen=True)
class ActivityEntry:
    """One line of a tenant's activity: who did what, when, in which correlation."""

    event_id: str
    type: str
    at: str
    actor: str | None
    summary: str
    correlation_id: str


@dataclass
class Changes:
    """Every write one event makes, for the store to commit as one transaction."""

    tenant_id: str
    activity: ActivityEntry
    tenant_before: TenantState
    tenant_after: TenantState
    entities: list[tuple[Entity, Entity]] = field(default_factory=list)
    #: Usage per day, and the running total of every level (``LEVEL``), by figure.
    days: dict[str, Sums] = field(default_factory=dict)
    levels: Sums = field(default_factory=dict)
    #: The tenant's limits, when this event brings newer ones.
    limits: Limits | None = None
    #: Per ``(month, currency)``: MRR movements, logos (currency ``*``), refunds and credit notes.
    revenue: dict[tuple[str, str], Sums] = field(default_factory=dict)
    #: Subscriptions by ``plan#interval#status``, and trial outcomes.
    subscriptions: Sums = field(default_factory=dict)
    trials: Sums = field(default_factory=dict)


def _add(target: dict[str, int], figure: str, delta: int) -> None:
    target[figure] = target.get(figure, 0) + delta


def _nonzero(sums: Mapping[Any, Sums]) -> dict[Any, Sums]:
    out = {}
    for key, values in sums.items():
        kept = {k: v for k, v in values.items() if v}
        if kept:
            out[key] = kept
    return out


def _later(current: str | None, candidate: str) -> bool:
    return current is None or candidate > current


def changes(fact: Fact, reading: Reading, tenant: TenantState, entities: Mapping[EntityKey, Entity]) -> Changes:
    """The writes that apply ``fact`` (read as ``reading``) to the models, given the state it touches."""
    after = replace(
        tenant,
        events=tenant.events + 1,
        last_activity_at=fact.occurred_at
        if _later(tenant.last_activity_at, fact.occurred_at)
        else tenant.last_activity_at,
    )
    stamp = f"{fact.occurred_at}#{fact.event_id}"
    if reading.tenant_name and _later(tenant.name_at, stamp):
        after = replace(after, name=reading.tenant_name, name_at=stamp)
    if reading.status and _later(tenant.status_at, stamp):
        after = replace(after, status=reading.status, status_at=stamp)
    newer_limits = None
    if reading.limits and (
        tenant.limits is None
        or (reading.limits.effective_at, fact.event_id) > (tenant.limits.effective_at, tenant.limits.event_id)
    ):
        newer_limits = replace(reading.limits, event_id=fact.event_id)
    if newer_limits:
        after = replace(after, limits=newer_limits)
    if reading.revenue:
        after = replace(after, revenue=tenant.revenue | {reading.revenue})
    out = Changes(
        tenant_id=fact.tenant_id,
        activity=ActivityEntry(
            fact.event_id, fact.type, fact.occurred_at, reading.actor, reading.summary, fact.correlation_id
        ),
        tenant_before=tenant,
        tenant_after=after,
        limits=newer_limits,
    )
    _usage(reading, entities, out)
    _revenue(reading, tenant, after, out)
    return out


def _usage(reading: Reading, entities: Mapping[EntityKey, Entity], out: Changes) -> None:
    days: dict[str, Sums] = defaultdict(dict)
    updated: dict[EntityKey, Entity] = {}
    for kind, entity_id, lifecycle_fact in reading.lifecycles:
        key = (kind, entity_id)
        before = updated.get(key) or entities.get(key) or Entity(kind, entity_id)
        after = replace(before, facts=before.facts | {lifecycle_fact})
        figure = usage.LEVELS[kind]
        for day, delta in usage.difference(usage.daily_deltas(before.facts), usage.daily_deltas(after.facts)).items():
            _add(days[day], figure, delta)
            _add(out.levels, figure, delta)
        updated[key] = after
    for key, after in updated.items():
        out.entities.append((entities.get(key) or Entity(*key), after))
    for day, figure in reading.counts:
        _add(days[day], figure, 1)
    out.days = _nonzero(days)
    out.levels = {k: v for k, v in out.levels.items() if v}


def _revenue(reading: Reading, before: TenantState, after: TenantState, out: Changes) -> None:
    sums: dict[tuple[str, str], Sums] = defaultdict(dict)
    if after.revenue != before.revenue:
        old, new = revenue.movements(before.revenue), revenue.movements(after.revenue)
        for key in set(old) | set(new):
            for figure, delta in usage.difference(old.get(key, {}), new.get(key, {})).items():
                _add(sums[key], figure, delta)
        old_sub, new_sub = before.subscription, after.subscription
        if old_sub != new_sub:
            if old_sub:
                _add(out.subscriptions, "#".join(old_sub), -1)
            if new_sub:
                _add(out.subscriptions, "#".join(new_sub), 1)
        trials = usage.difference(revenue.trial_outcomes(before.revenue), revenue.trial_outcomes(after.revenue))
        out.trials = trials
    for month, currency, figure, amount in reading.money:
        _add(sums[(month, currency)], figure, amount)
    out.revenue = _nonzero(sums)
    out.subscriptions = {k: v for k, v in out.subscriptions.items() if v}
