"""The weekly summary's work queue: each message names one member (``{"tenant_id", "user_id", "run"}``);
their summary is sent at the provider's pace, once per run (the run is the delivery's dedupe id)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.queues import postpone
from functions.notifications.domain.delivery import About
from functions.notifications.domain.ports import Throttled
from keel import observability

SERVICE = "notifications-summaries"
SUMMARY_TYPE = "notifications.weekly_summary"


def summarize(record: SQSRecord) -> None:
    body = json.loads(record.body)
    about = About(str(body["tenant_id"]), str(body["run"]), SUMMARY_TYPE)
    observability.bind(SERVICE, correlation_id=about.event_id, request_id=record.message_id, tenant_id=about.tenant_id)
    try:
        wiring.notifier().weekly_summary(about, str(body["user_id"]))
    except Throttled as throttled:
        postpone(record.event_source_arn, record.receipt_handle, throttled.retry_after)
        raise


@observability.instrumented(SERVICE, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=summarize, processor=processor, context=context))
