"""The rebuild's consumer: events EventBridge replays from the bus archive (``keel reports rebuild``)
go into the model version being rebuilt, and nowhere else; with no rebuild running, they are ignored."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.reporting import wiring
from keel.consumer import EnvelopeConsumer, Outcome
from keel.events import Envelope
from keel.observability import instrumented


def apply(envelope: Envelope) -> Outcome:
    from functions.reporting.handlers.events import fact_of  # noqa: PLC0415 - the contracts load on first use

    building = wiring.live_versions().building
    if building is None:
        return "ignored"
    return wiring.apply(fact_of(envelope), (building,))


consumer = EnvelopeConsumer(service="reporting-rebuild", apply=apply)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
