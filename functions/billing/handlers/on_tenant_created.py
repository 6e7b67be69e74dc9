"""Provisions the free plan for a new tenant (``identity.tenant.created.v1``): no Stripe call; the
account, its history and its two events go in the consumer's transaction with the inbox marker."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.identity import TenantCreated
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def provision_free_tier(event: Event[TenantCreated], tx: Transaction) -> None:
    wiring.provision_free_tier(event.envelope.tenant_id, event.envelope.occurred_at, tx)


consumer = Consumer(
    service="billing-tenants",
    table=wiring.table_name,
    effects=[Effect(TenantCreated, provision_free_tier)],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
