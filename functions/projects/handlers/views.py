"""What the projects API reads and answers. Bodies forbid unknown fields, so a tenant id or a role
slipped into one is a 422; every field is bounded; text is ``HumanText`` (no control, line-separator
or bidi characters). Every read answers the version as its ``ETag``; writes take it as ``If-Match``."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field

from keel.text import HumanText
from keel.views import Body, View

if TYPE_CHECKING:  # the domain loads on the first request (through wiring), not when the handler does
    from functions.projects.domain.ports import Page
    from functions.projects.domain.project import Project
    from functions.projects.domain.task import Task

#: An ``ETag`` a read answered (``"3"``, or weak ``W/"3"``).
ETAG_PATTERN = re.compile(r'(W/)?"([1-9][0-9]{0,9})"')
#: No version is 0: an ``If-Match`` naming no ETag of ours matches nothing (412, as HTTP says).
NO_VERSION = 0
#: A member's user id (or an API key's id), as the authorizer names callers.
UserId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["usr_01JD..."])]
ProjectName = Annotated[HumanText, Field(min_length=1, max_length=100, examples=["Website relaunch"])]
Description = Annotated[HumanText, Field(max_length=2000, examples=["Everything for the new site"])]
Title = Annotated[HumanText, Field(min_length=1, max_length=200, examples=["Write the copy"])]
TaskStatusName = Literal["todo", "doing", "done"]


def _date_text(value: object) -> object:
    # pydantic would read a number as a Unix time: a due date is only ever "YYYY-MM-DD".
    if not isinstance(value, str | date):
        raise ValueError("a date is a YYYY-MM-DD string")
    return value


#: A calendar date, ``YYYY-MM-DD`` (bounded by its format: a year has four digits).
DueDate = Annotated[date, BeforeValidator(_date_text), Field(examples=["2026-12-24"])]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` asks for; ``None`` without one (or ``*``): the last writer wins.
    One that is not an ETag of ours asks for ``NO_VERSION``, which is never stored: 412."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = ETAG_PATTERN.fullmatch(if_match.strip())
    return int(found.group(2)) if found else NO_VERSION


class NewProject(Body):
    name: ProjectName
    description: Description = ""


class ProjectChanges(Body):
    """What a PATCH may change; at least one of them."""

    name: ProjectName | None = None
    description: Description | None = None


class ProjectView(View):
    id: str
    name: str
    description: str
    status: Literal["active", "archived"]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, p: Project) -> ProjectView:
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            status=p.status.value,
            created_by=p.created_by,
            created_at=p.created_at,
            updated_at=p.updated_at,
            version=p.version,
        )


class ProjectPageView(View):
    items: list[ProjectView]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None

    @classmethod
    def of(cls, page: Page[Project]) -> ProjectPageView:
        return cls(items=[ProjectView.of(item) for item in page.items], cursor=page.cursor)


class NewTask(Body):
    title: Title
    status: TaskStatusName = "todo"
    assignee: UserId | None = None
    due_date: DueDate | None = None


class TaskChanges(Body):
    """What a PATCH may change; ``assignee`` or ``due_date`` set to ``null`` clears it."""

    title: Title | None = None
    status: TaskStatusName | None = None
    assignee: UserId | None = None
    due_date: DueDate | None = None


class TaskView(View):
    id: str
    project_id: str
    title: str
    status: TaskStatusName
    assignee: str | None
    due_date: date | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, t: Task) -> TaskView:
        return cls(
            id=t.id,
            project_id=t.project_id,
            title=t.title,
            status=t.status.value,
            assignee=t.assignee,
            due_date=t.due_date,
            created_by=t.created_by,
            created_at=t.created_at,
            updated_at=t.updated_at,
            version=t.version,
        )


class TaskPageView(View):
    items: list[TaskView]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None

    @classmethod
    def of(cls, page: Page[Task]) -> TaskPageView:
        return cls(items=[TaskView.of(item) for item in page.items], cursor=page.cursor)


_CSV_COLUMNS = ("kind", "id", "name_or_title", "status", "assignee", "due_date", "created_by", "created_at")


def export_csv(project: Project, tasks: tuple[Task, ...]) -> str:
    """The project (first row) and its tasks as CSV. A cell a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``) is quoted with a leading ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    writer.writerow(
        _safe(
            (
                "project",
                project.id,
                project.name,
                project.status.value,
                "",
                "",
                project.created_by,
                project.created_at.isoformat(),
            )
        )
    )
    for t in tasks:
        due = t.due_date.isoformat() if t.due_date else ""
        writer.writerow(
            _safe(
                ("task", t.id, t.title, t.status.value, t.assignee or "", due, t.created_by, t.created_at.isoformat())
            )
        )
    return out.getvalue()


def _safe(row: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"'{cell}" if cell[:1] in ("=", "+", "-", "@") else cell for cell in row)
