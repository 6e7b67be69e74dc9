"""Reporting end to end on ``keel dev``, black box: a tenant signs up, checks out Pro on the local
Stripe's page and creates projects; the events reach reporting's consumer through the bus, the
operators' revenue report shows Pro's price as MRR this month and the tenant's usage its projects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import DevServer
from tests.e2e.test_billing import _json, eventually, keel, pay

pytestmark = pytest.mark.e2e
PRO_MONTHLY = 2900
#: How long the checkout's events may take to reach reporting on a busy machine.
REACH_SECONDS = 90


def _operator(dev_server: DevServer) -> dict[str, str]:
    status, _, body = dev_server.call("POST", "/_local/token", {"email": "ops-reports@example.com", "operator": True})
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['id_token']}"}


def test_sign_up_and_pro_checkout_show_as_mrr_this_month_in_the_operators_report(dev_server: DevServer) -> None:
    # Given a new tenant whose owner checks out Pro and pays
    owner = dev_server.sign_up("Reporting Co")
    status, checkout = _json(dev_server.call("POST", "/v1/billing/checkout", {"plan": "pro"}, owner.headers))
    assert status == 201, checkout
    assert pay(checkout["url"]) == 303
    month = datetime.now(UTC).strftime("%Y-%m")
    operator = _operator(dev_server)

    # When the operator reads the top tenants by MRR and this month's revenue
    def ranked() -> dict[str, Any] | None:
        rows = _json(dev_server.call("GET", "/v1/admin/reports/tenants?sort=mrr&limit=100", headers=operator))[1][
            "rows"
        ]
        return next((r for r in rows if r["tenant_id"] == owner.tenant_id and r["mrr"] == PRO_MONTHLY), None)

    # Stripe's webhooks, billing's processor, the relay and reporting's consumer: allow a loaded machine.
    row = eventually(ranked, "the tenant ranked with pro's MRR", timeout=REACH_SECONDS)
    status, revenue = _json(
        dev_server.call("GET", f"/v1/admin/reports/revenue?from={month}&to={month}", headers=operator)
    )

    # Then the tenant pays pro's price a month, and this month's MRR in dollars holds it
    assert (row["plan"], row["currency"], row["name"]) == ("pro", "usd", "Reporting Co")
    assert status == 200, revenue
    (this_month,) = [r for r in revenue["rows"] if r["currency"] == "usd"]
    assert this_month["month"] == month
    assert this_month["mrr"] >= PRO_MONTHLY
    assert this_month["new"] >= PRO_MONTHLY

    # And when the owner creates two projects (once Pro's plan has reached projects, which may lag)
    def created(name: str) -> bool:
        status, _, body = dev_server.call("POST", "/v1/projects", {"name": name}, owner.headers)
        assert status in (201, 409), body  # 409 entitlements_pending: the plan is still on its way
        return status == 201

    eventually(lambda: created("Launch"), "the first project", timeout=REACH_SECONDS)
    assert created("Roadmap")

    # Then the owner's own usage shows its one member and its two active projects, its activity the sign-up
    today = datetime.now(UTC).strftime("%Y-%m-%d")

    def used() -> dict[str, Any] | None:
        status, usage = _json(
            dev_server.call("GET", f"/v1/reports/usage?from={today}&to={today}", headers=owner.headers)
        )
        assert status == 200, usage
        return usage if usage["rows"][0]["active_projects"] == 2 else None

    usage = eventually(used, "the projects in the tenant's usage", timeout=REACH_SECONDS)
    assert usage["rows"][0]["members"] == 1
    activity = _json(dev_server.call("GET", "/v1/reports/activity", headers=owner.headers))[1]["rows"]
    assert "identity.tenant.created.v1" in {r["type"] for r in activity}

    # And `keel reports revenue` prints this month's row with its sparkline
    printed = keel(dev_server, "reports", "revenue", "--from", month, "--to", month)
    assert any(line.split()[:2] == [month, "usd"] for line in printed.splitlines()), printed

    # And after `keel reports rebuild` (from the bus archive, into a new version) the reports say the same
    rebuilt = keel(dev_server, "reports", "rebuild")
    assert "Reads now use model version" in rebuilt, rebuilt
    assert ranked() is not None
    status, again = _json(
        dev_server.call("GET", f"/v1/admin/reports/revenue?from={month}&to={month}", headers=operator)
    )
    assert next(r for r in again["rows"] if r["currency"] == "usd")["mrr"] >= PRO_MONTHLY
