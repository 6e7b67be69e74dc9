"""The consumer of events that become messages: the kernel's ``Consumer`` (one log line per event, its
trace and correlation id, partial batch failures), with the effect sending instead of writing.

Sending cannot share a transaction with an inbox marker, so these effects are idempotent through
their own delivery records (``domain/delivery.py``). An event that is throttled is reported failed
*and* its message's visibility is set to the provider's ``retry_after`` (``ChangeMessageVisibility``),
so the queue brings it back then; after ``MAX_RECEIVE_COUNT`` receives it is in the DLQ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.notifications.adapters.queues import postpone
from functions.notifications.domain.delivery import About
from functions.notifications.domain.ports import Throttled
from keel.consumer import Consumer, Outcome
from keel.events import Contract, Envelope

Send = Callable[[About, Any], object]


class SendingConsumer(Consumer):
    """``SendingConsumer(service=..., table=..., sends={ContractType: send})``."""

    def __init__(self, *, service: str, table: Callable[[], str], sends: Mapping[type[Contract], Send]) -> None:
        super().__init__(service=service, table=table, effects=[])
        self._sends = {contract.TYPE: (contract, send) for contract, send in sends.items()}

    def _apply(self, envelope: Envelope) -> Outcome:
        found = self._sends.get(envelope.type)
        if found is None:
            return "ignored"
        contract, send = found
        send(About(envelope.tenant_id, envelope.id, envelope.type), contract.model_validate(envelope.payload))
        return "ok"

    def _record(self, record: SQSRecord) -> None:
        try:
            super()._record(record)
        except Throttled as throttled:
            postpone(record.event_source_arn, record.receipt_handle, throttled.retry_after)
            raise
