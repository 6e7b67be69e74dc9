"""What the reporting API answers: each report as JSON (``rows``, and what goes with them), or, when
the caller asks for ``Accept: text/csv``, the same rows as CSV (a header line, then one line a row)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from keel.views import View

CSV = "text/csv"


class ActivityRow(View):
    event_id: str
    type: str
    at: str
    actor: str | None = None
    summary: str
    correlation_id: str


class ActivityView(View):
    rows: list[ActivityRow]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None


class UsageRow(View):
    #: ``YYYY-MM-DD`` or ``YYYY-MM``: the levels are at its end, the tasks during it.
    period: str
    members: int
    pending_invitations: int
    api_keys: int
    active_projects: int
    tasks_created: int
    tasks_completed: int


class LimitsView(View):
    plan: str
    seat_limit: int | None = None
    project_limit: int | None = None
    effective_at: str
    event_id: str | None = None


class UsageView(View):
    rows: list[UsageRow]
    #: The tenant's limits now (``null`` until billing announced any).
    limits: LimitsView | None


class RevenueRow(View):
    month: str
    currency: str
    #: Monthly recurring revenue at the month's end, in minor units (annual plans count 1/12 a month).
    mrr: int
    arr: int
    new: int
    expansion: int
    contraction: int
    churned: int
    reactivated: int
    net_new: int
    refunds: int
    credit_notes: int


class RevenueView(View):
    rows: list[RevenueRow]


class SubscriptionRow(View):
    plan: str
    interval: str
    status: str
    count: int


class TrialsView(View):
    started: int
    converted: int
    canceled: int
    #: Converted / (converted + canceled during the trial); ``null`` until one was decided.
    conversion_rate: float | None


class SubscriptionsView(View):
    rows: list[SubscriptionRow]
    trials: TrialsView


class ChurnRow(View):
    month: str
    currency: str
    customers_at_start: int
    customers_churned: int
    logo_churn: float | None
    mrr_at_start: int
    churned_mrr: int
    contraction_mrr: int
    revenue_churn: float | None


class ChurnView(View):
    rows: list[ChurnRow]


class TenantRow(View):
    tenant_id: str
    name: str | None = None
    status: str | None = None
    plan: str | None = None
    #: MRR now, in minor units of ``currency``.
    mrr: int
    currency: str | None = None
    events: int
    last_activity_at: str | None = None


class TenantsView(View):
    rows: list[TenantRow]
    cursor: str | None


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV: a header line of ``columns``, then one line a row (empty for ``null``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return out.getvalue()


def wants_csv(accept: str | None) -> bool:
    """Whether the ``Accept`` header asks for CSV before JSON (no q-values beyond order)."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == CSV:
            return True
        if media in ("application/json", "application/*"):
            return False
    return False
