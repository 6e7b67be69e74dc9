"""A consumer that emails through SES for each forwarded thing, so a trace shows the emails a request caused."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from keel import aws
from keel.consumer import Consumer, Effect
from keel.events import Event
from keel.observability import instrumented
from keel.store import Transaction
from tests.support import things

SENDER = "things@keel.local"


def recipient(thing_id: str) -> str:
    return f"owner+{thing_id.lower()}@example.com"


def mail_thing(event: Event[things.ThingForwarded], tx: Transaction) -> None:
    thing_id = event.payload.thing_id
    aws.client("ses").send_email(
        Source=SENDER,
        Destination={"ToAddresses": [recipient(thing_id)]},
        Message={"Subject": {"Data": f"Your thing {thing_id}"}, "Body": {"Text": {"Data": "It was forwarded."}}},
    )


mailer = Consumer(service="things-mail", table=things.table, effects=[Effect(things.ThingForwarded, mail_thing)])


@instrumented(mailer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return mailer(event, context)
