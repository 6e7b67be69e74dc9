"""Reporting's consumer and API on moto: events in through the real consumer, reports out through the
real API handler."""

from __future__ import annotations

import pytest

from tests.integration.reporting.support import csv_rows, deliver, get, items_of
from tests.unit.reporting import history as h

pytestmark = pytest.mark.usefixtures("reporting")
JAN = 0


def test_a_redelivered_event_changes_nothing() -> None:
    # Given a tenant that started pro, delivered once
    event = h.started("pro", 2900, days=JAN + 3)
    deliver(h.tenant_created(), event)
    before = items_of(1)
    # When the same event is delivered again
    result = deliver(event)
    # Then it succeeds and every item is as it was
    assert result == {"batchItemFailures": []}
    assert items_of(1) == before


def test_a_tenants_activity_is_its_own_newest_first() -> None:
    # Given two tenants' events
    deliver(
        h.tenant_created("Acme", days=0), h.joined("usr_bob", days=1), h.tenant_created("Other", tenant="ten_b", days=2)
    )
    # When tenant A's admin reads the activity
    reply = get("/v1/reports/activity")
    # Then it holds A's events only, newest first, with their correlation ids
    assert reply.status == 200
    assert [row["type"] for row in reply.body["rows"]] == ["identity.member.joined.v1", "identity.tenant.created.v1"]
    assert all(row["correlation_id"].startswith("corr-") for row in reply.body["rows"])


def test_a_tenants_usage_counts_its_own_things_only() -> None:
    # Given tenant A with two members (one removed) and a project; tenant B with three members
    deliver(
        h.joined("usr_1", days=0),
        h.joined("usr_2", days=0),
        h.removed("usr_2", days=2),
        h.project("created", "prj_1", days=1),
        h.task("created", "tsk_1", days=1),
        h.task("completed", "tsk_1", days=2),
        h.entitlements("pro", days=0, seats=5),
        *(h.joined(f"usr_b{n}", days=0, tenant="ten_b") for n in range(3)),
    )
    # When A's admin asks for the first three days of January
    reply = get("/v1/reports/usage", query={"from": "2026-01-01", "to": "2026-01-03"})
    # Then each day shows A's figures at its end, and A's limits
    assert reply.status == 200
    rows = {row["period"]: row for row in reply.body["rows"]}
    assert [rows[d]["members"] for d in ("2026-01-01", "2026-01-02", "2026-01-03")] == [2, 2, 1]
    assert rows["2026-01-02"]["active_projects"] == 1
    assert (rows["2026-01-02"]["tasks_created"], rows["2026-01-03"]["tasks_completed"]) == (1, 1)
    assert reply.body["limits"]["seat_limit"] == 5


def test_usage_by_month_shows_the_level_at_the_months_end_and_the_months_tasks() -> None:
    # Given members joining in January and February and tasks in both
    deliver(
        h.joined("usr_1", days=3),
        h.joined("usr_2", days=40),
        h.task("created", "t1", days=5),
        h.task("created", "t2", days=41),
    )
    # When A's admin asks for January and February by month
    reply = get("/v1/reports/usage", query={"from": "2026-01-01", "to": "2026-02-28", "granularity": "month"})
    # Then each month has its own row
    assert [(r["period"], r["members"], r["tasks_created"]) for r in reply.body["rows"]] == [
        ("2026-01", 1, 1),
        ("2026-02", 2, 1),
    ]


def test_operator_reports_refuse_a_tenants_owner() -> None:
    # Given a tenant's owner (no operator)
    for path in (
        "/v1/admin/reports/revenue",
        "/v1/admin/reports/subscriptions",
        "/v1/admin/reports/churn",
        "/v1/admin/reports/tenants",
    ):
        # When they ask for an operator report
        reply = get(path, query={"from": "2026-01", "to": "2026-02"}, role="owner")
        # Then it is refused
        assert reply.status == 403, path


def test_tenant_reports_refuse_a_member_and_an_operator_without_membership() -> None:
    assert get("/v1/reports/activity", role="member").status == 403
    assert get("/v1/reports/activity", operator=True).status == 403


def test_the_operators_reports_show_every_tenant() -> None:
    # Given two tenants on pro in January, one of which cancels in February
    deliver(
        h.tenant_created("Acme"),
        h.started("pro", 2900, days=2),
        h.tenant_created("Beta", tenant="ten_b", days=1),
        h.started("pro", 2900, days=3, tenant="ten_b"),
        h.canceled("pro", days=40, tenant="ten_b"),
    )
    # When an operator reads revenue, churn, subscriptions and the top tenants
    revenue = get("/v1/admin/reports/revenue", query={"from": "2026-01", "to": "2026-02"}, operator=True)
    churn = get("/v1/admin/reports/churn", query={"from": "2026-01", "to": "2026-02"}, operator=True)
    subscriptions = get("/v1/admin/reports/subscriptions", operator=True)
    tenants = get("/v1/admin/reports/tenants", query={"sort": "mrr"}, operator=True)
    # Then they agree with the history
    assert [(r["month"], r["mrr"], r["churned"]) for r in revenue.body["rows"]] == [
        ("2026-01", 5800, 0),
        ("2026-02", 2900, 2900),
    ]
    february = churn.body["rows"][-1]
    assert (february["customers_at_start"], february["customers_churned"], february["logo_churn"]) == (2, 1, 0.5)
    assert {(r["plan"], r["status"], r["count"]) for r in subscriptions.body["rows"]} == {
        ("pro", "active", 1),
        ("free", "active", 1),
    }
    assert [r["name"] for r in tenants.body["rows"]] == ["Acme", "Beta"]


def test_every_report_answers_the_same_rows_as_csv() -> None:
    # Given some history
    deliver(
        h.tenant_created("Acme"), h.joined("usr_1", days=1), h.started("pro", 2900, days=2), h.refunded(500, days=3)
    )
    cases = [
        ("/v1/reports/activity", {}, False),
        ("/v1/reports/usage", {"from": "2026-01-01", "to": "2026-01-05"}, False),
        ("/v1/admin/reports/revenue", {"from": "2026-01", "to": "2026-02"}, True),
        ("/v1/admin/reports/churn", {"from": "2026-01", "to": "2026-02"}, True),
        ("/v1/admin/reports/subscriptions", {}, True),
        ("/v1/admin/reports/tenants", {"sort": "activity"}, True),
    ]
    for path, query, operator in cases:
        # When the report is asked for as JSON and as CSV
        as_json = get(path, query=query, operator=operator)
        as_csv = get(path, query=query, operator=operator, accept="text/csv")
        # Then the CSV has a line for each JSON row, with the same values
        assert as_csv.status == 200, path
        assert as_csv.content_type.startswith("text/csv"), path
        expected = [{k: "" if v is None else str(v) for k, v in row.items()} for row in as_json.body["rows"]]
        assert csv_rows(as_csv.body) == expected, path
        assert expected, path


def test_bad_ranges_are_a_400_or_422_never_a_500() -> None:
    assert get("/v1/reports/usage", query={"from": "2026-02-01", "to": "2026-01-01"}).status == 400
    assert get("/v1/reports/usage", query={"from": "2024-01-01", "to": "2026-01-01"}).status == 400
    assert get("/v1/reports/usage", query={"from": "yesterday", "to": "2026-01-01"}).status == 422
    assert get("/v1/admin/reports/revenue", query={"from": "2026-13", "to": "2026-01"}, operator=True).status == 422
    assert get("/v1/admin/reports/churn", query={"from": "2026-03", "to": "2026-01"}, operator=True).status == 400
