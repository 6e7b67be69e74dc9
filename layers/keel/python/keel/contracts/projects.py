"""Events the projects context publishes: the life of a project and of its tasks.

Each carries the business fact: which project (and task), who did it (a member's user id, or an API
key's id), and when (UTC). Ids are ``proj_...`` and ``task_...``; statuses are ``active``/``archived``
for projects and ``todo``/``doing``/``done`` for tasks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from keel.events import Contract, contract

ProjectStatus = Literal["active", "archived"]
TaskStatus = Literal["todo", "doing", "done"]


@contract
class ProjectCreated(Contract):
    """A project exists (its first version), active."""

    TYPE = "projects.project.created.v1"

    tenant_id: str
    project_id: str
    name: str
    status: ProjectStatus = "active"
    created_by: str
    created_at: datetime


@contract
class ProjectUpdated(Contract):
    """A project's name or description changed."""

    TYPE = "projects.project.updated.v1"

    tenant_id: str
    project_id: str
    name: str
    #: The fields that changed (``name``, ``description``).
    changed: list[str]
    version: int = Field(ge=1)
    updated_by: str
    updated_at: datetime


@contract
class ProjectArchived(Contract):
    """A project was archived: it stays readable, no longer counts against the plan's limit, and can
    be restored or deleted."""

    TYPE = "projects.project.archived.v1"

    tenant_id: str
    project_id: str
    name: str
    status: ProjectStatus = "archived"
    archived_by: str
    archived_at: datetime


@contract
class ProjectRestored(Contract):
    """An archived project is active again (and counts against the plan's limit)."""

    TYPE = "projects.project.restored.v1"

    tenant_id: str
    project_id: str
    name: str
    status: ProjectStatus = "active"
    restored_by: str
    restored_at: datetime


@contract
class ProjectDeleted(Contract):
    """An archived project was deleted, and its tasks with it."""

    TYPE = "projects.project.deleted.v1"

    tenant_id: str
    project_id: str
    name: str
    deleted_by: str
    deleted_at: datetime


@contract
class TaskCreated(Contract):
    """A task was added to a project."""

    TYPE = "projects.task.created.v1"

    tenant_id: str
    project_id: str
    task_id: str
    title: str
    status: TaskStatus
    #: The member it is assigned to, if any.
    assignee: str | None
    due_date: date | None
    created_by: str
    created_at: datetime


@contract
class TaskCompleted(Contract):
    """A task reached ``done``."""

    TYPE = "projects.task.completed.v1"

    tenant_id: str
    project_id: str
    task_id: str
    status: TaskStatus = "done"
    assignee: str | None
    completed_by: str
    completed_at: datetime
