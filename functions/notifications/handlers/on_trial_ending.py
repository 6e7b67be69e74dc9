"""The email to owners and admins three days before a trial ends (billing.trial.ending.v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifications import wiring
from functions.notifications.adapters.consumer import SendingConsumer
from functions.notifications.domain.delivery import About
from keel.contracts.billing import TrialEnding
from keel.observability import instrumented


def trial_ending(about: About, event: TrialEnding) -> object:
    return wiring.notifier().trial_ending(about, event)


consumer = SendingConsumer(
    service="notifications-trial-ending", table=wiring.table_name, sends={TrialEnding: trial_ending}
)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
