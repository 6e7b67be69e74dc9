"""The project export, a feature of the plan: refused without ``project_export`` (naming the plans
that have it), granted by a plan or by an operator's override, both arriving as entitlements. The
authorizer's answer carries the plan's features once identity holds them: they decide, and the export
is then one read; without them projects' own copy of the plan decides."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

from functions.projects.adapters.keys import project_head
from tests.integration.projects.support import ADA, OTHER, T0, TENANT, add_task, apply_plan, call, create, join
from tests.support.moto import all_items, dynamodb_requests


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


def test_the_authorizers_features_decide_and_the_export_is_one_read(table: str) -> None:
    # Given projects' own copy of the plan without the export (free), and a project with a task
    apply_plan(TENANT, "free")
    project = create("Website")
    apply_plan(TENANT, "pro", at=T0 + timedelta(hours=1))
    task = add_task(project["id"], "Copy")
    apply_plan(TENANT, "free", at=T0 + timedelta(hours=2))
    # When the authorizer answers with the export among the plan's features
    with dynamodb_requests(TENANT) as count:
        answer = call("GET", f"/v1/projects/{project['id']}/export", features="project_export,sso")
    # Then it is exported from one Query: the project's head and its tasks, nothing else read
    assert answer.status == 200
    assert count == Counter({"Query": 1})
    rows = list(csv.reader(io.StringIO(answer.body)))
    assert [row[1] for row in rows[1:]] == [project["id"], task["id"]]


def test_the_authorizers_features_without_the_export_refuse_it_naming_the_plans(table: str) -> None:
    apply_plan(TENANT, "free")
    project = create("Website")
    answer = call("GET", f"/v1/projects/{project['id']}/export", features="sso")
    assert (answer.status, answer.code) == (403, "feature_not_in_plan")
    assert answer.body["error"]["details"]["plans"] == ["pro", "business"]


def test_the_exported_project_is_the_current_one_and_goes_with_its_deletion(table: str) -> None:
    apply_plan(TENANT, "pro")
    project = create("Website")
    export = f"/v1/projects/{project['id']}/export"
    # When it is renamed, the export names it as it is now
    assert call("PATCH", f"/v1/projects/{project['id']}", {"name": "Web shop"}).status == 200
    rows = list(csv.reader(io.StringIO(call("GET", export, features="project_export").body)))
    assert rows[1][2] == "Web shop"
    # When it is archived and deleted, nothing of it is left where its tasks were
    assert call("POST", f"/v1/projects/{project['id']}/archive").status == 200
    assert call("DELETE", f"/v1/projects/{project['id']}").status == 204
    assert call("GET", export, features="project_export").status == 404
    assert [i for i in all_items(table) if i["pk"] == project_head(TENANT, project["id"])["pk"]] == []


def test_another_tenants_project_is_not_exported_with_the_feature_either(table: str) -> None:
    apply_plan(OTHER, "pro")
    theirs = create("Theirs", tenant=OTHER)
    answer = call("GET", f"/v1/projects/{theirs['id']}/export", features="project_export")
    assert (answer.status, answer.code) == (404, "not_found")
