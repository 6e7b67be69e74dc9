"""Notifications' own read model of each tenant's name and members (emails and roles), fed by
identity's events: it never reads identity's table. Each event's writes and its inbox marker are one
transaction, so a redelivered event changes nothing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.identity import MemberJoined, MemberRemoved, MemberRoleChanged, TenantCreated
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def tenant_created(event: Event[TenantCreated], tx: Transaction) -> None:
    wiring.members().tenant_created(tx, event.envelope.tenant_id, event.payload.name)


def member_joined(event: Event[MemberJoined], tx: Transaction) -> None:
    joined = event.payload
    wiring.members().member_joined(tx, event.envelope.tenant_id, joined.user_id, email=joined.email, role=joined.role)


def role_changed(event: Event[MemberRoleChanged], tx: Transaction) -> None:
    wiring.members().role_changed(tx, event.envelope.tenant_id, event.payload.user_id, event.payload.role)


def member_removed(event: Event[MemberRemoved], tx: Transaction) -> None:
    wiring.members().member_removed(tx, event.envelope.tenant_id, event.payload.user_id)


consumer = Consumer(
    service="notifications-members",
    table=wiring.table_name,
    effects=[
        Effect(TenantCreated, tenant_created),
        Effect(MemberJoined, member_joined),
        Effect(MemberRoleChanged, role_changed),
        Effect(MemberRemoved, member_removed),
    ],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
