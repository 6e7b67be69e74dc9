"""Keeps projects' copy of the tenant's plan from ``billing.entitlements.changed.v1`` (operators'
overrides included): the limits and the features this context enforces, newest ``effective_at`` first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.projects import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.billing import EntitlementsChanged
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def copy_plan(event: Event[EntitlementsChanged], tx: Transaction) -> None:
    from functions.projects.domain.plan import LimitName, Offer, Plan  # noqa: PLC0415 - loaded on first event

    changed = event.payload
    plan = Plan(
        name=changed.plan,
        limits={LimitName.PROJECTS: changed.project_limit, LimitName.TASKS: changed.task_limit},
        features=frozenset(name for name, on in changed.features.items() if on),
        effective_at=changed.effective_at,
        catalogue=tuple(
            Offer(
                plan=grant.plan,
                limits={LimitName.PROJECTS: grant.project_limit, LimitName.TASKS: grant.task_limit},
                features=frozenset(grant.features),
            )
            for grant in changed.plans
        ),
    )
    wiring.entitlements(tx).apply(event.envelope.tenant_id, plan)


consumer = Consumer(
    service="projects-entitlements",
    table=wiring.table_name,
    effects=[Effect(EntitlementsChanged, copy_plan)],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
