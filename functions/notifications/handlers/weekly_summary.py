"""Scheduled, weekly: queue one activity summary per member who wants it (``SendMessageBatch``, ten per
call). Nothing is sent here: the ``summaries`` consumer sends each at the provider's pace."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from keel import observability

SERVICE = "notifications-weekly-summary"


@observability.instrumented(SERVICE, "job")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=str(event.get("id") or "") or None)
    return {"queued": wiring.weekly_summary().enqueue()}
