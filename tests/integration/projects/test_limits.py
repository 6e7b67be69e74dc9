"""The plan's limits, enforced by the write itself: a counter item moved in the create's own
transaction under a condition, so no race gets past them and nothing drifts.

Races are made deterministic at the DynamoDB client: every racer reads and decides, then waits at a
barrier just before its TransactWriteItems, and the writes run one after the other. So no racer saw
another's write, and only the conditions in the transaction can stop them.
"""

from __future__ import annotations

from datetime import timedelta

from functions.projects.adapters.keys import plan_key
from functions.projects.adapters.store import ACTIVE_PROJECTS, PlanTable, ProjectTable, TaskTable
from functions.projects.domain.errors import LimitReached, StaleVersion
from functions.projects.domain.projects import ProjectService
from functions.projects.domain.tasks import TaskService
from keel.store import get_item
from tests.integration.projects.support import T0, TENANT, add_task, apply_plan, call, create
from tests.support.racing import RacingClient, race

RACERS = 20


def racing_projects(table: str, racers: int) -> ProjectService:
    client = RacingClient(racers)
    return ProjectService(
        ProjectTable(table, lambda: client),  # type: ignore[arg-type,return-value]
        TaskTable(table),
        PlanTable(table),
    )


def racing_tasks(table: str, racers: int) -> TaskService:
    client = RacingClient(racers)
    return TaskService(TaskTable(table, lambda: client), PlanTable(table))  # type: ignore[arg-type,return-value]


def active_counter(table: str) -> int:
    key = plan_key(TENANT)
    item = get_item(table, key["pk"], key["sk"], consistent=True)
    assert item is not None
    return int(item[ACTIVE_PROJECTS])


def listed(status: str) -> list[str]:
    return [p["id"] for p in call("GET", "/v1/projects", query={"status": status}).body["items"]]


def test_twenty_concurrent_creates_at_a_limit_of_three_leave_exactly_three(table: str) -> None:
    # Given the free plan: 3 active projects
    apply_plan(TENANT, "free")
    service = racing_projects(table, RACERS)
    # When 20 creates race, none seeing the others' writes
    results = race(*[lambda n=n: service.create(TENANT, by="usr_x", name=f"P{n}") for n in range(RACERS)])
    # Then exactly 3 were created, and the 17 others refused naming the limit and the plan that raises it
    refused = [r for r in results if isinstance(r, LimitReached)]
    assert len(refused) == RACERS - 3
    assert refused[0].details == {"limit": "project_limit", "value": 3, "plan": "free", "upgrade_to": "pro"}
    # And the counter says what the table holds
    assert len(listed("active")) == active_counter(table) == 3


def test_two_patches_with_the_same_if_match_one_wins_one_is_412(table: str) -> None:
    apply_plan(TENANT, "free")
    project = create("Website")
    service = racing_projects(table, 2)
    # When two writers who both read version 1 patch at once
    results = race(
        lambda: service.edit(TENANT, project["id"], by="usr_a", name="A", description=None, if_match=1),
        lambda: service.edit(TENANT, project["id"], by="usr_b", name="B", description=None, if_match=1),
    )
    # Then one applied (version 2) and the other is told it is stale
    assert sorted(type(r).__name__ for r in results) == ["Project", "StaleVersion"]
    winner = next(r for r in results if not isinstance(r, StaleVersion))
    assert call("GET", f"/v1/projects/{project['id']}").body["name"] == winner.name


def test_the_newest_entitlements_win_when_an_older_one_arrives_late(table: str) -> None:
    # Given a limit of 1 from T0+1h, then the older limit of 5 (T0) delivered after it
    apply_plan(TENANT, "pro", project_limit=1, at=T0 + timedelta(hours=1))
    apply_plan(TENANT, "pro", project_limit=5, at=T0)
    create("One")
    # Then the late, older one was ignored: a second project is over the limit
    answer = call("POST", "/v1/projects", {"name": "Two"}, role="member")
    assert (answer.status, answer.code) == (403, "limit_reached")


