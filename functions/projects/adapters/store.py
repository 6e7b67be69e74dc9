"""The projects context's DynamoDB table: one repository per aggregate, each write one
TransactWriteItems with its conditions and outbox events, each read one GetItem or one Query.

The limits hold under any concurrency because the counter moves in the same transaction as the
create, under a condition against the plan's limit on the same item (projects), or under a
ConditionCheck of the limit and an exact-value condition on the counter (tasks). See ``keys`` for the
layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.projects.adapters import items
from functions.projects.adapters.keys import (
    EXPORT_PREFIX,
    PROJECT,
    TASK_ITEM_PREFIXES,
    Key,
    assigned_prefix,
    member_key,
    name_claim,
    plan_key,
    project_copies,
    project_head,
    project_key,
    project_list,
    task_copies,
    task_counter,
    task_key,
    task_list,
    tasks_pk,
)
from functions.projects.domain.errors import (
    NameTaken,
    NotAMember,
    OverLimit,
    ProjectArchived,
    ProjectNotFound,
    StaleVersion,
)
from functions.projects.domain.members import Membership
from functions.projects.domain.plan import LimitName, Plan
from functions.projects.domain.ports import Page
from functions.projects.domain.project import Project, ProjectStatus
from functions.projects.domain.task import Task, TaskStatus
from keel import aws
from keel.clock import iso
from keel.errors import Conflict
from keel.events import Contract, envelope
from keel.store import (
    Item,
    Transaction,
    TransactionFailed,
    entity_sk,
    get_item,
    query_all,
    query_page,
    tenant_pk,
)
from keel.store import Page as StorePage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The PLAN item's counter of active projects.
ACTIVE_PROJECTS = "active_projects"
#: How often a task create re-reads its project's counter when another create moved it meanwhile.
COUNTER_ATTEMPTS = 8

_UNDER_LIMIT = "attribute_exists(#plan) AND (attribute_not_exists(#limit) OR #count < #limit)"
_IS_MEMBER = "attribute_exists(#joined) AND (attribute_not_exists(#removed) OR #joined > #removed)"
_MEMBER_NAMES = {"#joined": "joined_at", "#removed": "removed_at"}


class _ProjectNotActive(Conflict):
    """The ConditionCheck on the project failed: archived, or gone (told apart by reading it)."""


class _CounterMoved(Conflict):
    """Another task create moved the project's counter since it was read."""


class _Table:
    def __init__(self, table: str, client: Callable[[], DynamoDBClient] = aws.dynamodb) -> None:
        self._table = table
        self._client = client  # called on first use: nothing connects at import

    def _get(self, key: Key, *, consistent: bool = False) -> Item | None:
        return get_item(self._table, key["pk"], key["sk"], client=self._client(), consistent=consistent)

    def _page(self, pk: str, prefix: str, *, limit: int, cursor: str | None, newest_first: bool) -> StorePage:
        return query_page(
            self._table,
            pk,
            sk_prefix=prefix,
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
            client=self._client(),
        )

    def _all(self, pk: str, prefix: str) -> Iterator[Item]:
        return query_all(self._table, pk, sk_prefix=prefix, client=self._client())

    def _publish(self, tx: Transaction, tenant_id: str, aggregate_id: str, events: tuple[Contract, ...]) -> None:
        for event in events:
            tx.publish(envelope(event, tenant_id=tenant_id, aggregate_id=aggregate_id))

    def _execute(self, tx: Transaction) -> None:
        tx.execute(self._client())


def _move_copies(tx: Transaction, before: list[Key], after: list[Key], item: Item, claim: Key | None) -> None:
    """Delete the copies ``after`` no longer has, write the rest; a new name claim must be free."""
    for key in before:
        if key not in after:
            tx.delete(key)
    for key in after:
        if key == claim and key not in before:
            tx.put_new({**key, **item}, on_condition_failed=NameTaken("another project has this name"))
        else:
            tx.put({**key, **item})


