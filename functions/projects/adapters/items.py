"""The projects table's items as the domain's values, and back: the only place that knows their attributes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from functions.projects.domain.members import Membership
from functions.projects.domain.plan import LimitName, Offer, Plan
from functions.projects.domain.project import Project, ProjectStatus, name_key
from functions.projects.domain.task import Task, TaskStatus
from keel.clock import iso
from keel.store import Item

#: The project's case-folded name, on its item and every copy: what ``q`` (a name prefix) is matched against.
NAME_KEY = "name_key"
#: The layout a project item and its copies were written in: 2 since each project has a head copy in its
#: tasks' partition (``keys.project_head``); absent: written before (migration 0002 brings them to 2).
SCHEMA_VERSION, PROJECT_SCHEMA_VERSION = "schema_version", 2


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def project_item(project: Project) -> Item:
    """The project's attributes (its main item and each copy carry them all)."""
    return {
        "id": project.id,
        "name": project.name,
        NAME_KEY: name_key(project.name),
        "description": project.description,
        "status": project.status.value,
        "created_by": project.created_by,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
        "version": project.version,
        SCHEMA_VERSION: PROJECT_SCHEMA_VERSION,
    }


def to_project(tenant_id: str, item: Item) -> Project:
    return Project(
        id=str(item["id"]),
        tenant_id=tenant_id,
        name=str(item["name"]),
        description=str(item.get("description", "")),
        status=ProjectStatus(item["status"]),
        created_by=str(item["created_by"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        updated_at=datetime.fromisoformat(str(item["updated_at"])),
        version=int(item["version"]),
    )


def task_item(task: Task) -> Item:
    return {
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "status": task.status.value,
        "assignee": task.assignee,
        "assigned_at": iso(task.assigned_at) if task.assigned_at else None,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "created_by": task.created_by,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
        "version": task.version,
    }


def to_task(tenant_id: str, item: Item) -> Task:
    return Task(
        id=str(item["id"]),
        tenant_id=tenant_id,
        project_id=str(item["project_id"]),
        title=str(item["title"]),
        status=TaskStatus(item["status"]),
        assignee=str(item["assignee"]) if item.get("assignee") else None,
        assigned_at=_time(item.get("assigned_at")),
        due_date=date.fromisoformat(str(item["due_date"])) if item.get("due_date") else None,
        created_by=str(item["created_by"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        updated_at=datetime.fromisoformat(str(item["updated_at"])),
        version=int(item["version"]),
    )


def plan_values(plan: Plan) -> dict[str, Any]:
    """The plan's attributes on the PLAN item (the counter there is the store's, not the plan's)."""
    return {
        "plan": plan.name,
        LimitName.PROJECTS.value: plan.limits.get(LimitName.PROJECTS),
        LimitName.TASKS.value: plan.limits.get(LimitName.TASKS),
        "features": sorted(plan.features),
        "effective_at": iso(plan.effective_at),
        "catalogue": [
            {
                "plan": offer.plan,
                **{limit.value: offer.limits.get(limit) for limit in LimitName},
                "features": sorted(offer.features),
            }
            for offer in plan.catalogue
        ],
    }


def _limits(item: Item) -> dict[LimitName, int | None]:
    return {limit: _int(item.get(limit.value)) for limit in LimitName}


def to_plan(item: Item) -> Plan:
    return Plan(
        name=str(item["plan"]),
        limits=_limits(item),
        features=frozenset(str(f) for f in item.get("features") or ()),
        effective_at=datetime.fromisoformat(str(item["effective_at"])),
        catalogue=tuple(
            Offer(plan=str(o["plan"]), limits=_limits(o), features=frozenset(str(f) for f in o.get("features") or ()))
            for o in item.get("catalogue") or ()
        ),
    )


def membership_item(membership: Membership) -> Item:
    return {
        "user_id": membership.user_id,
        "joined_at": iso(membership.joined_at) if membership.joined_at else None,
        "removed_at": iso(membership.removed_at) if membership.removed_at else None,
        "version": membership.version,
    }


def to_membership(item: Item) -> Membership:
    return Membership(
        user_id=str(item["user_id"]),
        joined_at=_time(item.get("joined_at")),
        removed_at=_time(item.get("removed_at")),
        version=int(item["version"]),
    )
