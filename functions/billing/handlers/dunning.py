"""Scheduled, daily: tenants whose payment is late past the grace period fall back to the free plan's
entitlements (announced with ``reason: payment_overdue``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from keel import observability

SERVICE = "billing-dunning"


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    tools = observability.for_service(SERVICE)
    fallen = wiring.dunning().run()
    for tenant_id in fallen:
        tools.logger.warning(
            "payment overdue past the grace period: free plan entitlements", extra={"tenant": tenant_id}
        )
    tools.metrics.add_metric(name="EntitlementsFellBack", unit=MetricUnit.Count, value=len(fallen))
    tools.metrics.flush_metrics()
    return {"fell_back": len(fallen)}
