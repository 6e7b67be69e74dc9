"""Recurring revenue from a tenant's subscription facts: MRR step by step, and its movements per month.

MRR is the monthly value of what a tenant pays: a monthly plan's price, an annual plan's price / 12
(rounded half up to the minor unit). A trial brings MRR from its end on; a cancellation takes it away
when it takes effect (billing announces a cancellation at period end when the period ends).

Movements compare MRR at the end of each month with the end of the month before, per currency, as
SaaS metrics are usually kept: ``new`` (from nothing, first time), ``reactivated`` (from nothing, it
paid before), ``expansion`` / ``contraction`` (up / down), ``churned`` (to nothing). The tenant's
movements are a function of its *set* of facts (sorted by effective time, then event id), so any
delivery order, and any duplicate, gives the same movements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: What a revenue fact does to a tenant's subscription.
START, CHANGE, RENEW, CANCEL, PAID, PAYMENT_FAILED = "start", "change", "renew", "cancel", "paid", "payment_failed"
MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivated")


@dataclass(frozen=True, order=True)
class RevenueFact:
    """One subscription fact of a tenant, at the time it takes effect (``at``, UTC ISO-8601)."""

    at: str
    event_id: str
    kind: str
    plan: str = ""
    interval: str | None = None
    amount: int = 0
    currency: str = ""
    trial_end: str | None = None

    def as_item(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}

    @classmethod
    def of_item(cls, item: Mapping[str, object]) -> RevenueFact:
        return cls(**{k: item[k] for k in cls.__dataclass_fields__ if k in item})  # type: ignore[arg-type]


def monthly_value(amount: int, interval: str | None) -> int:
    """What one period's ``amount`` is worth a month: annual / 12, rounded half up; free (no interval) 0."""
    if interval == "annual":
        return (amount * 2 + 12) // 24
    return amount if interval == "monthly" else 0


