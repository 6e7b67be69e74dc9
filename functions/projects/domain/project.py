"""A project: what the projects context is about, and the facts each change of it records.

A team adopting Keel replaces it with its own aggregate; keep the shape: a frozen value whose
methods return the next version with the events that change records (for the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from functions.projects.domain.errors import WrongStatus
from keel import ids
from keel.contracts.projects import (
    ProjectArchived,
    ProjectCreated,
    ProjectDeleted,
    ProjectRestored,
    ProjectUpdated,
)
from keel.events import Contract

ID_PREFIX = "proj"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


def name_key(name: str) -> str:
    """The form in which names are unique and searched: case-insensitive (``casefold``)."""
    return name.casefold()


@dataclass(frozen=True)
class Project:
    """One project of one tenant. ``events`` are the facts this version records, for the outbox."""

    id: str
    tenant_id: str
    name: str
    description: str
    status: ProjectStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    events: tuple[Contract, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def create(cls, *, tenant_id: str, name: str, description: str, by: str, at: datetime) -> Project:
        """A new active project, which records ``projects.project.created.v1``."""
        project_id = ids.new_id(ID_PREFIX, at)
        created = ProjectCreated(tenant_id=tenant_id, project_id=project_id, name=name, created_by=by, created_at=at)
        return cls(
            id=project_id,
            tenant_id=tenant_id,
            name=name,
            description=description,
            status=ProjectStatus.ACTIVE,
            created_by=by,
            created_at=at,
            updated_at=at,
            events=(created,),
        )

    @property
    def is_active(self) -> bool:
        return self.status is ProjectStatus.ACTIVE

    def edit(self, *, name: str | None, description: str | None, by: str, at: datetime) -> Project:
        """This project renamed and/or redescribed; records ``projects.project.updated.v1`` when
        something changed (an edit that changes nothing is no new version)."""
        changed = [
            label
            for label, new, old in (("name", name, self.name), ("description", description, self.description))
            if new is not None and new != old
        ]
        if not changed:
            return self
        edited = replace(
            self,
            name=self.name if name is None else name,
            description=self.description if description is None else description,
            updated_at=at,
            version=self.version + 1,
        )
        updated = ProjectUpdated(
            tenant_id=self.tenant_id,
            project_id=self.id,
            name=edited.name,
            changed=changed,
            version=edited.version,
            updated_by=by,
            updated_at=at,
        )
        return replace(edited, events=(updated,))

    def archive(self, *, by: str, at: datetime) -> Project:
        """This project archived (it stops counting against the plan); records ``archived.v1``."""
        if not self.is_active:
            raise WrongStatus("the project is already archived")
        archived = ProjectArchived(
            tenant_id=self.tenant_id, project_id=self.id, name=self.name, archived_by=by, archived_at=at
        )
        return self._moved(ProjectStatus.ARCHIVED, at, archived)

    def restore(self, *, by: str, at: datetime) -> Project:
        """This project active again (it counts against the plan again); records ``restored.v1``."""
        if self.is_active:
            raise WrongStatus("the project is not archived")
        restored = ProjectRestored(
            tenant_id=self.tenant_id, project_id=self.id, name=self.name, restored_by=by, restored_at=at
        )
        return self._moved(ProjectStatus.ACTIVE, at, restored)

    def delete(self, *, by: str, at: datetime) -> ProjectDeleted:
        """The fact of deleting this project; only an archived one may go."""
        if self.is_active:
            raise WrongStatus("only an archived project can be deleted: archive it first")
        return ProjectDeleted(
            tenant_id=self.tenant_id, project_id=self.id, name=self.name, deleted_by=by, deleted_at=at
        )

    def _moved(self, status: ProjectStatus, at: datetime, event: Contract) -> Project:
        return replace(self, status=status, updated_at=at, version=self.version + 1, events=(event,))


def is_project_id(value: str) -> bool:
    """Whether ``value`` could be a project's id (checked before any read)."""
    return ids.is_id(ID_PREFIX, value)
