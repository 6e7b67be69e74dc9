"""Reporting's models in memory, for the services' tests: the adapter's semantics (an activity entry
per event id, versions on the summary and on each thing, sums added to) and nothing more."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.reporting.domain.facts import Fact
from functions.reporting.domain.model import ActivityEntry, Changes, Entity, EntityKey, TenantState
from functions.reporting.domain.ports import AlreadyApplied, Contended, Page

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class MemoryModels:
    """``Models`` and ``Reports`` over dictionaries."""

    activity: dict[tuple[str, str], ActivityEntry] = field(default_factory=dict)
    tenants: dict[str, TenantState] = field(default_factory=dict)
    entities: dict[tuple[str, str, str], Entity] = field(default_factory=dict)
    days: dict[tuple[str, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    levels: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    revenue_sums: dict[tuple[str, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    plans: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    trial_sums: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def load(self, tenant_id: str, entities: Sequence[EntityKey]) -> tuple[TenantState, dict[EntityKey, Entity]]:
        state = self.tenants.get(tenant_id, TenantState(tenant_id=tenant_id))
        return state, {k: self.entities.get((tenant_id, *k), Entity(*k)) for k in entities}

    def commit(self, changes: Changes) -> None:
        t = changes.tenant_id
        if (t, changes.activity.event_id) in self.activity:
            raise AlreadyApplied(changes.activity.event_id)
        if self.tenants.get(t, TenantState(t)).version != changes.tenant_before.version:
            raise Contended(t)
        self.activity[(t, changes.activity.event_id)] = changes.activity
        self.tenants[t] = _versioned(changes.tenant_after, changes.tenant_before.version)
        for old, new in changes.entities:
            self.entities[(t, new.kind, new.id)] = Entity(new.kind, new.id, new.facts, (old.version or 0) + 1)
        for day, figures in changes.days.items():
            _add(self.days[(t, day)], figures)
        _add(self.levels[t], changes.levels)
        if changes.limits:
            self.levels[t]["limits"] = {
                "plan": changes.limits.plan,
                "seat_limit": changes.limits.seat_limit,
                "project_limit": changes.limits.project_limit,
                "effective_at": changes.limits.effective_at,
            }
        for key, figures in changes.revenue.items():
            _add(self.revenue_sums[key], figures)
        for key, delta in changes.subscriptions.items():
            self.plans[key] += delta
        for key, delta in changes.trials.items():
            self.trial_sums[key] += delta

    # -- Reports --------------------------------------------------------------------------------------

    def activity_of(self, tenant_id: str) -> list[ActivityEntry]:
        return sorted(
            (e for (t, _), e in self.activity.items() if t == tenant_id), key=lambda e: (e.at, e.event_id), reverse=True
        )

    def usage(self, tenant_id: str, *, first_day: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        days = [{"day": d, **f} for (t, d), f in sorted(self.days.items()) if t == tenant_id and d >= first_day]
        return days, dict(self.levels[tenant_id]) if tenant_id in self.levels else None

    def revenue(self, *, last_month: str) -> list[dict[str, Any]]:
        return [{"month": m, "currency": c, **f} for (m, c), f in sorted(self.revenue_sums.items()) if m <= last_month]

    def subscriptions(self) -> list[dict[str, Any]]:
        return [{"key": k, "count": n} for k, n in sorted(self.plans.items())] + [{"key": "TRIALS", **self.trial_sums}]

    def activity_page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        rows = [e.__dict__ for e in self.activity_of(tenant_id)]
        return Page(rows=rows[:limit], cursor=None)

    def snapshot(self) -> dict[str, Any]:
        """Everything the models hold, comparable across runs."""
        return {
            "activity": dict(sorted(self.activity.items())),
            "tenants": dict(sorted(self.tenants.items())),
            "entities": dict(sorted(self.entities.items())),
            "days": _kept(self.days),
            "levels": _kept(self.levels),
            "revenue": _kept(self.revenue_sums),
            "plans": {k: n for k, n in sorted(self.plans.items()) if n},
            "trials": {k: n for k, n in sorted(self.trial_sums.items()) if n},
        }


def _kept(sums: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Sums without their zeros (an item whose figures all went back to zero is no figure at all)."""
    kept = {key: {f: n for f, n in values.items() if n} for key, values in sorted(sums.items())}
    return {key: values for key, values in kept.items() if values}


def _versioned(state: TenantState, before: int | None) -> TenantState:
    from dataclasses import replace

    return replace(state, version=(before or 0) + 1)


def _add(target: dict[str, Any], figures: dict[str, int]) -> None:
    for figure, delta in figures.items():
        target[figure] = target.get(figure, 0) + delta


_counter = iter(range(1, 10**9))


def fact(
    event_type: str, payload: dict[str, Any], *, tenant: str = "ten_a", at: datetime | None = None, days: float = 0
) -> Fact:
    """An event of ``event_type`` at ``at`` (or ``days`` after 2026-01-01)."""
    when = at or (T0 + timedelta(days=days))
    number = next(_counter)
    return Fact(
        event_id=f"evt_{number:026d}",
        type=event_type,
        tenant_id=tenant,
        occurred_at=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        correlation_id=f"corr-{number}",
        payload=payload,
    )


def when(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()
