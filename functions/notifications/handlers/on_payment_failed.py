"""The email (and push) to owners and admins when a payment fails, with the link to pay (billing.payment.failed.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.billing import PaymentFailed
from keel.observability import instrumented


def payment_failed(about: About, event: PaymentFailed) -> object:
    return wiring.notifier().payment_failed(about, event)


consumer = SendingConsumer(
    service="notifications-payment-failed", table=wiring.table_name, sends={PaymentFailed: payment_failed}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
