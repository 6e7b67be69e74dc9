"""The email to owners and admins when money went back to the card (billing.refund.issued.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.billing import RefundIssued
from keel.observability import instrumented


def refund_issued(about: About, event: RefundIssued) -> object:
    return wiring.notifier().refund_issued(about, event)


consumer = SendingConsumer(
    service="notifications-refund-issued", table=wiring.table_name, sends={RefundIssued: refund_issued}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
