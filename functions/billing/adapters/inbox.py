"""The Stripe event inbox on billing's table (``STRIPE_EVENT#<id>``), and the queue that asks for
processing (``KEEL_BILLING_STRIPE_EVENTS_QUEUE``)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from functions.billing.adapters import items
from functions.billing.adapters.store import _Table
from functions.billing.domain.ports import ReceivedEvent
from keel import aws
from keel.clock import iso
from keel.errors import Conflict
from keel.store import Transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


class _Duplicate(Conflict):
    pass


class StripeEventTable(_Table):
    """``StripeEventInbox``: one conditional write to keep an event, one message to process it."""

    def __init__(
        self, table: str, queue: str, client: DynamoDBClient | None = None, sqs: SQSClient | None = None
    ) -> None:
        super().__init__(table, client)
        self._queue = queue
        self._sqs = sqs

    @cached_property
    def _queue_url(self) -> str:
        return (self._sqs or aws.sqs()).get_queue_url(QueueName=self._queue)["QueueUrl"]

    def store(self, event: ReceivedEvent) -> bool:
        tx = Transaction(self._table)
        tx.put_new(items.event_item(event), on_condition_failed=_Duplicate(event.id))
        tx.put({**items.unprocessed_key(event.received_at, event.id), **_pending(event)})
        try:
            tx.execute(self._client)
        except _Duplicate:
            return False
        return True

    def enqueue(self, event_id: str) -> bool:
        try:
            sqs = self._sqs or aws.sqs()
            sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"event_id": event_id}))
        except (BotoCoreError, ClientError):
            return False
        return True

    def get(self, event_id: str) -> ReceivedEvent | None:
        found = self._get(items.event_key(event_id))
        return items.event_of(found) if found else None

    def unprocessed(self, received_before: datetime, *, limit: int) -> list[ReceivedEvent]:
        return [items.event_of(i) for i in self._before(items.UNPROCESSED, iso(received_before), limit=limit)]


def _pending(event: ReceivedEvent) -> dict[str, object]:
    # The index entry carries the event, so reconciliation needs no read per entry.
    stored = items.event_item(event)
    return {k: v for k, v in stored.items() if k not in ("pk", "sk", "expires_at")}
