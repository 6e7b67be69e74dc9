"""The project export, a feature of the plan: refused without ``project_export`` (naming the plans
that have it), granted by a plan or by an operator's override, both arriving as entitlements."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.integration.projects.support import ADA, T0, TENANT, add_task, apply_plan, call, create, join


def test_the_free_plan_cannot_export_and_is_told_which_plans_can(table: str) -> None:
    apply_plan(TENANT, "free")
    project = create("Website")
    answer = call("GET", f"/v1/projects/{project['id']}/export", role="member")
    assert (answer.status, answer.code) == (403, "feature_not_in_plan")
    assert answer.body["error"]["details"] == {
        "feature": "project_export",
        "plan": "free",
        "plans": ["pro", "business"],
    }


def test_a_plan_with_the_feature_exports_the_project_and_its_tasks_as_csv(table: str) -> None:
    apply_plan(TENANT, "pro")
    join(TENANT, ADA)
    project = create("=Website")
    add_task(project["id"], "Copy", assignee=ADA, due_date="2026-12-24")
    answer = call("GET", f"/v1/projects/{project['id']}/export", role="member")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.body)))
    assert rows[0][:4] == ["kind", "id", "name_or_title", "status"]
    # A name a spreadsheet would run as a formula is defused
    assert rows[1][:4] == ["project", project["id"], "'=Website", "active"]
    assert rows[2][2:6] == ["Copy", "todo", ADA, "2026-12-24"]


def test_an_operators_override_grants_the_export_and_its_removal_takes_it_back(table: str) -> None:
    apply_plan(TENANT, "free", at=T0)
    project = create("Website")
    # When an operator's override switches the feature on (billing announces it as entitlements)
    apply_plan(TENANT, "free", at=T0 + timedelta(hours=1), features={"project_export": True}, reason="override")
    assert call("GET", f"/v1/projects/{project['id']}/export").status == 200
    # And when the override is lifted
    apply_plan(TENANT, "free", at=T0 + timedelta(hours=2), reason="override")
    assert call("GET", f"/v1/projects/{project['id']}/export").code == "feature_not_in_plan"


def test_another_tenants_project_is_not_exported(table: str) -> None:
    apply_plan(TENANT, "pro")
    answer = call("GET", "/v1/projects/proj_01JDAAAAAAAAAAAAAAAAAAAAAA/export")
    assert (answer.status, answer.code) == (404, "not_found")
