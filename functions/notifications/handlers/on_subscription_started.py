"""The welcome email to a new tenant's owner when its free tier starts: the last step of the sign-up
saga (identity.tenant.created.v1 -> billing provisions the free tier -> billing.subscription.started.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.billing import SubscriptionStarted
from keel.observability import instrumented


def welcome(about: About, event: SubscriptionStarted) -> object:
    return wiring.notifier().welcome(about, event)


consumer = SendingConsumer(
    service="notifications-welcome", table=wiring.table_name, sends={SubscriptionStarted: welcome}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