def test_the_newest_entitlements_win_when_they_arrive_in_order(table: str) -> None:
    apply_plan(TENANT, "pro", project_limit=1, at=T0)
    apply_plan(TENANT, "pro", project_limit=5, at=T0 + timedelta(hours=1))
    create("One")
    assert call("POST", "/v1/projects", {"name": "Two"}, role="member").status == 201


def test_a_downgrade_below_usage_keeps_every_project_and_refuses_new_ones(table: str) -> None:
    # Given four active projects on pro
    apply_plan(TENANT, "pro", at=T0)
    projects = [create(f"P{n}") for n in range(4)]
    # When the tenant falls back to free (3 active projects)
    apply_plan(TENANT, "free", at=T0 + timedelta(days=1))
    # Then all four stay readable and editable
    for project in projects:
        assert call("PATCH", f"/v1/projects/{project['id']}", {"description": "still mine"}).status == 200
    # But a fifth is refused, naming the limit and the plan that raises it
    answer = call("POST", "/v1/projects", {"name": "Five"}, role="member")
    assert (answer.status, answer.code) == (403, "limit_reached")
    assert answer.body["error"]["details"]["upgrade_to"] == "pro"
    assert active_counter(table) == 4


def test_archive_restore_and_delete_keep_the_counter_true_and_restoring_counts(table: str) -> None:
    apply_plan(TENANT, "free")
    one, two, three = create("One"), create("Two"), create("Three")
    # When one is archived, a new one fits in its place
    call("POST", f"/v1/projects/{one['id']}/archive")
    create("Four")
    # Then restoring the archived one is over the limit: restoring counts
    answer = call("POST", f"/v1/projects/{one['id']}/restore")
    assert (answer.status, answer.code) == (403, "limit_reached")
    # And after archiving another and deleting it, the restore fits
    call("POST", f"/v1/projects/{two['id']}/archive")
    assert call("DELETE", f"/v1/projects/{two['id']}").status == 204
    assert call("POST", f"/v1/projects/{one['id']}/restore").status == 200
    assert {one["id"], three["id"]} < set(listed("active"))
    assert len(listed("active")) == active_counter(table) == 3


def test_before_the_plan_arrives_creates_are_asked_to_retry(table: str) -> None:
    answer = call("POST", "/v1/projects", {"name": "Early"}, role="member")
    assert (answer.status, answer.code) == (409, "entitlements_pending")


def test_tasks_past_the_plans_task_limit_are_refused(table: str) -> None:
    apply_plan(TENANT, "free", task_limit=2)
    project = create("Website")
    add_task(project["id"]), add_task(project["id"])
    # When a third task is added
    answer = call("POST", f"/v1/projects/{project['id']}/tasks", {"title": "Three"}, role="member")
    # Then it is refused naming the limit and the plan that raises it
    assert (answer.status, answer.code) == (403, "limit_reached")
    assert answer.body["error"]["details"] == {"limit": "task_limit", "value": 2, "plan": "free", "upgrade_to": "pro"}
    # And deleting one makes room again
    first = call("GET", f"/v1/projects/{project['id']}/tasks").body["items"][0]
    assert call("DELETE", f"/v1/projects/{project['id']}/tasks/{first['id']}").status == 204
    add_task(project["id"], "Three")


def test_concurrent_task_creates_at_the_task_limit_leave_exactly_the_limit(table: str) -> None:
    # Given a project whose plan allows 2 tasks
    apply_plan(TENANT, "free", task_limit=2)
    project = create("Website")
    service = racing_tasks(table, 6)
    # When 6 creates race (each read the counter at 0; the losers read it again and retry)
    results = race(*[lambda n=n: service.create(TENANT, project["id"], by="usr_x", title=f"T{n}") for n in range(6)])
    # Then exactly 2 were added and the 4 others refused as over the limit
    assert sum(isinstance(r, LimitReached) for r in results) == 4
    listed = call("GET", f"/v1/projects/{project['id']}/tasks").body["items"]
    assert len(listed) == 2
