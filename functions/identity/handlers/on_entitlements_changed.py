"""Keeps identity's copy of each tenant's plan and seat limit from ``billing.entitlements.changed.v1``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.identity import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.billing import EntitlementsChanged
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def copy_entitlements(event: Event[EntitlementsChanged], tx: Transaction) -> None:
    wiring.entitlements(tx).apply(event.envelope.tenant_id, event.payload)


consumer = Consumer(
    service="identity-entitlements",
    table=wiring.table_name,
    effects=[Effect(EntitlementsChanged, copy_entitlements)],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
