"""Deletes a deleted project's tasks (``projects.project.deleted.v1``, the context's own event): the
project went in one transaction; its tasks may be more than one transaction holds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.projects import wiring
from keel.consumer import Consumer, Effect
from keel.contracts.projects import ProjectDeleted
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction


def purge_tasks(event: Event[ProjectDeleted], tx: Transaction) -> None:
    # Deleting what is already gone changes nothing, so a redelivery is harmless.
    wiring.projects().purge(event.envelope.tenant_id, event.payload.project_id)


consumer = Consumer(
    service="projects-purge",
    table=wiring.table_name,
    effects=[Effect(ProjectDeleted, purge_tasks)],
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
