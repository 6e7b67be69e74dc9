"""The projects context's routes, driven as a client would: an owner signs up a tenant, waits for its
plan to reach projects, gets the export switched on by an operator's override, then creates, lists,
reads, changes, archives, restores and deletes projects and tasks."""

from __future__ import annotations

from typing import Any

from bench.harness import Harness, wait_for
from bench.requests import Step


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}

    def owner(more: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"], **(more or {})}

    def sign_up() -> None:
        s["token"] = h.token("bench-projects@example.com")
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Projects"}, signed_in)["id"]
        # Projects holds the tenant's plan once billing's entitlements event arrives (a project can be
        # made then); an operator's override then switches the export on, arriving the same way.
        wait_for(
            lambda: h.call("POST", "/v1/projects", {"name": "Probe"}, owner())[0] == 201, "the free plan in projects"
        )
        probe = h.expect(200, "GET", "/v1/projects?q=probe", None, owner())["items"][0]["id"]
        operator = {"Authorization": f"Bearer {h.token('bench-operator@example.com', operator=True)}"}
        body = {"features": {"project_export": True}, "reason": "bench"}
        h.expect(200, "PUT", f"/v1/admin/entitlements/{s['tenant']}", body, operator)
        export = f"/v1/projects/{probe}/export"
        wait_for(lambda: h.call("GET", export, None, owner())[0] == 200, "the override in projects")

    def project(suffix: str = "") -> str:
        return f"/v1/projects/{s['id']}{suffix}"

    def task() -> str:
        return project(f"/tasks/{s['task']}")

    def create() -> None:
        s["id"] = h.expect(201, "POST", "/v1/projects", {"name": "First"}, owner())["id"]

    def add_task() -> None:
        s["task"] = h.expect(201, "POST", project("/tasks"), {"title": "Write"}, owner())["id"]

    def read(path: Any) -> Any:
        """A GET of ``path()``, made when the step runs (the ids exist by then)."""
        return lambda: h.expect(200, "GET", path(), None, owner())

    return [
        Step("POST /v1/projects", "write", create, prepare=sign_up),
        Step("GET /v1/projects", "read", read(lambda: "/v1/projects")),
        Step("GET /v1/projects?status=active", "read", read(lambda: "/v1/projects?status=active")),
        Step("GET /v1/projects?q=fir", "read", read(lambda: "/v1/projects?q=fir")),
        Step("GET /v1/projects/{project_id}", "read", read(project)),
        Step(
            "PATCH /v1/projects/{project_id}",
            "write",
            lambda: h.expect(200, "PATCH", project(), {"description": "d"}, owner({"If-Match": '"1"'})),
        ),
        Step("POST /v1/projects/{project_id}/tasks", "write", add_task),
        Step("GET /v1/projects/{project_id}/tasks", "read", read(lambda: project("/tasks"))),
        Step(
            "GET /v1/projects/{project_id}/tasks?status=todo",
            "read",
            read(lambda: project("/tasks?status=todo")),
        ),
        Step(
            "PATCH /v1/projects/{project_id}/tasks/{task_id}",
            "write",
            lambda: h.expect(200, "PATCH", task(), {"status": "done"}, owner()),
        ),
        # The export is one Query (the project's head and its tasks): the features come with the authorizer's answer.
        Step("GET /v1/projects/{project_id}/export", "read", read(lambda: project("/export"))),
        Step(
            "DELETE /v1/projects/{project_id}/tasks/{task_id}",
            "write",
            lambda: h.expect(204, "DELETE", task(), None, owner()),
        ),
        Step(
            "POST /v1/projects/{project_id}/archive",
            "write",
            lambda: h.expect(200, "POST", project("/archive"), None, owner()),
        ),
        Step(
            "POST /v1/projects/{project_id}/restore",
            "write",
            lambda: h.expect(200, "POST", project("/restore"), None, owner()),
        ),
        Step(
            "DELETE /v1/projects/{project_id}",
            "write",
            lambda: h.expect(204, "DELETE", project(), None, owner()),
            prepare=lambda: h.expect(200, "POST", project("/archive"), None, owner()),
        ),
    ]
