"""Scheduled: give each tenant the API Gateway key of its plan's rate tier where it has none (hourly).

Sign-ups and plan changes make keys as they happen; this catches every tenant they could not: those
created before the stage had usage plans, and any whose key could not be made then. Until it has its
own key a tenant counts against the stage's shared one, so nothing is refused meanwhile.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.identity import wiring
from keel import observability

SERVICE = "identity-usage-keys"


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    done = wiring.usage_keys().reconcile()
    observability.for_service(SERVICE).logger.info(
        "usage keys reconciled",
        extra={"tenants": done.tenants, "keyed": done.keyed, "plans_configured": done.plans_configured},
    )
    return {"tenants": done.tenants, "keyed": done.keyed, "plans_configured": done.plans_configured}
