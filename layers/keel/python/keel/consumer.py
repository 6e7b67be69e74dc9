"""The consumer helper: SQS batch -> envelope -> contract -> effect + inbox marker, one transaction.

Each message is an EventBridge event (as a rule delivers it to SQS) whose ``detail`` is a Keel
envelope. The effect of an event adds its writes to a ``Transaction`` on the consumer's own table;
the helper adds ``INBOX#<event id>`` with a must-not-exist condition to the same transaction, so
an event delivered twice has its effect once. Failures are reported per message
(``batchItemFailures``) so one bad message never holds back, or replays, the others.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from keel import observability
from keel.errors import Conflict
from keel.events import Contract, ContractT, Envelope, Event
from keel.store import INBOX_TTL_SECONDS, Transaction, tenant_pk


class Effect(Generic[ContractT]):
    """What a consumer does for one event type: add writes to ``tx`` (nothing else with side effects)."""

    def __init__(self, contract: type[ContractT], apply: Callable[[Event[ContractT], Transaction], None]) -> None:
        self.contract = contract
        self.apply = apply


class AlreadyApplied(Conflict):
    """The inbox already holds this event id: a redelivery."""


def inbox_key(envelope: Envelope) -> dict[str, str]:
    return {"pk": tenant_pk(envelope.tenant_id), "sk": f"INBOX#{envelope.id}"}


class Consumer:
    """An SQS-triggered Lambda handler: ``handler = Consumer(service=..., table=..., effects=[...])``.

    ``table`` is a callable so that settings are read on the first message, not at import.
    """

    def __init__(
        self,
        *,
        service: str,
        table: Callable[[], str],
        effects: list[Effect[Any]],
    ) -> None:
        self.service = service
        self._table = table
        self._effects: Mapping[str, Effect[Any]] = {e.contract.TYPE: e for e in effects}

    def handle(self, envelope: Envelope) -> bool:
        """Apply one envelope; ``False`` when it was a duplicate (already applied)."""
        effect = self._effects.get(envelope.type)
        logger = observability.for_service(self.service).logger
        if effect is None:
            logger.warning("no effect for event type; ignored", extra={"event_type": envelope.type})
            return False
        payload: Contract = effect.contract.model_validate(envelope.payload)
        tx = Transaction(self._table())
        # The marker goes first so that, on a redelivery, its failed condition is the one reported.
        now = int(time.time())
        tx.put_new(
            {
                **inbox_key(envelope),
                "event_type": envelope.type,
                "processed_at": now,
                "expires_at": now + INBOX_TTL_SECONDS,
            },
            on_condition_failed=AlreadyApplied(envelope.id),
        )
        effect.apply(Event[Any](envelope=envelope, payload=payload), tx)
        try:
            tx.execute()
        except AlreadyApplied:
            logger.info("duplicate delivery; already applied", extra={"event_id": envelope.id})
            return False
        return True

    def _record(self, record: SQSRecord) -> None:
        message = json.loads(record.body)
        envelope = Envelope.model_validate(message["detail"])
        observability.bind(
            self.service,
            correlation_id=envelope.correlation_id,
            request_id=record.message_id,
            tenant_id=envelope.tenant_id,
        )
        self.handle(envelope)

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Report a wholly failed batch item by item too (same retry effect, one code path for Lambda and local).
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

        def record_handler(record: SQSRecord) -> None:  # Powertools requires the name ``record``
            self._record(record)

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)
