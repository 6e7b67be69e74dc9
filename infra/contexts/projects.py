"""Projects: a tenant's projects and their tasks, within the limits and features of its plan. The
worked example of a product context: a team replaces it with what its product does."""

from __future__ import annotations

from infra.model import Context, Subscription

CONTEXT = Context(
    name="projects",
    api_handler="functions.projects.handlers.api",
    api_prefixes=("/v1/projects",),
    table=True,
    uses_idempotency=True,  # creating a project or a task honours Idempotency-Key (keel.idempotency)
    subscriptions=(
        # Its own copy of the plan: limits (projects, tasks per project) and features (project_export).
        Subscription(
            name="entitlements",
            handler="functions.projects.handlers.on_entitlements_changed",
            event_types=("billing.entitlements.changed.v1",),
        ),
        # Its own read model of members (assignees), never identity's table.
        Subscription(
            name="members",
            handler="functions.projects.handlers.on_members_changed",
            event_types=("identity.member.joined.v1", "identity.member.removed.v1"),
        ),
        # A deleted project's tasks, which may be more than its deleting transaction can hold.
        Subscription(
            name="purge",
            handler="functions.projects.handlers.on_project_deleted",
            event_types=("projects.project.deleted.v1",),
        ),
    ),
    settings={},
)