def month_of(at: str) -> str:
    """``YYYY-MM`` of a UTC ISO-8601 time."""
    return at[:7]


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def months(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


@dataclass(frozen=True)
class Run:
    """One subscription from its start to its cancellation (if any), as the facts tell it."""

    started: RevenueFact
    steps: tuple[tuple[str, str, int], ...]  # (effective at, currency, MRR) in order
    canceled_at: str | None
    converted: bool  # a trial that turned into a paid subscription

    @property
    def trial(self) -> bool:
        return self.started.trial_end is not None and self.started.trial_end > self.started.at

    @property
    def canceled_in_trial(self) -> bool:
        end = self.started.trial_end
        return self.trial and self.canceled_at is not None and end is not None and self.canceled_at < end


def runs(facts: Iterable[RevenueFact]) -> list[Run]:
    """The tenant's subscriptions, from its facts in effective order (duplicates collapse: a set)."""
    ordered = sorted(set(facts))
    out: list[Run] = []
    started: RevenueFact | None = None
    steps: list[tuple[str, str, int]] = []
    converted = False

    def close(canceled_at: str | None) -> None:
        if started is not None:
            out.append(Run(started, tuple(steps), canceled_at, converted))

    for fact in ordered:
        if fact.kind == START and _free(fact):
            continue  # the free plan is where a tenant is when no paid plan runs, not a run of its own
        if fact.kind == START:
            close(None)
            started, steps, converted = fact, [], False
            trial_end = fact.trial_end if fact.trial_end and fact.trial_end > fact.at else None
            steps.append((trial_end or fact.at, fact.currency, monthly_value(fact.amount, fact.interval)))
        elif started is None:
            continue  # a fact of a subscription whose start is not known (yet): nothing to count
        elif fact.kind in (CHANGE, RENEW):
            steps.append((fact.at, fact.currency, monthly_value(fact.amount, fact.interval)))
            converted = converted or _after_trial(started, fact)
        elif fact.kind == PAID:
            converted = converted or (_after_trial(started, fact) and fact.amount > 0)
        elif fact.kind == CANCEL:
            steps.append((fact.at, started.currency, 0))
            close(fact.at)
            started, steps, converted = None, [], False
    close(None)
    return out


def _free(fact: RevenueFact) -> bool:
    # Billing starts the free plan at sign-up, by its own clock; a paid plan starts at its Stripe period's
    # start, to the second, which can sort before it: so the free plan never ends a paid one.
    return fact.interval is None


def _after_trial(started: RevenueFact, fact: RevenueFact) -> bool:
    return started.trial_end is not None and started.trial_end > started.at and fact.at >= started.trial_end


def mrr_steps(facts: Iterable[RevenueFact]) -> list[tuple[str, dict[str, int]]]:
    """``(effective at, MRR per currency)`` each time the tenant's MRR may change, in time order."""
    points: list[tuple[str, str, int]] = []
    for run in runs(facts):
        cancel = run.canceled_at
        for at, currency, value in run.steps:
            if cancel is None or at <= cancel:  # a trial that ends after its cancellation brings nothing
                points.append((at, currency, value))
    points.sort(key=lambda p: p[0])
    out: list[tuple[str, dict[str, int]]] = []
    for at, currency, value in points:
        out.append((at, {currency: value} if value else {}))
    return out


def mrr_at_month_ends(facts: Iterable[RevenueFact]) -> dict[str, dict[str, int]]:
    """MRR per currency at the end of each month from the first fact's to the last fact's month."""
    steps = mrr_steps(facts)
    if not steps:
        return {}
    out: dict[str, dict[str, int]] = {}
    index, current = 0, {}
    for month in months(month_of(steps[0][0]), month_of(steps[-1][0])):
        while index < len(steps) and month_of(steps[index][0]) <= month:
            current = steps[index][1]
            index += 1
        out[month] = dict(current)
    return out


def mrr_now(facts: Iterable[RevenueFact]) -> dict[str, int]:
    """MRR per currency after every fact known."""
    steps = mrr_steps(facts)
    return dict(steps[-1][1]) if steps else {}


def movements(facts: Iterable[RevenueFact]) -> dict[tuple[str, str], dict[str, int]]:
    """The tenant's MRR movements per ``(month, currency)``, with the customer it gained or lost there
    (``new_customers``, ``reactivated_customers``, ``churned_customers``). Only months with a change."""
    ends = mrr_at_month_ends(facts)
    out: dict[tuple[str, str], dict[str, int]] = {}
    previous: dict[str, int] = {}
    paid_before: set[str] = set()
    for month, current in ends.items():
        for currency in sorted(set(previous) | set(current)):
            before, after = previous.get(currency, 0), current.get(currency, 0)
            if before == after:
                continue
            entry = out.setdefault((month, currency), {})
            if before == 0:
                kind = "reactivated" if currency in paid_before else "new"
                entry[kind] = after
                entry[f"{kind}_customers"] = 1
            elif after == 0:
                entry["churned"] = before
                entry["churned_customers"] = 1
            elif after > before:
                entry["expansion"] = after - before
            else:
                entry["contraction"] = before - after
        paid_before |= set(current)
        previous = current
    return out


def subscription_state(facts: Iterable[RevenueFact]) -> tuple[str, str, str] | None:
    """``(plan, interval, status)`` of the tenant's subscription now: ``trialing``, ``active`` or
    ``past_due`` (its last payment failed); the free plan once a paid one is canceled."""
    fact_list = sorted(set(facts))
    all_runs = runs(fact_list)
    if not all_runs:
        return ("free", "none", "active") if any(f.kind == START for f in fact_list) else None
    last = all_runs[-1]
    if last.canceled_at is not None:
        return ("free", "none", "active")
    plan, interval = last.started.plan, last.started.interval
    payments = [f for f in fact_list if f.kind in (PAID, PAYMENT_FAILED) and f.at >= last.started.at]
    for fact in fact_list:
        if fact.kind in (CHANGE, RENEW) and fact.at >= last.started.at:
            plan, interval = fact.plan, fact.interval
    status = "active"
    if last.trial and not last.converted:
        status = "trialing"
    if payments and payments[-1].kind == PAYMENT_FAILED:
        status = "past_due"
    return (plan, interval or "none", status)


def trial_outcomes(facts: Iterable[RevenueFact]) -> dict[str, int]:
    """Trials started, converted to paid, and canceled during the trial (each run counted once)."""
    out = {"started": 0, "converted": 0, "canceled": 0}
    for run in runs(facts):
        if run.trial:
            out["started"] += 1
            out["converted"] += int(run.converted)
            out["canceled"] += int(run.canceled_in_trial)
    return out
