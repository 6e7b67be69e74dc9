"""The invitation email, carrying the accept link with its token (identity.user.invited.v2)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.identity import UserInvited
from keel.observability import instrumented


def invited(about: About, event: UserInvited) -> object:
    return wiring.notifier().invited(about, event)


consumer = SendingConsumer(service="notifications-invitations", table=wiring.table_name, sends={UserInvited: invited})


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
