"""The email to owners and admins when a paid plan ends (billing.subscription.canceled.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.billing import SubscriptionCanceled
from keel.observability import instrumented


def canceled(about: About, event: SubscriptionCanceled) -> object:
    return wiring.notifier().canceled(about, event)


consumer = SendingConsumer(
    service="notifications-subscription-canceled", table=wiring.table_name, sends={SubscriptionCanceled: canceled}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
