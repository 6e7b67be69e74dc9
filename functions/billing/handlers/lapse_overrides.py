"""Scheduled, hourly: operators' overrides whose ``until`` passed are dropped, and the entitlements
without them announced (``reason: override_lapsed``). Reads already ignore a lapsed override."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from keel import observability

SERVICE = "billing-overrides"


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    lapsed = wiring.dunning().lapse_overrides()
    for tenant_id in lapsed:
        observability.for_service(SERVICE).logger.info("entitlements override lapsed", extra={"tenant_id": tenant_id})
    return {"lapsed": len(lapsed)}
