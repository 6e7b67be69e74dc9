"""The projects context's rules, without I/O: what a project and a task become, the events each
change records, and what a plan names when it refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from functions.projects.domain.errors import StaleVersion, WrongStatus
from functions.projects.domain.members import MemberRoster, Membership
from functions.projects.domain.plan import LimitName, Offer, Plan
from functions.projects.domain.project import Project, ProjectStatus
from functions.projects.domain.task import Task, TaskStatus
from functions.projects.domain.writes import LAST_WRITER_WINS_ATTEMPTS, read_then_write

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CATALOGUE = (
    Offer("free", {LimitName.PROJECTS: 3, LimitName.TASKS: 25}, frozenset()),
    Offer("pro", {LimitName.PROJECTS: 50, LimitName.TASKS: 500}, frozenset({"project_export"})),
    Offer("business", {LimitName.PROJECTS: None, LimitName.TASKS: None}, frozenset({"project_export"})),
)


def plan(name: str, projects: int | None, *, at: datetime = T0) -> Plan:
    return Plan(name, {LimitName.PROJECTS: projects, LimitName.TASKS: 25}, frozenset(), at, CATALOGUE)


def project() -> Project:
    return Project.create(tenant_id="ten_1", name="Website", description="", by="usr_a", at=T0)


def task(**fields: object) -> Task:
    made = Task.create(
        tenant_id="ten_1",
        project_id="proj_1",
        title="Write",
        status=TaskStatus.TODO,
        assignee="usr_a",
        due_date=None,
        by="usr_a",
        at=T0,
    )
    return made.edit(by="usr_a", at=T0, **fields) if fields else made  # type: ignore[arg-type]


def test_a_new_project_is_active_at_version_1_and_records_its_creation() -> None:
    made = project()
    assert (made.status, made.version, [e.TYPE for e in made.events]) == (
        ProjectStatus.ACTIVE,
        1,
        ["projects.project.created.v1"],
    )


def test_an_edit_that_changes_nothing_is_no_new_version() -> None:
    made = project()
    assert made.edit(name="Website", description=None, by="usr_b", at=T0) is made


def test_an_edit_records_what_changed() -> None:
    edited = project().edit(name="Site", description="New", by="usr_b", at=T0 + timedelta(hours=1))
    (updated,) = edited.events
    assert (edited.version, updated.changed, updated.updated_by) == (2, ["name", "description"], "usr_b")  # type: ignore[attr-defined]


def test_archive_then_restore_each_record_their_fact_and_refuse_a_repeat() -> None:
    archived = project().archive(by="usr_a", at=T0)
    assert [e.TYPE for e in archived.events] == ["projects.project.archived.v1"]
    with pytest.raises(WrongStatus):
        archived.archive(by="usr_a", at=T0)
    restored = archived.restore(by="usr_a", at=T0)
    assert (restored.status, restored.version) == (ProjectStatus.ACTIVE, 3)
    with pytest.raises(WrongStatus):
        restored.restore(by="usr_a", at=T0)


def test_only_an_archived_project_can_be_deleted() -> None:
    with pytest.raises(WrongStatus):
        project().delete(by="usr_a", at=T0)
    assert project().archive(by="usr_a", at=T0).delete(by="usr_a", at=T0).TYPE == "projects.project.deleted.v1"


def test_a_task_born_done_records_its_creation_and_completion() -> None:
    made = Task.create(
        tenant_id="t", project_id="p", title="x", status=TaskStatus.DONE, assignee=None, due_date=None, by="u", at=T0
    )
    assert [e.TYPE for e in made.events] == ["projects.task.created.v1", "projects.task.completed.v1"]


def test_a_task_completes_once_however_often_it_is_edited_while_done() -> None:
    done = task(status=TaskStatus.DONE)
    assert [e.TYPE for e in done.events] == ["projects.task.completed.v1"]
    assert done.edit(title="Again", by="u", at=T0).events == ()


def test_reassigning_a_task_restarts_its_assignment_time_and_clearing_forgets_it() -> None:
    later = T0 + timedelta(days=1)
    moved = task().edit(assignee="usr_b", by="u", at=later)
    assert (moved.assignee, moved.assigned_at) == ("usr_b", later)
    cleared = moved.edit(assignee=None, due_date=date(2026, 12, 24), by="u", at=later)
    assert (cleared.assignee, cleared.assigned_at, cleared.due_date) == (None, None, date(2026, 12, 24))


def test_the_plan_that_raises_a_limit_is_the_cheapest_other_one_above_it() -> None:
    assert plan("free", 3).raising(LimitName.PROJECTS) == "pro"
    assert plan("pro", 50).raising(LimitName.PROJECTS) == "business"
    assert plan("business", None).raising(LimitName.PROJECTS) is None
    # An override above every plan's limit but the unlimited one
    assert plan("pro", 80).raising(LimitName.PROJECTS) == "business"


def test_the_plans_granting_a_feature_are_named_cheapest_first() -> None:
    assert plan("free", 3).granting("project_export") == ["pro", "business"]


def test_only_newer_entitlements_replace_the_held_ones() -> None:
    held = plan("pro", 50, at=T0)
    assert plan("free", 3, at=T0 + timedelta(seconds=1)).is_newer_than(held)
    assert not plan("free", 3, at=T0).is_newer_than(held)
    assert plan("free", 3).is_newer_than(None)


class FakeRoster:
    def __init__(self) -> None:
        self.held: dict[str, Membership] = {}

    def membership(self, tenant_id: str, user_id: str) -> Membership | None:
        return self.held.get(user_id)

    def save(self, tenant_id: str, membership: Membership) -> None:
        self.held[membership.user_id] = membership


@pytest.mark.parametrize("order", ["joined first", "removed first"])
def test_membership_follows_the_latest_facts_in_any_order(order: str) -> None:
    roster = FakeRoster()
    members = MemberRoster(roster)
    facts = [lambda: members.joined("t", "u", at=T0), lambda: members.removed("t", "u", at=T0 + timedelta(hours=1))]
    for fact in facts if order == "joined first" else reversed(facts):
        fact()
    assert not roster.held["u"].is_member
    members.joined("t", "u", at=T0 + timedelta(hours=2))
    members.removed("t", "u", at=T0 + timedelta(minutes=30))  # an older removal, late
    assert roster.held["u"].is_member


def test_without_if_match_a_moved_version_is_tried_again_and_with_it_is_refused() -> None:
    attempts: list[int] = []

    def stale_then_ok() -> str:
        attempts.append(1)
        if len(attempts) < LAST_WRITER_WINS_ATTEMPTS:
            raise StaleVersion("moved")
        return "written"

    assert read_then_write(stale_then_ok, if_match=None) == "written"
    attempts.clear()
    with pytest.raises(StaleVersion):
        read_then_write(stale_then_ok, if_match=1)
    assert len(attempts) == 1