def _check_member(tx: Transaction, tenant_id: str, user_id: str) -> None:
    tx.check(
        member_key(tenant_id, user_id),
        _IS_MEMBER,
        names=_MEMBER_NAMES,
        on_condition_failed=NotAMember(f"{user_id} is not a member of the tenant"),
    )


class ProjectTable(_Table):
    """``ProjectRepository`` on the context's table."""

    def get(self, tenant_id: str, project_id: str) -> Project | None:
        item = self._get(project_key(tenant_id, project_id))
        return items.to_project(tenant_id, item) if item else None

    def list(
        self, tenant_id: str, *, status: ProjectStatus | None, prefix: str | None, limit: int, cursor: str | None
    ) -> Page[Project]:
        pk, sk_prefix = project_list(tenant_id, status=status)
        page = query_page(
            self._table,
            pk,
            sk_prefix=sk_prefix,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            starting_with=(items.NAME_KEY, prefix) if prefix else None,
            client=self._client(),
        )
        return Page(items=[items.to_project(tenant_id, i) for i in page.items], cursor=page.cursor)

    def add(self, project: Project) -> None:
        tx = Transaction(self._table)
        item = items.project_item(project)
        tx.put_new({**project_key(project.tenant_id, project.id), **item})
        _move_copies(tx, [], project_copies(project), item, claim=name_claim(project.tenant_id, project.name))
        self._count(tx, project.tenant_id, +1)
        self._publish(tx, project.tenant_id, project.id, project.events)
        self._execute(tx)

    def save(self, before: Project, after: Project) -> None:
        tx = Transaction(self._table)
        item = items.project_item(after)
        self._versioned(tx, before, item)
        _move_copies(
            tx, project_copies(before), project_copies(after), item, claim=name_claim(after.tenant_id, after.name)
        )
        if before.is_active != after.is_active:
            self._count(tx, after.tenant_id, +1 if after.is_active else -1)
        self._publish(tx, after.tenant_id, after.id, after.events)
        self._execute(tx)

    def remove(self, project: Project, deleted: Contract) -> None:
        tx = Transaction(self._table)
        tx.delete(
            project_key(project.tenant_id, project.id),
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": project.version},
            on_condition_failed=StaleVersion("the project changed since it was read"),
        )
        for key in project_copies(project):
            tx.delete(key)
        tx.delete(task_counter(project.tenant_id, project.id))
        self._publish(tx, project.tenant_id, project.id, (deleted,))
        self._execute(tx)

    def _versioned(self, tx: Transaction, before: Project, item: Item) -> None:
        tx.put(
            {**project_key(before.tenant_id, before.id), **item},
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": before.version},
            on_condition_failed=StaleVersion("the project changed since it was read"),
        )

    @staticmethod
    def _count(tx: Transaction, tenant_id: str, step: int) -> None:
        names = {"#count": ACTIVE_PROJECTS}
        if step < 0:
            tx.update(plan_key(tenant_id), "SET #count = #count - :one", names=names, values={":one": 1})
            return
        tx.update(
            plan_key(tenant_id),
            "SET #count = #count + :one",
            condition=_UNDER_LIMIT,
            names={**names, "#plan": "plan", "#limit": LimitName.PROJECTS.value},
            values={":one": 1},
            on_condition_failed=OverLimit("the plan's project limit is reached"),
        )


