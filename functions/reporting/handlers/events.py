"""The event as reporting reads it: a Keel envelope, whose payload is checked against its contract
when the kernel knows the type (every Keel context's), and read as it is otherwise."""

from __future__ import annotations

from functions.reporting.domain.facts import Fact, utc
from keel.contracts import billing, identity, notifications, projects  # noqa: F401 - registers the contracts reporting reads
from keel.events import REGISTRY, Envelope


def fact_of(envelope: Envelope) -> Fact:
    """``envelope`` as a ``Fact``; a payload its contract refuses is an error (retried, then dead-lettered)."""
    payload = envelope.payload
    if envelope.type in REGISTRY:
        payload = REGISTRY.get(envelope.type).model_validate(payload).model_dump(mode="json")
    return Fact(
        event_id=envelope.id,
        type=envelope.type,
        tenant_id=envelope.tenant_id,
        occurred_at=utc(envelope.occurred_at),
        correlation_id=envelope.correlation_id,
        payload=payload,
    )
