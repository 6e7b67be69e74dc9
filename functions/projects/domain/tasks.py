"""What the projects context does with tasks. Each method takes the tenant first; a task is reached
only through its own project (a task id under another project is not found)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from functions.projects.domain.errors import (
    OverLimit,
    ProjectNotFound,
    StaleVersion,
    TaskNotFound,
)
from functions.projects.domain.plan import LimitName
from functions.projects.domain.ports import Page, Plans, TaskRepository
from functions.projects.domain.project import is_project_id
from functions.projects.domain.projects import held_plan, limit_reached
from functions.projects.domain.task import UNCHANGED, Task, TaskStatus, is_task_id
from functions.projects.domain.writes import read_then_write
from keel.clock import Clock, SystemClock


class TaskService:
    def __init__(self, tasks: TaskRepository, plans: Plans, *, clock: Clock | None = None) -> None:
        self._tasks = tasks
        self._plans = plans
        self._clock = clock or SystemClock()

    def create(
        self,
        tenant_id: str,
        project_id: str,
        *,
        by: str,
        title: str,
        status: TaskStatus = TaskStatus.TODO,
        assignee: str | None = None,
        due_date: date | None = None,
    ) -> Task:
        """A new task of an active project, counted against the plan's task limit in the same write."""
        if not is_project_id(project_id):
            raise ProjectNotFound("no such project")
        task = Task.create(
            tenant_id=tenant_id,
            project_id=project_id,
            title=title,
            status=status,
            assignee=assignee,
            due_date=due_date,
            by=by,
            at=self._now(),
        )
        try:
            self._tasks.add(task)
        except OverLimit:
            raise limit_reached(held_plan(self._plans.get(tenant_id)), LimitName.TASKS, "tasks per project") from None
        return task

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
        """One page of the project's tasks; an unknown project (another tenant's too) is not found. Only
        an empty first page costs a second read, to tell the two apart."""
        if not is_project_id(project_id):
            raise ProjectNotFound("no such project")
        page = self._tasks.list(tenant_id, project_id, status=status, assignee=assignee, limit=limit, cursor=cursor)
        if not page.items and cursor is None and not self._tasks.has_project(tenant_id, project_id):
            raise ProjectNotFound("no such project")
        return page

    def edit(
        self,
        tenant_id: str,
        project_id: str,
        task_id: str,
        *,
        by: str,
        if_match: int | None,
        title: str | None = None,
        status: TaskStatus | None = None,
        assignee: str | object | None = UNCHANGED,
        due_date: date | object | None = UNCHANGED,
    ) -> Task:
        """Change the task; a stale ``if_match`` is ``StaleVersion``, none means the last writer wins."""

        def change(task: Task) -> Task:
            return task.edit(title=title, status=status, assignee=assignee, due_date=due_date, by=by, at=self._now())

        return self._change(tenant_id, project_id, task_id, change, if_match)

    def delete(self, tenant_id: str, project_id: str, task_id: str, *, if_match: int | None) -> None:
        """Delete the task (it stops counting against the plan's task limit)."""
        read_then_write(
            lambda: self._tasks.remove(self._current(tenant_id, project_id, task_id, if_match)), if_match=if_match
        )

    def unassign_member(self, tenant_id: str, user_id: str, *, removed_at: datetime) -> int:
        """Unassign every task of a member who left the tenant at ``removed_at``; how many changed.
        Each task changes once: a duplicate (or older) removal finds nothing still assigned before it."""
        changed = 0
        for task in self._tasks.assigned_to(tenant_id, user_id):
            if task.assigned_at is not None and task.assigned_at < removed_at:
                changed += self._tasks.unassign(task, task.unassigned(at=self._now()), removed_at=removed_at)
        return changed

    # -- rules ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Stored times keep milliseconds: an answer matches every later read of it.
        now = self._clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _current(self, tenant_id: str, project_id: str, task_id: str, if_match: int | None) -> Task:
        found = (
            self._tasks.get(tenant_id, project_id, task_id)
            if is_project_id(project_id) and is_task_id(task_id)
            else None
        )
        if found is None:
            raise TaskNotFound("no such task")
        if if_match is not None and if_match != found.version:
            raise StaleVersion(f"the task is at version {found.version}, not {if_match}")
        return found

    def _change(
        self, tenant_id: str, project_id: str, task_id: str, change: Callable[[Task], Task], if_match: int | None
    ) -> Task:
        def attempt() -> Task:
            before = self._current(tenant_id, project_id, task_id, if_match)
            after = change(before)
            if after is not before:
                self._tasks.save(before, after)
            return after

        return read_then_write(attempt, if_match=if_match)
