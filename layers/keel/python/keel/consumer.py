"""The consumer helper: SQS batch -> envelope -> contract -> effect + inbox marker, one transaction.

Each message is an EventBridge event (as a rule delivers it to SQS) whose ``detail`` is a Keel
envelope. The effect of an event adds its writes to a ``Transaction`` on the consumer's own table;
the helper adds ``INBOX#<consumer>#<event id>`` with a must-not-exist condition to the same
transaction, so an event delivered twice has its effect once (for each consumer: two consumers of one
table that take the same event each apply it). Failures are reported per message
(``batchItemFailures``) so one bad message never holds back, or replays, the others.

Each event acts for its envelope's tenant (``keel.isolation``): the tables are reached with credentials
that can touch only that tenant's partitions and the global ones its context names.

Each event is handled in its envelope's correlation id and trace (bound for its logs, a Tracer
subsegment and the envelopes its effect writes) and logs one ``event consumed`` line: event type,
event id, attempt (SQS's receive count), outcome (``ok``, ``duplicate``, ``ignored`` or ``failed``)
and duration_ms.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from keel import isolation, observability, trace_context
from keel.errors import Conflict
from keel.events import Contract, ContractT, Envelope, Event
from keel.store import INBOX_TTL_SECONDS, Transaction, tenant_pk
from keel.trace_context import TraceContext

Outcome = Literal["ok", "duplicate", "ignored", "failed"]


class Effect(Generic[ContractT]):
    """What a consumer does for one event type: add writes to ``tx`` (nothing else with side effects)."""

    def __init__(self, contract: type[ContractT], apply: Callable[[Event[ContractT], Transaction], None]) -> None:
        self.contract = contract
        self.apply = apply


class AlreadyApplied(Conflict):
    """The inbox already holds this event id: a redelivery."""


def inbox_key(envelope: Envelope, consumer: str) -> dict[str, str]:
    """The marker that ``consumer`` (its service name) applied ``envelope``."""
    return {"pk": tenant_pk(envelope.tenant_id), "sk": f"INBOX#{consumer}#{envelope.id}"}


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
        """Apply one envelope; ``False`` when it was a duplicate (already applied) or has no effect here."""
        return self._for_tenant(envelope) == "ok"

    def _for_tenant(self, envelope: Envelope) -> Outcome:
        # An event acts for its tenant: the tables are reached with that tenant's credentials only.
        with isolation.acting_for(envelope.tenant_id):
            return self._apply(envelope)

    def _apply(self, envelope: Envelope) -> Outcome:
        effect = self._effects.get(envelope.type)
        if effect is None:
            return "ignored"
        payload: Contract = effect.contract.model_validate(envelope.payload)
        tx = Transaction(self._table())
        # The marker goes first so that, on a redelivery, its failed condition is the one reported.
        now = int(time.time())
        tx.put_new(
            {
                **inbox_key(envelope, self.service),
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
            return "duplicate"
        return "ok"

    def _record(self, record: SQSRecord) -> None:
        started = time.perf_counter()
        fields: dict[str, Any] = {"attempt": _attempt(record)}
        observability.bind(self.service, correlation_id=None, request_id=record.message_id)
        try:
            envelope = Envelope.model_validate(json.loads(record.body)["detail"])
            fields |= {"event_type": envelope.type, "event_id": envelope.id}
            observability.bind(
                self.service,
                correlation_id=envelope.correlation_id,
                request_id=record.message_id,
                tenant_id=envelope.tenant_id,
                trace=_continued(envelope),
            )
            trace = observability.trace()
            with observability.span(
                f"event {envelope.type}",
                event_type=envelope.type,
                tenant_id=envelope.tenant_id,
                correlation_id=envelope.correlation_id,
                trace_id=trace.trace_id if trace else None,
            ):
                outcome = self._for_tenant(envelope)
        except Exception:
            self._consumed(fields | {"outcome": "failed"}, started, level=logging.WARNING, exc_info=True)
            raise
        # An event routed here that no effect handles is a rule out of step with the code: say so.
        self._consumed(
            fields | {"outcome": outcome}, started, level=logging.WARNING if outcome == "ignored" else logging.INFO
        )

    def _consumed(
        self, fields: dict[str, Any], started: float, *, level: int = logging.INFO, exc_info: bool = False
    ) -> None:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        observability.report(self.service, "event consumed", fields, level=level, exc_info=exc_info)

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Handle an SQS batch; wrap it in the handler module: ``@instrumented(SERVICE, "consumer")``."""
        # Report a wholly failed batch item by item too (same retry effect, one code path for Lambda and local).
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

        def record_handler(record: SQSRecord) -> None:  # Powertools requires the name ``record``
            self._record(record)

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)


class EnvelopeConsumer(Consumer):
    """A consumer of every event type, known to the kernel or not: ``apply`` takes the envelope itself
    and keeps its own idempotency (a read model keyed by event id, an audit trail); its logs, traces and
    partial batch failures are every consumer's. ``apply`` answers ``ok``, ``duplicate`` or ``ignored``."""

    def __init__(self, *, service: str, apply: Callable[[Envelope], Outcome]) -> None:
        super().__init__(service=service, table=str, effects=[])
        self._apply_envelope = apply

    def _apply(self, envelope: Envelope) -> Outcome:
        return self._apply_envelope(envelope)


def _continued(envelope: Envelope) -> TraceContext | None:
    """The envelope's trace, continued by this consumer (a new span); ``None`` for an event written
    before envelopes carried one (the invocation's own trace then goes on)."""
    parent = trace_context.from_traceparent(envelope.traceparent)
    return parent.child() if parent else None


def _attempt(record: SQSRecord) -> int:
    """Which delivery of the message this is (SQS's ``ApproximateReceiveCount``; 1 when it is missing)."""
    count = str((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount") or "1")
    return int(count) if count.isdigit() else 1
