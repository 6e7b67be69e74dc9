"""Scheduled, every 15 minutes: reconciliation with Stripe.

1. Stripe events received more than 15 minutes ago and still not processed (the queue failed, or
   their messages went to the DLQ) are processed again.
2. One page of the tenants that have a Stripe customer is compared with what Stripe holds and
   repaired; the next run takes the next page (a full sweep every ``pages`` x 15 minutes). Each
   repair is logged with what differed, and counted (metric ``StripeRepairs``).

``sync`` runs the same repair on demand over every tenant (or one): ``keel stripe sync``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from keel import observability

SERVICE = "billing-reconcile"


def _log_repair(repair: Any) -> None:
    observability.for_service(SERVICE).logger.warning(
        "billing account repaired to match Stripe",
        extra={"tenant_id": repair.tenant_id, "differences": repair.differences, "published": repair.published},
    )


def linked_tenants() -> list[str]:
    """Every tenant with a Stripe customer, a page of the index at a time."""
    reconciliation = wiring.reconciliation()
    tenants: list[str] = []
    cursor: str | None = None
    while True:
        page = reconciliation.linked(limit=100, cursor=cursor)
        tenants += page.items
        cursor = page.cursor
        if cursor is None:
            return tenants


def sync(tenants: list[str] | None = None, *, progress: Callable[[int, int, str], None] | None = None) -> list[Any]:
    """Repair ``tenants`` (every Stripe-linked one by default); ``progress(done, repaired, tenant)`` after each."""
    reconciliation = wiring.reconciliation()
    repairs = []
    for done, tenant in enumerate(linked_tenants() if tenants is None else tenants, start=1):
        repair = reconciliation.repair(tenant)
        if repair is not None:
            repairs.append(repair)
            _log_repair(repair)
        if progress is not None:
            progress(done, len(repairs), tenant)
    return repairs


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    tools = observability.for_service(SERVICE)
    reconciliation = wiring.reconciliation()

    def failed(event_id: str, exc: Exception) -> None:
        tools.logger.error("stuck stripe event failed again", extra={"event_id": event_id, "error": repr(exc)})

    reprocessed = reconciliation.reprocess_stuck(on_failure=failed)
    accounts = wiring.accounts()
    page = reconciliation.linked(limit=wiring.config().reconcile_page_size, cursor=accounts.sweep_cursor())
    repairs = [r for r in (reconciliation.repair(t) for t in page.items) if r is not None]
    for repair in repairs:
        _log_repair(repair)
    accounts.save_sweep_cursor(page.cursor)
    tools.metrics.add_metric(name="StripeRepairs", unit=MetricUnit.Count, value=len(repairs))
    tools.metrics.add_metric(name="StripeEventsReprocessed", unit=MetricUnit.Count, value=len(reprocessed))
    tools.metrics.flush_metrics()
    return {"reprocessed": len(reprocessed), "compared": len(page.items), "repaired": len(repairs)}
