"""Every key of the projects table, spelled once.

Tenant partition ``TENANT#<tenant>``:

    PROJECT#<project id>         a project (the list of all of them, newest first: ULIDs sort by time)
    PLAN                         the tenant's plan (limits, features, the catalogue) and its
                                 active-project counter, so a create's condition reads both at once
    MEMBER#<user id>             projects' read model of a member (joined_at, removed_at)
    OUTBOX#<event id>            events, each written in the transaction of its change (the kernel's)

Project index ``TENANT#<tenant>#PROJECTS`` (copies of each project, so every list is one Query):

    STATUS#<status>#<project id>         by status, newest first
    NAME#<folded name>                   the name's uniqueness claim

Every project item and copy carries its case-folded name (``name_key``): ``q`` (a name prefix) keeps
the matching projects among the page of the newest-first list it reads, so it reads one page, never
more. (Migration 0001 gave the items written before it their ``name_key`` and deleted the
``STATUS_NAME#`` copies that listed them by name.)

A project's partition ``TENANT#<tenant>#<project id>`` (its tasks, copies included):

    COUNTER                              how many tasks it has (the task limit's counter)
    TASK                                 a copy of the project itself, sorted just before its tasks, so
                                         the export reads the project and its tasks in one Query
                                         (``begins_with(sk, "TASK")``); migration 0002 wrote it for the
                                         projects created before it
    TASK#<task id>                       a task (newest first)
    STATUS#<status>#<task id>            by status
    ASSIGNEE#<user id>#<status>#<task id>  by assignee, and by assignee and status
"""

from __future__ import annotations

from functions.projects.domain.project import Project, ProjectStatus, name_key
from functions.projects.domain.task import Task, TaskStatus
from keel.store import entity_sk, tenant_pk

Key = dict[str, str]

PROJECT = "PROJECT"
TASK = "TASK"
MEMBER = "MEMBER"
PLAN_SK = "PLAN"
COUNTER_SK = "COUNTER"
PROJECT_INDEX = "PROJECTS"
NAME = "NAME#"


def _sk(*parts: str) -> str:
    return "#".join(parts)


def project_key(tenant_id: str, project_id: str) -> Key:
    return {"pk": tenant_pk(tenant_id), "sk": entity_sk(PROJECT, project_id)}


def plan_key(tenant_id: str) -> Key:
    return {"pk": tenant_pk(tenant_id), "sk": PLAN_SK}


def member_key(tenant_id: str, user_id: str) -> Key:
    return {"pk": tenant_pk(tenant_id), "sk": entity_sk(MEMBER, user_id)}


def project_index_pk(tenant_id: str) -> str:
    return tenant_pk(tenant_id, PROJECT_INDEX)


def name_claim(tenant_id: str, name: str) -> Key:
    return {"pk": project_index_pk(tenant_id), "sk": NAME + name_key(name)}


def project_head(tenant_id: str, project_id: str) -> Key:
    """The copy of the project where its tasks are (see ``EXPORT_PREFIX``)."""
    return {"pk": tasks_pk(tenant_id, project_id), "sk": TASK}


#: In a project's partition, the sort-key prefix of its head copy and then of all its tasks.
EXPORT_PREFIX = TASK


def project_copies(project: Project) -> list[Key]:
    """Where copies of ``project`` live: for the lists, the name claim among them, and its head."""
    pk, status = project_index_pk(project.tenant_id), project.status.value
    return [
        {"pk": pk, "sk": _sk("STATUS", status, project.id)},
        name_claim(project.tenant_id, project.name),
        project_head(project.tenant_id, project.id),
    ]


def project_list(tenant_id: str, *, status: ProjectStatus | None) -> tuple[str, str]:
    """The partition and the sort-key prefix of one list of projects, newest first."""
    if status is None:
        return tenant_pk(tenant_id), entity_sk(PROJECT)
    return project_index_pk(tenant_id), _sk("STATUS", status.value, "")


def tasks_pk(tenant_id: str, project_id: str) -> str:
    return tenant_pk(tenant_id, project_id)


def task_key(tenant_id: str, project_id: str, task_id: str) -> Key:
    return {"pk": tasks_pk(tenant_id, project_id), "sk": entity_sk(TASK, task_id)}


def task_counter(tenant_id: str, project_id: str) -> Key:
    return {"pk": tasks_pk(tenant_id, project_id), "sk": COUNTER_SK}


def task_copies(task: Task) -> list[Key]:
    pk, status = tasks_pk(task.tenant_id, task.project_id), task.status.value
    copies = [{"pk": pk, "sk": _sk("STATUS", status, task.id)}]
    if task.assignee:
        copies.append({"pk": pk, "sk": _sk("ASSIGNEE", task.assignee, status, task.id)})
    return copies


def task_list(tenant_id: str, project_id: str, *, status: TaskStatus | None, assignee: str | None) -> tuple[str, str]:
    """The partition and sort-key prefix of one list of a project's tasks."""
    pk = tasks_pk(tenant_id, project_id)
    if assignee is not None:
        return pk, _sk("ASSIGNEE", assignee, status.value, "") if status else _sk("ASSIGNEE", assignee, "")
    if status is not None:
        return pk, _sk("STATUS", status.value, "")
    return pk, entity_sk(TASK)


#: The sort-key prefixes of every task item in a project's partition (the counter aside).
TASK_ITEM_PREFIXES = (entity_sk(TASK), "STATUS#", "ASSIGNEE#")


def assigned_prefix(user_id: str) -> str:
    return _sk("ASSIGNEE", user_id, "")
