"""SQS: the weekly summary's work queue (``SendMessageBatch``, ten at a time) and the visibility of a
message being retried (``ChangeMessageVisibility``: a throttled event comes back when the provider
said, not after the queue's whole visibility timeout)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from keel import aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BATCH = 10
#: SQS's longest visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 43_200


class SummaryQueue:
    def __init__(self, queue_name: str, client: SQSClient | None = None) -> None:
        self._name = queue_name
        self._client = client

    def enqueue(self, recipients: list[tuple[str, str]], *, run: str) -> int:
        sqs = self._client or aws.sqs()
        url = sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
        sent = 0
        for start in range(0, len(recipients), BATCH):
            chunk = recipients[start : start + BATCH]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps({"tenant_id": t, "user_id": u, "run": run})}
                for i, (t, u) in enumerate(chunk)
            ]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
            if answer.get("Failed"):
                raise RuntimeError(f"{len(answer['Failed'])} summary message(s) refused by SQS: the job is retried")
            sent += len(chunk)
        return sent


def postpone(queue_arn: str, receipt_handle: str, seconds: float, client: SQSClient | None = None) -> None:
    """Bring the message back in ``seconds`` (at least one), not after the queue's visibility timeout."""
    sqs = client or aws.sqs()
    name = queue_arn.rsplit(":", 1)[-1]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    delay = min(MAX_VISIBILITY_SECONDS, max(1, round(seconds)))
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay)
