"""Projects' own read model of members, fed by identity's events: a removed member's tasks are
unassigned once, whatever the duplicates and however late they come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.projects.handlers import on_members_changed
from tests.integration.projects.support import (
    ADA,
    BOB,
    TENANT,
    add_task,
    apply_plan,
    call,
    create,
    join,
    member_event,
)


@pytest.fixture
def project(table: str) -> dict[str, Any]:
    apply_plan(TENANT, "pro")
    join(TENANT, ADA)
    join(TENANT, BOB)
    return create("Website")


def later(**delta: float) -> datetime:
    """A time after every assignment the test made so far (tasks take the system clock's time)."""
    return datetime.now(UTC) + timedelta(seconds=1) + timedelta(**delta)


def task(project: dict[str, Any], task_id: str) -> dict[str, Any]:
    items = call("GET", f"/v1/projects/{project['id']}/tasks").body["items"]
    return next(t for t in items if t["id"] == task_id)


def test_a_removed_members_tasks_are_unassigned_exactly_once_under_duplicate_delivery(
    project: dict[str, Any],
) -> None:
    # Given BOB holds two tasks and ADA one
    bobs = [add_task(project["id"], f"B{n}", assignee=BOB) for n in range(2)]
    adas = add_task(project["id"], "A", assignee=ADA)
    removal = later()
    removed = member_event(TENANT, BOB, joined=False, at=removal)
    # When identity's removal of BOB is delivered twice
    assert on_members_changed.consumer.handle(removed)
    assert not on_members_changed.consumer.handle(removed)
    # Then BOB's tasks are unassigned, each by one change (version 2), and ADA's is untouched
    for held in bobs:
        assert (task(project, held["id"])["assignee"], task(project, held["id"])["version"]) == (None, 2)
    assert task(project, adas["id"])["assignee"] == ADA
    # And BOB can no longer be assigned
    answer = call("POST", f"/v1/projects/{project['id']}/tasks", {"title": "x", "assignee": BOB}, role="member")
    assert answer.code == "not_a_member"


def test_the_same_removal_redelivered_as_a_new_message_changes_nothing(project: dict[str, Any]) -> None:
    held = add_task(project["id"], "B", assignee=BOB)
    removal = later()
    removed = member_event(TENANT, BOB, joined=False, at=removal)
    assert on_members_changed.consumer.handle(removed)
    # When a replay of the archive brings the same fact under a new event id
    again = member_event(TENANT, BOB, joined=False, at=removal)
    on_members_changed.consumer.handle(again)
    # Then the task changed once
    assert task(project, held["id"])["version"] == 2


def test_a_member_who_came_back_keeps_tasks_assigned_after_a_late_removal(project: dict[str, Any]) -> None:
    # Given BOB was removed, came back and was assigned a task
    removal = later(hours=-1)
    assert on_members_changed.consumer.handle(member_event(TENANT, BOB, joined=False, at=removal))
    join(TENANT, BOB, at=removal + timedelta(minutes=1))
    held = add_task(project["id"], "B", assignee=BOB)
    # When an older removal of BOB arrives late
    on_members_changed.consumer.handle(member_event(TENANT, BOB, joined=False, at=removal - timedelta(minutes=1)))
    # Then his new task stays his
    assert task(project, held["id"])["assignee"] == BOB
