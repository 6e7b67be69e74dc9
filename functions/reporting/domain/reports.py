"""The reports: rows folded from the read models, each read in one request.

Money is integer minor units per currency; rates are fractions rounded to four places (``None`` when
there was nothing to churn from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from functions.reporting.domain.ports import Page, Reports
from functions.reporting.domain.revenue import MOVEMENTS, months
from functions.reporting.domain.usage import COUNTS, LEVELS
from keel.errors import BadRequest

Granularity = Literal["day", "month"]
#: The longest range a report covers at once.
MAX_DAYS, MAX_MONTHS = 366, 120
MONEY = ("refunds", "credit_notes")
CUSTOMERS = ("new_customers", "churned_customers", "reactivated_customers")


class RangeTooLong(BadRequest):
    """The range asked for is longer than a report covers at once, or ends before it starts."""


@dataclass(frozen=True)
class UsageReport:
    rows: list[dict[str, Any]]
    limits: dict[str, Any] | None


@dataclass(frozen=True)
class SubscriptionsReport:
    rows: list[dict[str, Any]]
    trials: dict[str, Any]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


class ReportService:
    """The tenant's and the operators' reports over one model version's reads."""

    def __init__(self, reads: Reports) -> None:
        self._reads = reads

    def activity(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        """The tenant's events, newest first, as readable entries."""
        return self._reads.activity(tenant_id, limit=limit, cursor=cursor)

    def usage(self, tenant_id: str, *, start: date, end: date, granularity: Granularity) -> UsageReport:
        """Members, pending invitations, API keys and active projects at the end of each period, tasks
        created and completed during it, and the tenant's current limits."""
        if end < start or (end - start).days >= MAX_DAYS:
            raise RangeTooLong(f"from must not be after to, and a usage report covers at most {MAX_DAYS} days")
        daily, totals = self._reads.usage(tenant_id, first_day=start.isoformat())
        by_day = {row["day"]: row for row in daily}
        levels = {figure: int((totals or {}).get(figure, 0)) for figure in LEVELS.values()}
        # A level at the end of a day is the running total less everything after that day (later days first).
        later = sorted((d for d in by_day if d > end.isoformat()), reverse=True)
        for day in later:
            for figure in LEVELS.values():
                levels[figure] -= int(by_day[day].get(figure, 0))
        rows: list[dict[str, Any]] = []
        for day in reversed(_days(start, end)):
            row = {"period": day, **levels, **{c: int(by_day.get(day, {}).get(c, 0)) for c in COUNTS}}
            rows.append(row)
            for figure in LEVELS.values():
                levels[figure] -= int(by_day.get(day, {}).get(figure, 0))
        rows.reverse()
        if granularity == "month":
            rows = _by_month(rows)
        limits = (totals or {}).get("limits")
        return UsageReport(rows=rows, limits=dict(limits) if limits else None)

    def revenue(self, *, first: str, last: str) -> list[dict[str, Any]]:
        """MRR and ARR at the end of each month, per currency, with the month's movements, refunds and
        credit notes."""
        span = months(first, last)
        if not span or len(span) > MAX_MONTHS:
            raise RangeTooLong(f"from must not be after to, and a revenue report covers at most {MAX_MONTHS} months")
        figures = _by_month_and_currency(self._reads.revenue(last_month=last))
        currencies = sorted({currency for _, currency in figures})
        rows = []
        mrr = dict.fromkeys(currencies, 0)
        history = sorted({month for month, _ in figures} | set(span))
        for month in history:
            for currency in currencies:
                f = figures.get((month, currency), {})
                mrr[currency] += f.get("new", 0) + f.get("expansion", 0) + f.get("reactivated", 0)
                mrr[currency] -= f.get("contraction", 0) + f.get("churned", 0)
                if month < first or (mrr[currency] == 0 and not f):
                    continue
                rows.append(
                    {
                        "month": month,
                        "currency": currency,
                        "mrr": mrr[currency],
                        "arr": mrr[currency] * 12,
                        **{m: f.get(m, 0) for m in MOVEMENTS},
                        "net_new": _net(f),
                        **{m: f.get(m, 0) for m in MONEY},
                    }
                )
        return rows

    def churn(self, *, first: str, last: str) -> list[dict[str, Any]]:
        """Logo churn (customers lost / customers at the start of the month) and revenue churn
        (churned and contraction MRR / MRR at the start of the month), per month and currency."""
        span = months(first, last)
        if not span or len(span) > MAX_MONTHS:
            raise RangeTooLong(f"from must not be after to, and a churn report covers at most {MAX_MONTHS} months")
        figures = _by_month_and_currency(self._reads.revenue(last_month=last))
        currencies = sorted({currency for _, currency in figures})
        mrr = dict.fromkeys(currencies, 0)
        customers = dict.fromkeys(currencies, 0)
        rows = []
        for month in sorted({month for month, _ in figures} | set(span)):
            for currency in currencies:
                f = figures.get((month, currency), {})
                start_mrr, start_customers = mrr[currency], customers[currency]
                mrr[currency] += _net(f)
                customers[currency] += (
                    f.get("new_customers", 0) + f.get("reactivated_customers", 0) - f.get("churned_customers", 0)
                )
                if month < first or (start_mrr == 0 and start_customers == 0 and not f):
                    continue
                lost = f.get("churned", 0) + f.get("contraction", 0)
                rows.append(
                    {
                        "month": month,
                        "currency": currency,
                        "customers_at_start": start_customers,
                        "customers_churned": f.get("churned_customers", 0),
                        "logo_churn": _rate(f.get("churned_customers", 0), start_customers),
                        "mrr_at_start": start_mrr,
                        "churned_mrr": f.get("churned", 0),
                        "contraction_mrr": f.get("contraction", 0),
                        "revenue_churn": _rate(lost, start_mrr),
                    }
                )
        return rows

    def subscriptions(self) -> SubscriptionsReport:
        """Subscriptions now by plan, interval and status; trials started, converted, canceled."""
        rows, trials = [], {"started": 0, "converted": 0, "canceled": 0}
        for item in self._reads.subscriptions():
            if item["key"] == "TRIALS":
                trials = {k: int(item.get(k, 0)) for k in trials}
            elif int(item.get("count", 0)) > 0:
                plan, interval, status = item["key"].split("#")
                rows.append({"plan": plan, "interval": interval, "status": status, "count": int(item["count"])})
        decided = trials["converted"] + trials["canceled"]
        return SubscriptionsReport(rows=rows, trials={**trials, "conversion_rate": _rate(trials["converted"], decided)})

    def tenants(self, *, sort: Literal["mrr", "activity"], limit: int, cursor: str | None) -> Page:
        """Tenants by MRR or by activity (events), highest first, a page at a time."""
        return self._reads.tenants(sort=sort, limit=limit, cursor=cursor)


def _net(f: Mapping[str, int]) -> int:
    return (
        f.get("new", 0)
        + f.get("expansion", 0)
        + f.get("reactivated", 0)
        - f.get("contraction", 0)
        - f.get("churned", 0)
    )


def _by_month_and_currency(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (i["month"], i["currency"]): {k: int(v) for k, v in i.items() if k not in ("month", "currency")} for i in items
    }


def _by_month(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        month = row["period"][:7]
        current = out.setdefault(month, {"period": month, **dict.fromkeys(COUNTS, 0)})
        current.update({figure: row[figure] for figure in LEVELS.values()})  # a level at the month's last day
        for count in COUNTS:
            current[count] += row[count]
    return list(out.values())
