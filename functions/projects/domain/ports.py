"""What the projects context's services need from the outside world, as protocols the adapters implement.

Every write is one transaction that holds its own conditions: a repository raises ``OverLimit`` when
the plan's counter refused it, ``StaleVersion`` when the version moved, ``NameTaken``,
``ProjectArchived`` or ``NotAMember`` when the condition for those failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from functions.projects.domain.plan import Plan
from functions.projects.domain.project import Project, ProjectStatus
from functions.projects.domain.task import Task, TaskStatus
from keel.events import Contract

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: Opaque; ``None`` on the last page.
    cursor: str | None


class ProjectRepository(Protocol):
    """The projects of every tenant, with the tenant's active-project counter. Tenant first."""

    def get(self, tenant_id: str, project_id: str) -> Project | None: ...

    def list(
        self, tenant_id: str, *, status: ProjectStatus | None, prefix: str | None, limit: int, cursor: str | None
    ) -> Page[Project]:
        """One page, newest first: ``limit`` projects read (one Query), those whose case-folded name starts
        with ``prefix`` kept."""
        ...

    def add(self, project: Project) -> None:
        """Store a new active project, counted against the plan's project limit."""
        ...

    def save(self, before: Project, after: Project) -> None:
        """Store ``after`` if the stored version is still ``before``'s; an (un)archive moves the counter."""
        ...

    def remove(self, project: Project, deleted: Contract) -> None:
        """Delete an archived project (its tasks follow, see ``TaskRepository.purge``)."""
        ...


class TaskRepository(Protocol):
    """The tasks of every project, with each project's task counter. Tenant first."""

    def get(self, tenant_id: str, project_id: str, task_id: str) -> Task | None: ...

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
        """One page, newest first (with an assignee alone: by status, then newest first)."""
        ...

    def has_project(self, tenant_id: str, project_id: str) -> bool:
        """Whether the project exists (an empty list must tell "no such project" from "no such tasks")."""
        ...

    def export(self, tenant_id: str, project_id: str) -> tuple[Project | None, tuple[Task, ...]]:
        """The project and every task of it, oldest first, in one Query (a page at a time past 1 MB);
        ``None`` and no tasks for a project that does not exist."""
        ...

    def add(self, task: Task) -> None:
        """Store a new task of an active project, counted against the plan's task limit; the assignee
        must be a member."""
        ...

    def save(self, before: Task, after: Task) -> None:
        """Store ``after`` if the stored version is still ``before``'s (its project active, its assignee a member)."""
        ...

    def remove(self, task: Task) -> None:
        """Delete the task, if its version is still the one read, and uncount it."""
        ...

    def assigned_to(self, tenant_id: str, user_id: str) -> Iterable[Task]:
        """Every task of the tenant assigned to ``user_id``."""
        ...

    def unassign(self, before: Task, after: Task, *, removed_at: datetime) -> bool:
        """Store the unassigned ``after`` if ``before``'s assignee still holds it from before
        ``removed_at``; ``False`` when they no longer do (a duplicate or stale removal)."""
        ...

    def purge(self, tenant_id: str, project_id: str) -> int:
        """Delete every task of a deleted project and its counter; how many went."""
        ...


class Plans(Protocol):
    """Each tenant's plan as this context holds it."""

    def get(self, tenant_id: str) -> Plan | None: ...
