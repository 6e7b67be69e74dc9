"""SES's bounces and complaints (source ``aws.ses`` on the default bus), one queue message each: a hard
bounce or a complaint fails its email's delivery (``notifications.delivery.failed.v1``, once) and
suppresses the address in the tenant; a transient bounce, or an email this context did not send, is
logged and dropped. A verdict on an email of ours whose delivery is not recorded as sent yet (the send
is still finishing) fails and comes back through the queue; so does a message that is not SES's shape.
After five receives either waits in the DLQ."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.ses_events import feedback
from keel import observability

SERVICE = "notifications-email-events"


def process(record: SQSRecord) -> None:
    event = json.loads(record.body)
    observability.bind(SERVICE, correlation_id=str(event.get("id", record.message_id)), request_id=record.message_id)
    logger = observability.for_service(SERVICE).logger
    found, why = feedback(event)
    if found is None:
        logger.info("ses event ignored", extra={"detail_type": event.get("detail-type"), "why": why})
        return
    outcome = wiring.feedback().record(found)  # DeliveryNotRecordedYet: the message comes back
    logger.info(
        "ses verdict recorded",
        extra={"verdict": found.verdict, "tenant_id": found.tenant_id, "event_id": found.event_id, "outcome": outcome},
    )


@observability.instrumented(SERVICE, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:  # Powertools requires the name ``record``
        process(record)

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
