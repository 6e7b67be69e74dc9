"""Reporting: read models fed by the event stream (a tenant's activity and usage; the operators'
revenue, subscriptions, churn and top tenants), rebuildable from the bus archive. It reads events,
never another context's table, and publishes none."""

from __future__ import annotations

from infra.model import Context, Subscription

CONTEXT = Context(
    name="reporting",
    api_handler="functions.reporting.handlers.api",
    api_prefixes=("/v1/reports", "/v1/admin/reports"),
    keys_module="functions.reporting.adapters.keys",
    subscriptions=(
        # Every Keel event, whatever its producer: the rule matches every keel.* source, so an event
        # type added later is consumed with no change here.
        Subscription(name="events", handler="functions.reporting.handlers.on_event", event_types=("*",)),
        # What `keel reports rebuild` replays from the bus archive (and only that): the new model version.
        Subscription(
            name="rebuild",
            handler="functions.reporting.handlers.on_replay",
            event_types=("*",),
            replays_only=True,
        ),
    ),
)
