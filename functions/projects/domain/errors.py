"""The projects context's business errors: ``keel.http`` answers each with its status, in the one
error shape."""

from __future__ import annotations

from keel.errors import Conflict, Forbidden, NotFound, PreconditionFailed


class ProjectNotFound(NotFound):
    """No such project in the caller's tenant (another tenant's is not found either)."""


class TaskNotFound(NotFound):
    """No such task in that project of the caller's tenant."""


class NameTaken(Conflict):
    """Another project of the tenant has this name (names are unique per tenant, whatever the case)."""

    code = "name_taken"


class WrongStatus(Conflict):
    """The project is not in the status the action needs (archive an active one, delete an archived one)."""

    code = "wrong_status"


class ProjectArchived(Conflict):
    """Tasks of an archived project are read-only: restore it first."""

    code = "project_archived"


class LimitReached(Forbidden):
    """The tenant's plan allows no more of these; ``details`` names the limit and the plan that raises it."""

    code = "limit_reached"


class FeatureNotInPlan(Forbidden):
    """The tenant's plan lacks the feature; ``details`` names the plans that have it."""

    code = "feature_not_in_plan"


class EntitlementsPending(Conflict):
    """The tenant's plan has not reached this context yet (a tenant signed up a moment ago): retry."""

    code = "entitlements_pending"


class NotAMember(Conflict):
    """A task can only be assigned to a member of the tenant (as this context last heard from identity)."""

    code = "not_a_member"


class StaleVersion(PreconditionFailed):
    """The ``If-Match`` version is not the stored one."""


class OverLimit(LimitReached):
    """Raised by a repository when the counter's condition refused a create: the service names the limit."""
