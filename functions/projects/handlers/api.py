"""The projects context's API (``/v1/projects``): a tenant's projects and their tasks.

Each route names the least access it needs; the tenant and the acting user come only from the
authorizer's context. Reads answer ``ETag``; PATCH and DELETE honour ``If-Match`` (412 when stale;
without it the last writer wins).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import WithJsonSchema

from functions.projects import wiring
from functions.projects.handlers.views import (
    NewProject,
    NewTask,
    ProjectChanges,
    ProjectPageView,
    ProjectView,
    TaskChanges,
    TaskPageView,
    TaskStatusName,
    TaskView,
    UserId,
    etag,
    expected_version,
    export_csv,
)
from keel.http import KeelResolver
from keel.idempotency import idempotent
from keel.observability import instrumented
from keel.tenancy import Access

app = KeelResolver(service="projects")

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]
NamePrefix = Annotated[str | None, Query(min_length=1, max_length=100, description="case-insensitive name prefix")]
ProjectStatusFilter = Annotated[str | None, Query(pattern="^(active|archived)$")]
TaskStatusFilter = Annotated[TaskStatusName | None, Query()]
AssigneeFilter = Annotated[UserId | None, Query()]
IF_MATCH = 'the ETag read (`"3"`): applied only if the version is still that one, else 412'
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=100, description=IF_MATCH),
    # Optional, but never null: a header is absent or a string.
    WithJsonSchema({"type": "string", "maxLength": 100, "description": IF_MATCH}),
]
TAGS = ["projects"]
PROJECT = "/v1/projects/<project_id>"
TASK = "/v1/projects/<project_id>/tasks/<task_id>"


def _tagged(view: ProjectView | TaskView, status_code: int = 200) -> Response[Any]:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=view.model_dump(mode="json"),
        headers={"ETag": etag(view.version)},
    )


# -- projects ---------------------------------------------------------------------------------------


@app.post(
    "/v1/projects", access=Access.MEMBER, status_code=201, errors=(403, 409), tags=TAGS, summary="Create a project"
)
@idempotent(app)
def create_project(body: NewProject) -> ProjectView:
    caller = app.tenant()
    project = wiring.projects().create(
        caller.tenant_id, by=caller.user_id, name=body.name, description=body.description
    )
    return ProjectView.of(project)


@app.get(
    "/v1/projects",
    access=Access.MEMBER,
    tags=TAGS,
    summary="The tenant's projects, newest first; q keeps those whose name starts with it",
    description=(
        "One page of `limit` projects is read; `q` (a case-insensitive name prefix) keeps the matching ones "
        "among them, so a page may hold fewer, or none, while `cursor` goes on. Follow it until it is null."
    ),
)
def list_projects(
    status: ProjectStatusFilter = None, q: NamePrefix = None, limit: Limit = 50, cursor: Cursor = None
) -> ProjectPageView:
    from functions.projects.domain.project import ProjectStatus  # noqa: PLC0415 - the domain loads on first use

    page = wiring.projects().list(
        app.tenant().tenant_id, status=ProjectStatus(status) if status else None, q=q, limit=limit, cursor=cursor
    )
    return ProjectPageView.of(page)


@app.get(PROJECT, access=Access.MEMBER, errors=(404,), tags=TAGS, summary="One project (ETag: its version)")
def get_project(project_id: str) -> Response[ProjectView]:
    return _tagged(ProjectView.of(wiring.projects().get(app.tenant().tenant_id, project_id)))


@app.patch(PROJECT, access=Access.MEMBER, errors=(404, 409, 412), tags=TAGS, summary="Rename or redescribe a project")
def edit_project(project_id: str, body: ProjectChanges, if_match: IfMatch = None) -> Response[ProjectView]:
    caller = app.tenant()
    project = wiring.projects().edit(
        caller.tenant_id,
        project_id,
        by=caller.user_id,
        name=body.name,
        description=body.description,
        if_match=expected_version(if_match),
    )
    return _tagged(ProjectView.of(project))


@app.post(f"{PROJECT}/archive", access=Access.ADMIN, errors=(404, 409, 412), tags=TAGS, summary="Archive a project")
def archive_project(project_id: str, if_match: IfMatch = None) -> Response[ProjectView]:
    caller = app.tenant()
    project = wiring.projects().archive(
        caller.tenant_id, project_id, by=caller.user_id, if_match=expected_version(if_match)
    )
    return _tagged(ProjectView.of(project))


@app.post(
    f"{PROJECT}/restore",
    access=Access.ADMIN,
    errors=(403, 404, 409, 412),
    tags=TAGS,
    summary="Restore an archived project (it counts against the plan's limit again)",
)
def restore_project(project_id: str, if_match: IfMatch = None) -> Response[ProjectView]:
    caller = app.tenant()
    project = wiring.projects().restore(
        caller.tenant_id, project_id, by=caller.user_id, if_match=expected_version(if_match)
    )
    return _tagged(ProjectView.of(project))


@app.delete(
    PROJECT,
    access=Access.ADMIN,
    status_code=204,
    errors=(404, 409, 412),
    tags=TAGS,
    summary="Delete an archived project and its tasks",
)
def delete_project(project_id: str, if_match: IfMatch = None) -> Response[None]:
    caller = app.tenant()
    wiring.projects().delete(caller.tenant_id, project_id, by=caller.user_id, if_match=expected_version(if_match))
    return Response(status_code=204, content_type=None, body=None)


@app.get(
    f"{PROJECT}/export",
    access=Access.MEMBER,
    errors=(403, 404, 409),
    tags=TAGS,
    summary="The project and its tasks as CSV (the plan's project_export feature)",
    responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_project(project_id: str) -> Response[str]:
    tenant = app.tenant()
    project, tasks = wiring.projects().export(tenant.tenant_id, project_id, features=tenant.features)
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=export_csv(project, tasks),
        headers={"Content-Disposition": f'attachment; filename="{project.id}.csv"', "ETag": etag(project.version)},
    )


# -- tasks ------------------------------------------------------------------------------------------


@app.post(
    f"{PROJECT}/tasks",
    access=Access.MEMBER,
    status_code=201,
    errors=(403, 404, 409),
    tags=TAGS,
    summary="Add a task to an active project",
)
@idempotent(app)
def create_task(project_id: str, body: NewTask) -> TaskView:
    from functions.projects.domain.task import TaskStatus  # noqa: PLC0415 - the domain loads on first use

    caller = app.tenant()
    task = wiring.tasks().create(
        caller.tenant_id,
        project_id,
        by=caller.user_id,
        title=body.title,
        status=TaskStatus(body.status),
        assignee=body.assignee,
        due_date=body.due_date,
    )
    return TaskView.of(task)


@app.get(
    f"{PROJECT}/tasks",
    access=Access.MEMBER,
    tags=TAGS,
    summary="A project's tasks, newest first, by status and/or assignee",
)
def list_tasks(
    project_id: str,
    status: TaskStatusFilter = None,
    assignee: AssigneeFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TaskPageView:
    from functions.projects.domain.task import TaskStatus  # noqa: PLC0415 - the domain loads on first use

    page = wiring.tasks().list(
        app.tenant().tenant_id,
        project_id,
        status=TaskStatus(status) if status else None,
        assignee=assignee,
        limit=limit,
        cursor=cursor,
    )
    return TaskPageView.of(page)


@app.patch(TASK, access=Access.MEMBER, errors=(404, 409, 412), tags=TAGS, summary="Change a task")
def edit_task(project_id: str, task_id: str, body: TaskChanges, if_match: IfMatch = None) -> Response[TaskView]:
    from functions.projects.domain.task import UNCHANGED, TaskStatus  # noqa: PLC0415

    caller = app.tenant()
    given = body.model_fields_set
    task = wiring.tasks().edit(
        caller.tenant_id,
        project_id,
        task_id,
        by=caller.user_id,
        if_match=expected_version(if_match),
        title=body.title,
        status=TaskStatus(body.status) if body.status else None,
        assignee=body.assignee if "assignee" in given else UNCHANGED,
        due_date=body.due_date if "due_date" in given else UNCHANGED,
    )
    return _tagged(TaskView.of(task))


@app.delete(TASK, access=Access.MEMBER, status_code=204, errors=(404, 409, 412), tags=TAGS, summary="Delete a task")
def delete_task(project_id: str, task_id: str, if_match: IfMatch = None) -> Response[None]:
    wiring.tasks().delete(app.tenant().tenant_id, project_id, task_id, if_match=expected_version(if_match))
    return Response(status_code=204, content_type=None, body=None)


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
