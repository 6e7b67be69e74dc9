"""The security email to the owners when operators suspend the tenant (identity.tenant.suspended.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.identity import TenantSuspended
from keel.observability import instrumented


def suspended(about: About, event: TenantSuspended) -> object:
    return wiring.notifier().suspended(about, event)


consumer = SendingConsumer(
    service="notifications-tenant-suspended", table=wiring.table_name, sends={TenantSuspended: suspended}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
