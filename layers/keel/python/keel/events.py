"""The event envelope, the contract base class and the registry of contracts.

An event on the bus is an EventBridge event whose ``detail`` is an ``Envelope``: ``source`` is
``keel.<context>`` and ``detail-type`` is the envelope's ``type``. The payload is a ``Contract``:
a pydantic model defined once in ``keel.contracts.<producer>`` and registered by its type name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from keel import ids, observability
from keel.clock import Clock, SystemClock, iso
from keel.trace_context import TRACEPARENT_PATTERN

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$"


def producer_of(event_type: str) -> str:
    """The context that publishes ``event_type``: its first word (``billing`` for ``billing.refund.issued.v1``)."""
    return event_type.split(".", 1)[0]


def event_source(producer: str) -> str:
    """The EventBridge ``source`` of every event ``producer`` (a context) publishes: ``keel.<context>``."""
    return f"keel.{producer}"


class Contract(BaseModel):
    """The payload of one event type. Subclasses set ``TYPE`` (``<context>.<entity>.<fact>.v<N>``)."""

    # defer_build: a consumer builds only the contracts it parses, not every registered one at import.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    TYPE: ClassVar[str]

    @classmethod
    def producer(cls) -> str:
        return producer_of(cls.TYPE)

    @classmethod
    def source(cls) -> str:
        return event_source(cls.producer())


ContractT = TypeVar("ContractT", bound=Contract)


class Envelope(BaseModel):
    """What every consumer receives, whatever the producer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^evt_[0-9A-HJKMNP-TV-Z]{26}$")
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    tenant_id: str = Field(min_length=1)
    aggregate_id: str = Field(min_length=1)
    occurred_at: str
    correlation_id: str
    payload: dict[str, Any]
    traceparent: str | None = Field(
        default=None,
        pattern=TRACEPARENT_PATTERN,
        description="The trace of the work that wrote the event (W3C Trace Context): the relay and every "
        "consumer continue it. Optional: events written before envelopes carried it have none.",
    )

    @property
    def source(self) -> str:
        return event_source(producer_of(self.type))


class Event(BaseModel, Generic[ContractT]):
    """An envelope whose payload has been parsed into its contract."""

    model_config = ConfigDict(frozen=True)

    envelope: Envelope
    payload: ContractT


def envelope(
    contract: Contract,
    *,
    tenant_id: str,
    aggregate_id: str,
    clock: Clock | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """Wrap ``contract`` for publishing; the correlation id and the trace are those of the work in
    progress (the request, or the event a consumer is handling)."""
    now: datetime = (clock or SystemClock()).now()
    event_id = ids.new_id("evt", now)
    trace = observability.trace()
    return Envelope(
        id=event_id,
        type=type(contract).TYPE,
        tenant_id=tenant_id,
        aggregate_id=aggregate_id,
        occurred_at=iso(now),
        correlation_id=correlation_id or observability.correlation_id() or event_id,
        payload=contract.model_dump(mode="json"),
        traceparent=trace.traceparent if trace else None,
    )


class UnknownEventType(LookupError):
    pass


class Registry:
    """Contracts by type name; one instance, ``REGISTRY``, filled by ``keel.contracts``."""

    def __init__(self) -> None:
        self._by_type: dict[str, type[Contract]] = {}

    def register(self, contract: type[ContractT]) -> type[ContractT]:
        type_name = contract.TYPE
        existing = self._by_type.get(type_name)
        if existing is not None and existing is not contract:
            raise ValueError(f"event type {type_name} is already defined by {existing.__qualname__}")
        self._by_type[type_name] = contract
        return contract

    def unregister(self, contract: type[Contract]) -> None:
        self._by_type.pop(contract.TYPE, None)

    def get(self, type_name: str) -> type[Contract]:
        try:
            return self._by_type[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._by_type

    def all(self) -> list[type[Contract]]:
        return [self._by_type[name] for name in sorted(self._by_type)]

    def parse(self, envelope: Envelope) -> Event[Contract]:
        contract = self.get(envelope.type)
        return Event[Contract](envelope=envelope, payload=contract.model_validate(envelope.payload))


REGISTRY = Registry()


def contract(cls: type[ContractT]) -> type[ContractT]:
    """Class decorator: register an event contract."""
    return REGISTRY.register(cls)
