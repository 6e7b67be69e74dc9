"""The outbox relay: a context table's stream -> ``PutEvents`` on the bus.

Outbox items (``sk = OUTBOX#<event id>``) are written in the same transaction as the state change
they describe; this handler publishes them in batches of 10 (the PutEvents limit). Entries that
EventBridge rejects are retried with back-off; any still failing are reported as a batch item
failure at the first failed record, so Lambda retries from there (bisecting, then the on-failure
destination). Re-publishing is safe: consumers deduplicate on the envelope id.

Each entry carries its envelope's trace in X-Ray's form (``TraceHeader``), so that AWS links the
segments of what it causes; the envelope itself (with its W3C ``traceparent``) goes on unchanged.
Each published event is one ``event published`` log line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from keel import aws, observability, settings, trace_context
from keel.events import Envelope
from keel.store import OUTBOX_PREFIX, from_attributes

SERVICE = "outbox-relay"
PUT_EVENTS_BATCH = 10
ATTEMPTS = 4
_BACKOFF_SECONDS = (0.05, 0.2, 0.8)


@dataclass(frozen=True)
class Pending:
    sequence_number: str
    envelope: Envelope

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The ``PutEvents`` entry: the envelope as ``Detail``, its trace as ``TraceHeader`` (X-Ray's form)."""
        entry: dict[str, Any] = {
            "Source": self.envelope.source,
            "DetailType": self.envelope.type,
            "Detail": self.envelope.model_dump_json(),
            "EventBusName": bus_name,
            "Resources": [],
        }
        trace = trace_context.from_traceparent(self.envelope.traceparent)
        if trace is not None:
            entry["TraceHeader"] = trace.xray_header
        return entry


def outbox_records(event: dict[str, Any]) -> list[Pending]:
    """The outbox inserts in a stream batch, in stream order."""
    pending = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        image = record.get("dynamodb", {}).get("NewImage") or {}
        item = from_attributes(image)
        if not str(item.get("sk", "")).startswith(OUTBOX_PREFIX):
            continue
        pending.append(
            Pending(
                sequence_number=str(record["dynamodb"]["SequenceNumber"]),
                envelope=Envelope.model_validate_json(item["event"]),
            )
        )
    return pending


def publish(pending: list[Pending], bus_name: str, sleep: Any = time.sleep) -> list[Pending]:
    """Put every pending event on the bus; returns those still failing after every attempt."""
    client = aws.events()
    failed: list[Pending] = []
    for start in range(0, len(pending), PUT_EVENTS_BATCH):
        batch = pending[start : start + PUT_EVENTS_BATCH]
        for attempt in range(ATTEMPTS):
            response = client.put_events(Entries=[p.entry(bus_name) for p in batch])  # type: ignore[misc]
            if not response.get("FailedEntryCount"):
                batch = []
                break
            # Entries come back in request order; a failed one carries an ErrorCode.
            batch = [p for p, result in zip(batch, response["Entries"], strict=True) if result.get("ErrorCode")]
            if attempt < len(_BACKOFF_SECONDS):
                sleep(_BACKOFF_SECONDS[attempt])
        failed.extend(batch)
    return failed


def _published(pending: list[Pending], failed: list[Pending]) -> None:
    for done in (p for p in pending if p not in failed):
        envelope = done.envelope
        observability.bind(
            SERVICE,
            correlation_id=envelope.correlation_id,
            tenant_id=envelope.tenant_id,
            trace=trace_context.from_traceparent(envelope.traceparent),
        )
        observability.report(SERVICE, "event published", {"event_type": envelope.type, "event_id": envelope.id})
    observability.bind(SERVICE, correlation_id=None)


@observability.instrumented(SERVICE, "relay")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    obs = observability.for_service(SERVICE)
    pending = outbox_records(event)
    failed = publish(pending, settings.platform().bus_name) if pending else []
    _published(pending, failed)
    obs.metrics.add_metric(name="OutboxPublished", unit=MetricUnit.Count, value=len(pending) - len(failed))
    if not failed:
        obs.metrics.flush_metrics()
        return {"batchItemFailures": []}
    obs.metrics.add_metric(name="OutboxPublishFailed", unit=MetricUnit.Count, value=len(failed))
    obs.metrics.flush_metrics()
    first = min(failed, key=pending.index)
    obs.logger.error(
        "events not published; Lambda will retry from the first failure",
        extra={"failed": len(failed), "first_event_id": first.envelope.id},
    )
    return {"batchItemFailures": [{"itemIdentifier": first.sequence_number}]}
