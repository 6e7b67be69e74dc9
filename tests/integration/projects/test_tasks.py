"""A project's tasks under moto: assignees from projects' own read model of members, filters that
each read one page, versions, and tasks that go with their project."""

from __future__ import annotations

from typing import Any

import pytest

from functions.projects.handlers import on_project_deleted
from keel.events import Envelope
from keel.store import OUTBOX_PREFIX
from tests.integration.projects.support import ADA, BOB, TENANT, add_task, apply_plan, call, create, join
from tests.support.moto import all_items


@pytest.fixture
def project(table: str) -> dict[str, Any]:
    apply_plan(TENANT, "pro")
    join(TENANT, ADA)
    return create("Website")


def tasks(project_id: str, **query: str) -> list[str]:
    return [t["title"] for t in call("GET", f"/v1/projects/{project_id}/tasks", query=query or None).body["items"]]


def outbox(table: str) -> list[Envelope]:
    return [Envelope.model_validate_json(i["event"]) for i in all_items(table) if i["sk"].startswith(OUTBOX_PREFIX)]


def test_a_task_is_added_with_its_event_and_listed_newest_first(project: dict[str, Any], table: str) -> None:
    first = add_task(project["id"], "Copy", assignee=ADA, due_date="2026-12-24")
    add_task(project["id"], "Design")
    assert (first["status"], first["assignee"], first["due_date"], first["version"]) == ("todo", ADA, "2026-12-24", 1)
    assert tasks(project["id"]) == ["Design", "Copy"]
    (created,) = [e for e in outbox(table) if e.type == "projects.task.created.v1" and e.aggregate_id == first["id"]]
    assert created.payload | {"created_at": None} == {
        "tenant_id": TENANT,
        "project_id": project["id"],
        "task_id": first["id"],
        "title": "Copy",
        "status": "todo",
        "assignee": ADA,
        "due_date": "2026-12-24",
        "created_by": ADA,
        "created_at": None,
    }


def test_only_a_member_can_be_assigned(project: dict[str, Any]) -> None:
    # BOB never joined the tenant (projects' read model knows only ADA)
    answer = call("POST", f"/v1/projects/{project['id']}/tasks", {"title": "x", "assignee": BOB}, role="member")
    assert (answer.status, answer.code) == (409, "not_a_member")
    task = add_task(project["id"])
    answer = call("PATCH", f"/v1/projects/{project['id']}/tasks/{task['id']}", {"assignee": BOB})
    assert (answer.status, answer.code) == (409, "not_a_member")


def test_tasks_filter_by_status_and_assignee(project: dict[str, Any]) -> None:
    join(TENANT, BOB)
    add_task(project["id"], "A", assignee=ADA)
    add_task(project["id"], "B", assignee=BOB, status="doing")
    add_task(project["id"], "C", assignee=ADA, status="doing")
    add_task(project["id"], "D")
    assert tasks(project["id"], status="doing") == ["C", "B"]
    assert tasks(project["id"], assignee=ADA) == ["A", "C"]  # by status (todo, then doing), newest first
    assert tasks(project["id"], assignee=ADA, status="doing") == ["C"]


def test_completing_a_task_records_it_once_and_moves_it_between_filters(project: dict[str, Any], table: str) -> None:
    task = add_task(project["id"], "Ship", assignee=ADA)
    path = f"/v1/projects/{project['id']}/tasks/{task['id']}"
    # When it is marked done, with the ETag read
    answer = call("PATCH", path, {"status": "done"}, headers={"If-Match": '"1"'})
    assert (answer.status, answer.body["status"], answer.headers["ETag"]) == (200, "done", '"2"')
    call("PATCH", path, {"title": "Shipped"})  # edited again while done: no second completion
    # Then it is listed as done only, and completed once
    assert (tasks(project["id"], status="done"), tasks(project["id"], status="todo")) == (["Shipped"], [])
    completed = [e for e in outbox(table) if e.type == "projects.task.completed.v1"]
    assert [(e.payload["task_id"], e.payload["assignee"]) for e in completed] == [(task["id"], ADA)]


def test_a_stale_if_match_on_a_task_is_412(project: dict[str, Any]) -> None:
    task = add_task(project["id"])
    path = f"/v1/projects/{project['id']}/tasks/{task['id']}"
    call("PATCH", path, {"title": "Moved on"})
    assert call("PATCH", path, {"title": "Mine"}, headers={"If-Match": '"1"'}).code == "precondition_failed"
    assert call("DELETE", path, headers={"If-Match": '"1"'}).code == "precondition_failed"
    assert call("DELETE", path, headers={"If-Match": '"2"'}).status == 204


def test_a_task_id_under_another_project_is_404(project: dict[str, Any]) -> None:
    task = add_task(project["id"])
    other = create("Elsewhere")
    answer = call("PATCH", f"/v1/projects/{other['id']}/tasks/{task['id']}", {"title": "x"})
    assert (answer.status, answer.code) == (404, "not_found")
    assert call("DELETE", f"/v1/projects/{other['id']}/tasks/{task['id']}").status == 404


def test_an_archived_projects_tasks_are_read_only(project: dict[str, Any]) -> None:
    task = add_task(project["id"])
    call("POST", f"/v1/projects/{project['id']}/archive")
    answer = call("POST", f"/v1/projects/{project['id']}/tasks", {"title": "Late"}, role="member")
    assert (answer.status, answer.code) == (409, "project_archived")
    assert call("PATCH", f"/v1/projects/{project['id']}/tasks/{task['id']}", {"title": "x"}).status == 409
    assert tasks(project["id"]) == ["Do it"]


def test_a_deleted_projects_tasks_go_with_it(project: dict[str, Any], table: str) -> None:
    add_task(project["id"]), add_task(project["id"], "Other")
    call("POST", f"/v1/projects/{project['id']}/archive")
    assert call("DELETE", f"/v1/projects/{project['id']}").status == 204
    # Before the purge, its tasks cannot be changed or deleted: the project is not found
    (first, *_) = [i for i in all_items(table) if project["id"] in i["pk"] and i["sk"].startswith("TASK#")]
    task_path = f"/v1/projects/{project['id']}/tasks/{first['id']}"
    assert call("DELETE", task_path).code == call("PATCH", task_path, {"title": "x"}).code == "not_found"
    # When its deletion event reaches the purge (twice: delivery is at least once)
    (deleted,) = [e for e in outbox(table) if e.type == "projects.project.deleted.v1"]
    assert on_project_deleted.consumer.handle(deleted)
    assert not on_project_deleted.consumer.handle(deleted)
    # Then nothing of the project's partition is left
    assert [i for i in all_items(table) if project["id"] in i["pk"]] == []
    assert call("POST", f"/v1/projects/{project['id']}/tasks", {"title": "x"}, role="member").status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "x", "status": "blocked"},
        {"title": "x", "assignee": "usr#1"},
        {"title": "x", "due_date": "20260-01-01"},
        {"title": "x", "due_date": 0},
        {"title": "x", "project_id": "proj_01JDAAAAAAAAAAAAAAAAAAAAAA"},
    ],
    ids=[
        "an empty title",
        "a long title",
        "an unknown status",
        "a malformed assignee",
        "a five-digit year",
        "a number for a date",
        "a smuggled field",
    ],
)
def test_a_body_that_is_not_a_new_task_is_refused(project: dict[str, Any], body: dict[str, Any]) -> None:
    answer = call("POST", f"/v1/projects/{project['id']}/tasks", body, role="member")
    assert (answer.status, answer.code) == (422, "validation_error")