class TaskTable(_Table):
    """``TaskRepository`` on the context's table."""

    def get(self, tenant_id: str, project_id: str, task_id: str) -> Task | None:
        item = self._get(task_key(tenant_id, project_id, task_id))
        return items.to_task(tenant_id, item) if item else None

    def list(
        self,
        tenant_id: str,
        project_id: str,
        *,
        status: TaskStatus | None,
        assignee: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Task]:
        pk, prefix = task_list(tenant_id, project_id, status=status, assignee=assignee)
        page = self._page(pk, prefix, limit=limit, cursor=cursor, newest_first=True)
        return Page(items=[items.to_task(tenant_id, i) for i in page.items], cursor=page.cursor)

    def has_project(self, tenant_id: str, project_id: str) -> bool:
        return self._get(project_key(tenant_id, project_id)) is not None

    def export(self, tenant_id: str, project_id: str) -> tuple[Project | None, tuple[Task, ...]]:
        head = project_head(tenant_id, project_id)
        found = list(self._all(head["pk"], EXPORT_PREFIX))
        if found and found[0]["sk"] == head["sk"]:
            return items.to_project(tenant_id, found[0]), tuple(items.to_task(tenant_id, i) for i in found[1:])
        # No head: no such project, or one created before migration 0002 gave every project its head.
        project = self._get(project_key(tenant_id, project_id))
        if project is None:
            return None, ()
        return items.to_project(tenant_id, project), tuple(items.to_task(tenant_id, i) for i in found)

    def add(self, task: Task) -> None:
        for attempt in range(COUNTER_ATTEMPTS):
            counter = self._get(task_counter(task.tenant_id, task.project_id), consistent=True)
            seen = int(counter["count"]) if counter else 0
            tx = Transaction(self._table)
            self._count_one_more(tx, task, seen, exists=counter is not None)
            self._check_project(tx, task)
            if task.assignee:
                _check_member(tx, task.tenant_id, task.assignee)
            item = items.task_item(task)
            tx.put_new({**task_key(task.tenant_id, task.project_id, task.id), **item})
            _move_copies(tx, [], task_copies(task), item, claim=None)
            self._publish(tx, task.tenant_id, task.id, task.events)
            try:
                self._run(tx, task)
            except (_CounterMoved, TransactionFailed):
                if attempt == COUNTER_ATTEMPTS - 1:
                    raise
                continue
            return

    def save(self, before: Task, after: Task) -> None:
        tx = Transaction(self._table)
        item = items.task_item(after)
        tx.put(
            {**task_key(after.tenant_id, after.project_id, after.id), **item},
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": before.version},
            on_condition_failed=StaleVersion("the task changed since it was read"),
        )
        _move_copies(tx, task_copies(before), task_copies(after), item, claim=None)
        self._check_project(tx, after)
        if after.assignee and after.assignee != before.assignee:
            _check_member(tx, after.tenant_id, after.assignee)
        self._publish(tx, after.tenant_id, after.id, after.events)
        self._run(tx, after)

    def remove(self, task: Task) -> None:
        tx = Transaction(self._table)
        tx.delete(
            task_key(task.tenant_id, task.project_id, task.id),
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": task.version},
            on_condition_failed=StaleVersion("the task changed since it was read"),
        )
        # The project's check comes before its counter: once a project is deleted, so is its counter.
        self._check_project(tx, task)
        for key in task_copies(task):
            tx.delete(key)
        tx.update(
            task_counter(task.tenant_id, task.project_id),
            "SET #n = #n - :one",
            condition="attribute_exists(#n)",
            names={"#n": "count"},
            values={":one": 1},
        )
        self._run(tx, task)

    def assigned_to(self, tenant_id: str, user_id: str) -> Iterator[Task]:
        for project in self._all(tenant_pk(tenant_id), entity_sk(PROJECT)):
            for item in self._all(tasks_pk(tenant_id, str(project["id"])), assigned_prefix(user_id)):
                yield items.to_task(tenant_id, item)

    def unassign(self, before: Task, after: Task, *, removed_at: datetime) -> bool:
        tx = Transaction(self._table)
        item = items.task_item(after)
        tx.put(
            {**task_key(after.tenant_id, after.project_id, after.id), **item},
            condition="#v = :v AND #assignee = :user AND #assigned_at < :removed",
            names={"#v": "version", "#assignee": "assignee", "#assigned_at": "assigned_at"},
            values={":v": before.version, ":user": before.assignee, ":removed": iso(removed_at)},
        )
        _move_copies(tx, task_copies(before), task_copies(after), item, claim=None)
        try:
            self._execute(tx)
        except TransactionFailed:
            return False
        return True

    def purge(self, tenant_id: str, project_id: str) -> int:
        purged = 0
        tx = Transaction(self._table)
        pk = tasks_pk(tenant_id, project_id)
        for item in [i for prefix in TASK_ITEM_PREFIXES for i in self._all(pk, prefix)]:
            purged += str(item["sk"]).startswith(TASK_ITEM_PREFIXES[0])
            tx.delete({"pk": item["pk"], "sk": item["sk"]})
            if len(tx) == 100:
                self._execute(tx)
                tx = Transaction(self._table)
        self._execute(tx)
        return purged

    # -- conditions -------------------------------------------------------------------------------

    @staticmethod
    def _count_one_more(tx: Transaction, task: Task, seen: int, *, exists: bool) -> None:
        tx.check(
            plan_key(task.tenant_id),
            "attribute_exists(#plan) AND (attribute_not_exists(#limit) OR #limit > :seen)",
            names={"#plan": "plan", "#limit": LimitName.TASKS.value},
            values={":seen": seen},
            on_condition_failed=OverLimit("the plan's task limit is reached"),
        )
        moved = _CounterMoved("another task was added meanwhile")
        counter = task_counter(task.tenant_id, task.project_id)
        if exists:
            tx.update(
                counter,
                "SET #n = :next",
                condition="#n = :seen",
                names={"#n": "count"},
                values={":seen": seen, ":next": seen + 1},
                on_condition_failed=moved,
            )
        else:
            tx.put_new({**counter, "count": 1}, on_condition_failed=moved)

    @staticmethod
    def _check_project(tx: Transaction, task: Task) -> None:
        tx.check(
            project_key(task.tenant_id, task.project_id),
            "#status = :active",
            names={"#status": "status"},
            values={":active": "active"},
            on_condition_failed=_ProjectNotActive("the project is not active"),
        )

    def _run(self, tx: Transaction, task: Task) -> None:
        try:
            self._execute(tx)
        except _ProjectNotActive:
            if self._get(project_key(task.tenant_id, task.project_id)) is None:
                raise ProjectNotFound("no such project") from None
            raise ProjectArchived("the project is archived: restore it to change its tasks") from None


