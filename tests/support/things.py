"""A test-only context, "things", built on the kernel exactly as a real context would be.

It exists so the kernel's behaviour (routes, access, idempotency, versioned writes, outbox,
consumer, pagination) is tested through the same doors a context uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel import ids, observability, settings
from keel.consumer import Consumer, Effect
from keel.errors import NotFound
from keel.events import Contract, Envelope, Event, Registry, envelope
from keel.http import KeelResolver
from keel.idempotency import idempotent
from keel.observability import instrumented
from keel.store import Transaction, entity_sk, get_item, query_page, tenant_pk
from keel.tenancy import Access
from keel.trace_context import TraceContext

TEST_REGISTRY = Registry()


class ThingCreated(Contract):
    TYPE = "things.thing.created.v1"
    thing_id: str
    name: str


class ThingRenamed(Contract):
    TYPE = "things.thing.renamed.v1"
    thing_id: str
    name: str


class ThingForwarded(Contract):
    TYPE = "things.thing.forwarded.v1"
    thing_id: str


TEST_REGISTRY.register(ThingCreated)
TEST_REGISTRY.register(ThingRenamed)
TEST_REGISTRY.register(ThingForwarded)


class ThingsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEL_THINGS_", extra="ignore")
    table: str


def table() -> str:
    return settings.load(ThingsSettings).table


class NewThing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)


class Thing(BaseModel):
    id: str
    name: str
    version: int


class ThingPage(BaseModel):
    items: list[Thing]
    cursor: str | None


app = KeelResolver(service="things")


def _thing(item: dict[str, Any]) -> Thing:
    return Thing(id=item["id"], name=item["name"], version=item["version"])


@app.post("/v1/things", access=Access.ADMIN, status_code=201)
@idempotent(app)
def create_thing(body: NewThing) -> Thing:
    tenant = app.tenant()
    thing_id = ids.new_id("thg")
    tx = Transaction(table())
    item = {"pk": tenant_pk(tenant.tenant_id), "sk": entity_sk("THING", thing_id), "id": thing_id, "name": body.name}
    tx.put_versioned(item, expected_version=None)
    tx.publish(
        envelope(ThingCreated(thing_id=thing_id, name=body.name), tenant_id=tenant.tenant_id, aggregate_id=thing_id)
    )
    tx.execute()
    return Thing(id=thing_id, name=body.name, version=1)


@app.get("/v1/things", access=Access.MEMBER)
def list_things(limit: int = 20, cursor: str | None = None) -> ThingPage:
    tenant = app.tenant()
    page = query_page(table(), tenant_pk(tenant.tenant_id), sk_prefix=entity_sk("THING"), limit=limit, cursor=cursor)
    return ThingPage(items=[_thing(i) for i in page.items], cursor=page.cursor)


@app.get("/v1/things/<thing_id>", access=Access.MEMBER)
def get_thing(thing_id: str) -> Thing:
    tenant = app.tenant()
    item = get_item(table(), tenant_pk(tenant.tenant_id), entity_sk("THING", thing_id))
    if item is None:
        raise NotFound("no such thing")
    return _thing(item)


@app.patch("/v1/things/<thing_id>", access=Access.ADMIN)
def rename_thing(thing_id: str, body: Rename) -> Thing:
    tenant = app.tenant()
    item = {"pk": tenant_pk(tenant.tenant_id), "sk": entity_sk("THING", thing_id), "id": thing_id, "name": body.name}
    tx = Transaction(table())
    tx.put_versioned(item, expected_version=body.version)
    tx.publish(
        envelope(ThingRenamed(thing_id=thing_id, name=body.name), tenant_id=tenant.tenant_id, aggregate_id=thing_id)
    )
    tx.execute()
    return Thing(id=thing_id, name=body.name, version=body.version + 1)


@app.get("/v1/boom", access=Access.PUBLIC)
def boom() -> Response[str]:
    raise RuntimeError("secret internals: password=hunter2")


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# -- a consumer: counts things per tenant, one increment per event -------------------------------------


class Flaky:
    """Makes the consumer fail for chosen names (a consumer that fails, then recovers)."""

    failing: set[str] = set()


def count_thing(event: Event[ThingCreated], tx: Transaction) -> None:
    if event.payload.name in Flaky.failing:
        raise RuntimeError(f"simulated failure for {event.payload.name}")
    tx.update(
        {"pk": tenant_pk(event.envelope.tenant_id), "sk": "STATS#things"},
        "ADD created :one SET last_thing = :id",
        values={":one": 1, ":id": event.payload.thing_id},
    )


consumer = Consumer(service="things-stats", table=table, effects=[Effect(ThingCreated, count_thing)])


@instrumented(consumer.service, "consumer")
def consumer_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)


# -- a chain: a consumer that publishes (first hop), and one that records what reaches it (second hop) --


def forward_thing(event: Event[ThingCreated], tx: Transaction) -> None:
    forwarded = ThingForwarded(thing_id=event.payload.thing_id)
    tx.publish(envelope(forwarded, tenant_id=event.envelope.tenant_id, aggregate_id=event.payload.thing_id))


forwarder = Consumer(service="things-forward", table=table, effects=[Effect(ThingCreated, forward_thing)])


@instrumented(forwarder.service, "consumer")
def forward_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return forwarder(event, context)


@dataclass(frozen=True)
class Witnessed:
    """An envelope as the second hop received it, and the correlation id and trace it was handled in."""

    envelope: Envelope
    correlation_id: str | None
    trace: TraceContext | None


WITNESSED: list[Witnessed] = []


def witness_thing(event: Event[ThingForwarded], tx: Transaction) -> None:
    WITNESSED.append(Witnessed(event.envelope, observability.correlation_id(), observability.trace()))


witness = Consumer(service="things-witness", table=table, effects=[Effect(ThingForwarded, witness_thing)])


@instrumented(witness.service, "consumer")
def witness_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return witness(event, context)


# -- bugs on purpose: code that takes a tenant from where it must not (tests/integration/test_tenant_isolation.py) --


@app.get("/v1/leaky/<tenant_id>/things/<thing_id>", access=Access.MEMBER)
def leaky_get_thing(tenant_id: str, thing_id: str) -> Thing:
    """A repository bug: the thing is looked up under a tenant from the path, not the caller's."""
    item = get_item(table(), tenant_pk(tenant_id), entity_sk("THING", thing_id))
    if item is None:
        raise NotFound("no such thing")
    return _thing(item)


def count_in_named_tenant(event: Event[ThingCreated], tx: Transaction) -> None:
    """A consumer bug: it counts under the tenant the thing's name says, not the event's."""
    tx.update({"pk": tenant_pk(event.payload.name), "sk": "STATS#things"}, "ADD created :one", values={":one": 1})


leaky = Consumer(service="things-leaky", table=table, effects=[Effect(ThingCreated, count_in_named_tenant)])
