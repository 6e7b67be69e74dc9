"""Keeps projects' own read model of the tenant's members from identity's events (who may be
assigned a task), and unassigns a removed member's tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.projects import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.identity import MemberJoined, MemberRemoved
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def member_joined(event: Event[MemberJoined], tx: Transaction) -> None:
    at = datetime.fromisoformat(event.envelope.occurred_at)
    wiring.roster(tx).joined(event.envelope.tenant_id, event.payload.user_id, at=at)


def member_removed(event: Event[MemberRemoved], tx: Transaction) -> None:
    tenant_id, user_id = event.envelope.tenant_id, event.payload.user_id
    at = datetime.fromisoformat(event.envelope.occurred_at)
    # Each task is unassigned by its own conditional write (a member may hold more tasks than one
    # transaction takes): a redelivery, or a crash half-way, redoes only what is still assigned.
    wiring.tasks().unassign_member(tenant_id, user_id, removed_at=at)
    wiring.roster(tx).removed(tenant_id, user_id, at=at)


consumer = Consumer(
    service="projects-members",
    table=wiring.table_name,
    effects=[Effect(MemberJoined, member_joined), Effect(MemberRemoved, member_removed)],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
