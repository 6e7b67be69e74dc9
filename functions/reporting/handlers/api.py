"""Reporting's API: a tenant's activity and usage (``/v1/reports``, admins), and the operators'
revenue, subscriptions, churn and top tenants (``/v1/admin/reports``). Every route answers JSON, or
the same rows as CSV for ``Accept: text/csv``; each reads one page of a read model (one Query).

Each route names the least access it needs; the tenant comes only from the authorizer's context.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, BeforeValidator

from functions.reporting import wiring
from functions.reporting.handlers.views import (
    CSV,
    ActivityView,
    ChurnView,
    RevenueView,
    SubscriptionsView,
    TenantsView,
    UsageView,
    to_csv,
    wants_csv,
)
from keel.errors import BadRequest
from keel.http import KeelResolver
from keel.observability import instrumented
from keel.tenancy import Access

app = KeelResolver(service="reporting")

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]
TENANT_TAGS, OPERATOR_TAGS = ["reports"], ["operators"]
CSV_NOTE = " Accept: text/csv answers the same rows as CSV."


def _pattern(expression: str, what: str) -> Any:
    def check(value: object) -> object:
        if not (isinstance(value, str) and re.fullmatch(expression, value)):
            raise ValueError(f"{what}")
        return value

    return BeforeValidator(check)


# A day is YYYY-MM-DD and a month YYYY-MM, nothing else (pydantic would read "0" as 1970-01-01).
Day = Annotated[date, _pattern(r"\d{4}-\d{2}-\d{2}", "a day is YYYY-MM-DD")]
Month = Annotated[str, _pattern(r"\d{4}-(0[1-9]|1[0-2])", "a month is YYYY-MM")]


def _either(view: type[BaseModel]) -> dict[int, Any]:
    """The 200 a report route answers, documented both ways (JSON, or its rows as CSV)."""
    content = {"application/json": {"model": view}, CSV: {"schema": {"type": "string"}}}
    return {200: {"description": "The report (JSON), or its rows as CSV for Accept: text/csv", "content": content}}


def _answer(view: BaseModel, columns: list[str]) -> Response[Any]:
    """The view as JSON, or its rows as CSV when the caller asks for it."""
    if wants_csv(app.current_event.headers.get("accept")):
        rows = view.model_dump(mode="json")["rows"]
        return Response(status_code=200, content_type=f"{CSV}; charset=utf-8", body=to_csv(rows, columns))
    return Response(status_code=200, content_type="application/json", body=view.model_dump(mode="json"))


def _columns(row_view: type[BaseModel]) -> list[str]:
    return list(row_view.model_fields)


def _months(start: str, end: str) -> tuple[str, str]:
    if start > end:
        raise BadRequest("from must not be after to")
    return start, end


# -- a tenant's reports -----------------------------------------------------------------------------


@app.get(
    "/v1/reports/activity",
    responses=_either(ActivityView),
    access=Access.ADMIN,
    tags=TENANT_TAGS,
    summary="The tenant's recent events: who did what, when, with the correlation id, newest first." + CSV_NOTE,
)
def activity(limit: Limit = 50, cursor: Cursor = None) -> Response[Any]:
    from functions.reporting.handlers.views import ActivityRow  # noqa: PLC0415

    page = wiring.reports().activity(app.tenant().tenant_id, limit=limit, cursor=cursor)
    return _answer(ActivityView.model_validate({"rows": page.rows, "cursor": page.cursor}), _columns(ActivityRow))


@app.get(
    "/v1/reports/usage",
    responses=_either(UsageView),
    access=Access.ADMIN,
    errors=(400,),
    tags=TENANT_TAGS,
    summary="Members, pending invitations, API keys and active projects at the end of each period, tasks "
    "created and completed in it, and the current limits (at most 366 days)." + CSV_NOTE,
)
def usage(
    start: Annotated[Day, Query(alias="from", description="the first day, YYYY-MM-DD (UTC)")],
    end: Annotated[Day, Query(alias="to", description="the last day, YYYY-MM-DD (UTC)")],
    granularity: Literal["day", "month"] = "day",
) -> Response[Any]:
    from functions.reporting.handlers.views import UsageRow  # noqa: PLC0415

    report = wiring.reports().usage(app.tenant().tenant_id, start=start, end=end, granularity=granularity)
    view = UsageView.model_validate({"rows": report.rows, "limits": report.limits})
    return _answer(view, _columns(UsageRow))


# -- the operators' reports ---------------------------------------------------------------------------


@app.get(
    "/v1/admin/reports/revenue",
    responses=_either(RevenueView),
    access=Access.OPERATOR,
    errors=(400,),
    tags=OPERATOR_TAGS,
    summary="MRR and ARR per month and currency (minor units), new, expansion, contraction, churned and "
    "reactivated MRR, refunds and credit notes (operators)." + CSV_NOTE,
)
def revenue(
    start: Annotated[Month, Query(alias="from", description="the first month, YYYY-MM")],
    end: Annotated[Month, Query(alias="to", description="the last month, YYYY-MM")],
    granularity: Literal["month"] = "month",
) -> Response[Any]:
    from functions.reporting.handlers.views import RevenueRow  # noqa: PLC0415

    first, last = _months(start, end)
    rows = wiring.reports().revenue(first=first, last=last)
    return _answer(RevenueView.model_validate({"rows": rows}), _columns(RevenueRow))


@app.get(
    "/v1/admin/reports/subscriptions",
    responses=_either(SubscriptionsView),
    access=Access.OPERATOR,
    tags=OPERATOR_TAGS,
    summary="Subscriptions now by plan, interval and status; trials and their conversion rate (operators)." + CSV_NOTE,
)
def subscriptions() -> Response[Any]:
    from functions.reporting.handlers.views import SubscriptionRow  # noqa: PLC0415

    report = wiring.reports().subscriptions()
    view = SubscriptionsView.model_validate({"rows": report.rows, "trials": report.trials})
    return _answer(view, _columns(SubscriptionRow))


@app.get(
    "/v1/admin/reports/churn",
    responses=_either(ChurnView),
    access=Access.OPERATOR,
    errors=(400,),
    tags=OPERATOR_TAGS,
    summary="Logo and revenue churn per month and currency (operators)." + CSV_NOTE,
)
def churn(start: Annotated[Month, Query(alias="from")], end: Annotated[Month, Query(alias="to")]) -> Response[Any]:
    from functions.reporting.handlers.views import ChurnRow  # noqa: PLC0415

    first, last = _months(start, end)
    return _answer(
        ChurnView.model_validate({"rows": wiring.reports().churn(first=first, last=last)}), _columns(ChurnRow)
    )


@app.get(
    "/v1/admin/reports/tenants",
    responses=_either(TenantsView),
    access=Access.OPERATOR,
    tags=OPERATOR_TAGS,
    summary="Top tenants by MRR or by activity (events), highest first, a page at a time (operators)." + CSV_NOTE,
)
def tenants(sort: Literal["mrr", "activity"] = "mrr", limit: Limit = 50, cursor: Cursor = None) -> Response[Any]:
    from functions.reporting.handlers.views import TenantRow  # noqa: PLC0415

    page = wiring.reports().tenants(sort=sort, limit=limit, cursor=cursor)
    return _answer(TenantsView.model_validate({"rows": page.rows, "cursor": page.cursor}), _columns(TenantRow))


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
