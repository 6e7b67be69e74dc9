"""The reporting context's routes, driven as a client would: an owner signs up a tenant, then
creates, lists and reads reports."""

from __future__ import annotations

from typing import Any

from bench.harness import Harness
from bench.requests import Step


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}

    def owner() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"]}

    def sign_up() -> None:
        s["token"] = h.token("bench-reporting@example.com")
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Reporting"}, signed_in)["id"]

    def create() -> None:
        s["id"] = h.expect(201, "POST", "/v1/reporting", {"name": "First"}, owner())["id"]

    return [
        Step("POST /v1/reporting", "write", create, prepare=sign_up),
        Step("GET /v1/reporting", "read", lambda: h.expect(200, "GET", "/v1/reporting", None, owner())),
        Step(
            "GET /v1/reporting/{report_id}",
            "read",
            lambda: h.expect(200, "GET", f"/v1/reporting/{s['id']}", None, owner()),
        ),
    ]
