"""How reporting reads the projects context's events, by detail-type.

The projects context publishes these (``keel.contracts.projects``); their payloads carry
``project_id`` (and ``task_id`` for a task), who did it (``<verb>_by``) and when (``<verb>_at``).
The consumer validates each against its contract before it gets here (``handlers/events.py``).
"""

from __future__ import annotations

from functions.reporting.domain.facts import Fact, Reading, lifecycle, reads
from functions.reporting.domain.usage import CLOSE, OPEN, day_of

#: The payload's time of each fact (the envelope's ``occurred_at`` when it has none).
_TIMES = ("archived_at", "restored_at", "deleted_at", "created_at", "completed_at", "at")


def _at(fact: Fact) -> str:
    return next((fact.time(name) for name in _TIMES if fact.payload.get(name)), fact.occurred_at)


def _actor(fact: Fact) -> str | None:
    value = next(
        (
            fact.payload.get(k)
            for k in ("created_by", "archived_by", "restored_by", "deleted_by", "completed_by", "actor_id")
            if fact.payload.get(k)
        ),
        None,
    )
    return str(value) if value else None


def _project(verb: str, op: str):  # type: ignore[no-untyped-def]
    def reader(fact: Fact) -> Reading:
        project_id = str(fact.payload["project_id"])
        name = fact.payload.get("name")
        return Reading(
            summary=f"{verb} the project {name or project_id}",
            actor=_actor(fact),
            lifecycles=(lifecycle(fact, "project", project_id, op, _at(fact)),),
        )

    return reader


reads("projects.project.created.v1")(_project("created", OPEN))
reads("projects.project.archived.v1")(_project("archived", CLOSE))
reads("projects.project.restored.v1")(_project("restored", OPEN))
reads("projects.project.deleted.v1")(_project("deleted", CLOSE))


@reads("projects.task.created.v1")
def _task_created(fact: Fact) -> Reading:
    task = fact.payload.get("title") or fact.payload["task_id"]
    return Reading(
        summary=f"created the task {task}", actor=_actor(fact), counts=((day_of(_at(fact)), "tasks_created"),)
    )


@reads("projects.task.completed.v1")
def _task_completed(fact: Fact) -> Reading:
    task = fact.payload.get("title") or fact.payload["task_id"]
    return Reading(
        summary=f"completed the task {task}", actor=_actor(fact), counts=((day_of(_at(fact)), "tasks_completed"),)
    )
