"""A task of a project: its title, its status (todo, doing, done), who it is assigned to and when
it is due."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from keel import ids
from keel.contracts.projects import TaskCompleted, TaskCreated
from keel.events import Contract

ID_PREFIX = "task"

#: ``Task.edit``'s "leave it as it is" (``None`` means "clear it" for the assignee and the due date).
UNCHANGED = object()


class TaskStatus(StrEnum):
    TODO = "todo"
    DOING = "doing"
    DONE = "done"


@dataclass(frozen=True)
class Task:
    """One task of one project. ``assigned_at`` is when the current assignee got it: a member's
    removal unassigns only what was assigned before it (a late, duplicate removal spares a member
    who came back)."""

    id: str
    tenant_id: str
    project_id: str
    title: str
    status: TaskStatus
    assignee: str | None
    assigned_at: datetime | None
    due_date: date | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    events: tuple[Contract, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        tenant_id: str,
        project_id: str,
        title: str,
        status: TaskStatus,
        assignee: str | None,
        due_date: date | None,
        by: str,
        at: datetime,
    ) -> Task:
        """A new task, which records ``projects.task.created.v1`` (and ``completed.v1`` if it is born done)."""
        task = cls(
            id=ids.new_id(ID_PREFIX, at),
            tenant_id=tenant_id,
            project_id=project_id,
            title=title,
            status=status,
            assignee=assignee,
            assigned_at=at if assignee else None,
            due_date=due_date,
            created_by=by,
            created_at=at,
            updated_at=at,
        )
        created = TaskCreated(
            tenant_id=tenant_id,
            project_id=project_id,
            task_id=task.id,
            title=title,
            status=status.value,
            assignee=assignee,
            due_date=due_date,
            created_by=by,
            created_at=at,
        )
        return replace(task, events=(created, *task._completion(None, by, at)))

    def edit(
        self,
        *,
        title: str | None = None,
        status: TaskStatus | None = None,
        assignee: str | object | None = UNCHANGED,
        due_date: date | object | None = UNCHANGED,
        by: str,
        at: datetime,
    ) -> Task:
        """This task changed; records ``projects.task.completed.v1`` when it reaches done."""
        new_assignee = self.assignee if assignee is UNCHANGED else assignee
        assert new_assignee is None or isinstance(new_assignee, str)
        new_due = self.due_date if due_date is UNCHANGED else due_date
        assert new_due is None or isinstance(new_due, date)
        edited = replace(
            self,
            title=self.title if title is None else title,
            status=self.status if status is None else status,
            assignee=new_assignee,
            assigned_at=self.assigned_at if new_assignee == self.assignee else (at if new_assignee else None),
            due_date=new_due,
        )
        if edited == self:
            return self
        edited = replace(edited, updated_at=at, version=self.version + 1)
        return replace(edited, events=edited._completion(self.status, by, at))

    def unassigned(self, *, at: datetime) -> Task:
        """This task with nobody assigned (its member left the tenant)."""
        return replace(self, assignee=None, assigned_at=None, updated_at=at, version=self.version + 1, events=())

    def _completion(self, before: TaskStatus | None, by: str, at: datetime) -> tuple[Contract, ...]:
        if self.status is not TaskStatus.DONE or before is TaskStatus.DONE:
            return ()
        completed = TaskCompleted(
            tenant_id=self.tenant_id,
            project_id=self.project_id,
            task_id=self.id,
            assignee=self.assignee,
            completed_by=by,
            completed_at=at,
        )
        return (completed,)


def is_task_id(value: str) -> bool:
    return ids.is_id(ID_PREFIX, value)
