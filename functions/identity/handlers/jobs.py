"""Scheduled: record lapsed invitations as expired, giving their seats back (hourly)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.identity import wiring
from keel import observability

SERVICE = "identity-jobs"


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    expired = wiring.invitations().expire_lapsed()
    observability.for_service(SERVICE).logger.info("invitations expired", extra={"expired": expired})
    return {"expired": expired}
