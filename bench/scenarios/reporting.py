"""Reporting's routes, driven as a client would: an owner signs up (reporting's consumer builds its
models from the sign-up's events), then reads the tenant's activity and usage; an operator reads the
revenue, subscriptions, churn and top-tenants reports. Each report page is one Query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bench.harness import Harness, wait_for
from bench.requests import Step


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    month = today[:7]

    def owner() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"]}

    def operator() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['operator']}"}

    def sign_up() -> None:
        s["token"] = h.token("bench-reporting@example.com")
        s["operator"] = h.token("bench-reporting-ops@example.com", operator=True)
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Reporting"}, signed_in)["id"]
        # Reporting consumes the sign-up's events in the background: let it, so the steps measure alone.
        wait_for(lambda: h.expect(200, "GET", "/v1/reports/activity", None, owner())["rows"], "reporting's sign-up")
        # The model version reads use is read once per container, then kept: read it before counting.
        h.expect(200, "GET", "/v1/admin/reports/subscriptions", None, operator())

    def tenant_read(path: str) -> Step:
        return Step(f"GET {path.split('?', maxsplit=1)[0]}", "read", lambda: h.expect(200, "GET", path, None, owner()))

    def operator_read(path: str) -> Step:
        return Step(
            f"GET {path.split('?', maxsplit=1)[0]}", "read", lambda: h.expect(200, "GET", path, None, operator())
        )

    first, *rest = [
        tenant_read("/v1/reports/activity?limit=20"),
        tenant_read(f"/v1/reports/usage?from={month}-01&to={today}&granularity=day"),
        operator_read(f"/v1/admin/reports/revenue?from={month}&to={month}"),
        operator_read("/v1/admin/reports/subscriptions"),
        operator_read(f"/v1/admin/reports/churn?from={month}&to={month}"),
        operator_read("/v1/admin/reports/tenants?sort=mrr&limit=20"),
    ]
    return [Step(first.name, first.kind, first.run, prepare=sign_up), *rest]
