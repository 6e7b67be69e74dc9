"""Builds the projects context's services from settings, once per container (nothing at import).

Each builder imports what it builds, so a handler's cold start pays only for what its first request
uses; each is cached per settings object, so when the kernel forgets its settings
(``keel.reset_caches()``: tests, the local runtime) the services are rebuilt from the new ones.
Consumers' services write into the consumer's transaction, so they are built per event, not cached.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.projects.domain.entitlements import EntitlementsCopy
    from functions.projects.domain.members import MemberRoster
    from functions.projects.domain.projects import ProjectService
    from functions.projects.domain.tasks import TaskService
    from functions.projects.settings import ProjectsSettings
    from keel.store import Transaction

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> ProjectsSettings:
    from functions.projects.settings import ProjectsSettings

    return settings.load(ProjectsSettings)


def table_name() -> str:
    return config().table


def projects() -> ProjectService:
    return _projects(config())


def tasks() -> TaskService:
    return _tasks(config())


def entitlements(tx: Transaction) -> EntitlementsCopy:
    from functions.projects.adapters.store import PlanWriter
    from functions.projects.domain.entitlements import EntitlementsCopy

    return EntitlementsCopy(PlanWriter(config().table, tx))


def roster(tx: Transaction) -> MemberRoster:
    from functions.projects.adapters.store import RosterWriter
    from functions.projects.domain.members import MemberRoster

    return MemberRoster(RosterWriter(config().table, tx))


@cache
def _projects(cfg: ProjectsSettings) -> ProjectService:
    from functions.projects.adapters.store import PlanTable, ProjectTable, TaskTable
    from functions.projects.domain.projects import ProjectService

    return ProjectService(ProjectTable(cfg.table), TaskTable(cfg.table), PlanTable(cfg.table))


@cache
def _tasks(cfg: ProjectsSettings) -> TaskService:
    from functions.projects.adapters.store import PlanTable, TaskTable
    from functions.projects.domain.tasks import TaskService

    return TaskService(TaskTable(cfg.table), PlanTable(cfg.table))
