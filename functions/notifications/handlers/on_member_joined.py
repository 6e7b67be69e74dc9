"""An in-app notice (and a push) to the owners and admins when someone joins (identity.member.joined.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.identity import MemberJoined
from keel.observability import instrumented


def joined(about: About, event: MemberJoined) -> object:
    return wiring.notifier().joined(about, event)


consumer = SendingConsumer(service="notifications-joined", table=wiring.table_name, sends={MemberJoined: joined})


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
