"""What the projects context does with projects. Each method takes the tenant first, then the id of
whoever acts (a member's user id or an API key's id): it is recorded in the events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from functions.projects.domain.errors import (
    EntitlementsPending,
    FeatureNotInPlan,
    LimitReached,
    OverLimit,
    ProjectNotFound,
    StaleVersion,
)
from functions.projects.domain.plan import EXPORT, LimitName, Plan
from functions.projects.domain.ports import Page, Plans, ProjectRepository, TaskRepository
from functions.projects.domain.project import Project, ProjectStatus, is_project_id, name_key
from functions.projects.domain.task import Task
from functions.projects.domain.writes import read_then_write
from keel import metrics
from keel.clock import Clock, SystemClock


class ProjectService:
    def __init__(
        self, projects: ProjectRepository, tasks: TaskRepository, plans: Plans, *, clock: Clock | None = None
    ) -> None:
        self._projects = projects
        self._tasks = tasks
        self._plans = plans
        self._clock = clock or SystemClock()

    def create(self, tenant_id: str, *, by: str, name: str, description: str = "") -> Project:
        """A new active project, counted against the plan's project limit in the same write."""
        project = Project.create(tenant_id=tenant_id, name=name, description=description, by=by, at=self._now())
        try:
            self._projects.add(project)
        except OverLimit:
            raise self._limit_reached(tenant_id) from None
        metrics.business("ProjectCreated", tenant_id=tenant_id)
        return project

    def get(self, tenant_id: str, project_id: str) -> Project:
        """The project; another tenant's id is not found, like an unknown one."""
        found = self._projects.get(tenant_id, project_id) if is_project_id(project_id) else None
        if found is None:
            raise ProjectNotFound("no such project")
        return found

    def list(
        self, tenant_id: str, *, status: ProjectStatus | None, q: str | None, limit: int, cursor: str | None
    ) -> Page[Project]:
        """One page of the tenant's projects, newest first; ``q`` keeps those whose name starts with it
        (case-insensitive) among the page read, so a page may hold fewer than ``limit`` (its cursor goes on)."""
        prefix = name_key(q) if q else None
        return self._projects.list(tenant_id, status=status, prefix=prefix, limit=limit, cursor=cursor)

    def edit(
        self,
        tenant_id: str,
        project_id: str,
        *,
        by: str,
        name: str | None,
        description: str | None,
        if_match: int | None,
    ) -> Project:
        """Rename or redescribe the project. With ``if_match`` (the version the caller read) a newer
        stored version is ``StaleVersion``; without it the last writer wins."""

        def change(project: Project) -> Project:
            return project.edit(name=name, description=description, by=by, at=self._now())

        return self._change(tenant_id, project_id, change, if_match)

    def archive(self, tenant_id: str, project_id: str, *, by: str, if_match: int | None = None) -> Project:
        """Archive an active project: it stays readable and stops counting against the plan."""
        return self._change(tenant_id, project_id, lambda p: p.archive(by=by, at=self._now()), if_match)

    def restore(self, tenant_id: str, project_id: str, *, by: str, if_match: int | None = None) -> Project:
        """Restore an archived project: it counts against the plan's limit again, so it may be refused."""
        try:
            return self._change(tenant_id, project_id, lambda p: p.restore(by=by, at=self._now()), if_match)
        except OverLimit:
            raise self._limit_reached(tenant_id) from None

    def delete(self, tenant_id: str, project_id: str, *, by: str, if_match: int | None) -> None:
        """Delete an archived project; its tasks go with it (``purge``, on its deletion event)."""

        def attempt() -> None:
            project = self._current(tenant_id, project_id, if_match)
            self._projects.remove(project, project.delete(by=by, at=self._now()))

        read_then_write(attempt, if_match=if_match)

    def export(
        self, tenant_id: str, project_id: str, *, features: frozenset[str] | None = None
    ) -> tuple[Project, tuple[Task, ...]]:
        """The project and every task of it, if the plan has the ``project_export`` feature.

        ``features`` are the plan's features as the authorizer answered them: they decide, and the export
        is one read. ``None`` (the authorizer did not say) reads this context's copy of the plan to decide;
        so does a refusal, to name the plans that have the feature."""
        said = None if features is None else EXPORT in features
        if not said:
            plan = held_plan(self._plans.get(tenant_id))
            if said is False or not plan.allows(EXPORT):
                raise not_in_plan(plan, EXPORT)
        project, tasks = self._tasks.export(tenant_id, project_id) if is_project_id(project_id) else (None, ())
        if project is None:
            raise ProjectNotFound("no such project")
        return project, tasks

    def purge(self, tenant_id: str, project_id: str) -> int:
        """Delete the tasks of a deleted project (its deletion event's consumer); idempotent."""
        return self._tasks.purge(tenant_id, project_id)

    # -- rules ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Stored times keep milliseconds: an answer matches every later read of it.
        now = self._clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _current(self, tenant_id: str, project_id: str, if_match: int | None) -> Project:
        project = self.get(tenant_id, project_id)
        if if_match is not None and if_match != project.version:
            raise StaleVersion(f"the project is at version {project.version}, not {if_match}")
        return project

    def _change(
        self, tenant_id: str, project_id: str, change: Callable[[Project], Project], if_match: int | None
    ) -> Project:
        def attempt() -> Project:
            before = self._current(tenant_id, project_id, if_match)
            after = change(before)
            if after is not before:
                self._projects.save(before, after)
            return after

        return read_then_write(attempt, if_match=if_match)

    def _plan(self, tenant_id: str) -> Plan:
        return held_plan(self._plans.get(tenant_id))

    def _limit_reached(self, tenant_id: str) -> LimitReached:
        return limit_reached(self._plan(tenant_id), LimitName.PROJECTS, "active projects")


def held_plan(plan: Plan | None) -> Plan:
    """The plan held, or ``EntitlementsPending`` for a tenant whose plan has not arrived yet."""
    if plan is None:
        raise EntitlementsPending("the tenant's plan has not reached projects yet; retry in a moment")
    return plan


def not_in_plan(plan: Plan, feature: str) -> FeatureNotInPlan:
    """The refusal of a feature the tenant's plan lacks, naming the plans that have it."""
    plans = plan.granting(feature)
    return FeatureNotInPlan(
        f"{feature} is not in the {plan.name} plan" + (f"; {', '.join(plans)} include it" if plans else ""),
        details={"feature": feature, "plan": plan.name, "plans": plans},
    )


def limit_reached(plan: Plan, limit: LimitName, what: str) -> LimitReached:
    """The refusal of one more of ``what``: the limit, its value, and the plan that raises it."""
    upgrade = plan.raising(limit)
    value = plan.limits.get(limit)
    return LimitReached(
        f"the {plan.name} plan allows {value} {what}" + (f"; the {upgrade} plan allows more" if upgrade else ""),
        details={"limit": limit.value, "value": value, "plan": plan.name, "upgrade_to": upgrade},
    )
