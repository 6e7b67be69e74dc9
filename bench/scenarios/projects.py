"""The projects context's routes, driven as a client would: an owner signs up a tenant, then
creates, lists and reads projects."""

from __future__ import annotations

from typing import Any

from bench.harness import Harness
from bench.requests import Step


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}

    def owner() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"]}

    def sign_up() -> None:
        s["token"] = h.token("bench-projects@example.com")
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Projects"}, signed_in)["id"]

    def create() -> None:
        s["id"] = h.expect(201, "POST", "/v1/projects", {"name": "First"}, owner())["id"]

    return [
        Step("POST /v1/projects", "write", create, prepare=sign_up),
        Step("GET /v1/projects", "read", lambda: h.expect(200, "GET", "/v1/projects", None, owner())),
        Step(
            "GET /v1/projects/{project_id}",
            "read",
            lambda: h.expect(200, "GET", f"/v1/projects/{s['id']}", None, owner()),
        ),
    ]