class PlanTable(_Table):
    """``Plans`` on the context's table."""

    def get(self, tenant_id: str) -> Plan | None:
        item = self._get(plan_key(tenant_id))
        return items.to_plan(item) if item and "plan" in item else None


class PlanWriter(PlanTable):
    """``PlanCopy`` inside ``tx``, the consumer's transaction (with its inbox marker)."""

    def __init__(self, table: str, tx: Transaction, client: Callable[[], DynamoDBClient] = aws.dynamodb) -> None:
        super().__init__(table, client)
        self._into = tx

    def replace(self, tenant_id: str, plan: Plan, *, held: Plan | None) -> None:
        values = items.plan_values(plan)
        kept = {k: v for k, v in values.items() if v is not None}
        names = {f"#{k}": k for k in values} | {"#count": ACTIVE_PROJECTS}
        sets = [f"#{k} = :{k}" for k in kept] + ["#count = if_not_exists(#count, :zero)"]
        removes = [f"#{k}" for k in values if k not in kept]  # a limit of None: no limit
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_not_exists(#effective_at)" if held is None else "#effective_at = :held"
        bound: dict[str, Any] = {f":{k}": v for k, v in kept.items()} | {":zero": 0}
        if held is not None:
            bound[":held"] = iso(held.effective_at)
        self._into.update(plan_key(tenant_id), expression, condition=condition, names=names, values=bound)


class RosterWriter(_Table):
    """``Roster`` inside ``tx``, the consumer's transaction (with its inbox marker)."""

    def __init__(self, table: str, tx: Transaction, client: Callable[[], DynamoDBClient] = aws.dynamodb) -> None:
        super().__init__(table, client)
        self._into = tx

    def membership(self, tenant_id: str, user_id: str) -> Membership | None:
        item = self._get(member_key(tenant_id, user_id), consistent=True)
        return items.to_membership(item) if item else None

    def save(self, tenant_id: str, membership: Membership) -> None:
        key = member_key(tenant_id, membership.user_id)
        if membership.version == 1:
            self._into.put_new({**key, **items.membership_item(membership)})
            return
        self._into.put(
            {**key, **items.membership_item(membership)},
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": membership.version - 1},
        )
