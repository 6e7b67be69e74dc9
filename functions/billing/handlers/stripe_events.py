"""Processes stored Stripe events, one queue message (``{"event_id"}``) each: fetch the object again,
apply it, mark the event processed, all in one write. A failure (Stripe down, a concurrent write)
fails only that message: SQS delivers it again, and after five receives it waits in the DLQ (and
the reconciliation job processes the event again once it has been stuck for 15 minutes)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from keel import observability

SERVICE = "billing-stripe-events"


def process(record: SQSRecord) -> None:
    event_id = str(json.loads(record.body)["event_id"])
    observability.bind(SERVICE, correlation_id=event_id, request_id=record.message_id)
    logger = observability.for_service(SERVICE).logger
    try:
        outcome = wiring.stripe_events().process(event_id)
    except Exception:
        # The message comes back (then goes to the DLQ); reconciliation processes the event again later.
        logger.exception("stripe event failed; it will be retried", extra={"event_id": event_id})
        raise
    if outcome.api_version_differs:
        logger.warning(
            "stripe event of another API version; processed by fetching its object at the pinned version",
            extra={"event_id": event_id, "event_type": outcome.event_type},
        )
    logger.info(
        "stripe event processed",
        extra={
            "event_id": event_id,
            "event_type": outcome.event_type,
            "outcome": outcome.result,
            "tenant_id": outcome.tenant_id,
            "published": outcome.published,
        },
    )


@observability.instrumented(SERVICE, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:  # Powertools requires the name ``record``
        process(record)

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
