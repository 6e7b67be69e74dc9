"""Reporting's consumer of every Keel event (its rule matches every ``keel.*`` source, so events added
later are consumed with no change here): each event goes into the read models reads use, and into
the version a rebuild is writing, if one is."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.reporting import wiring
from keel.consumer import EnvelopeConsumer, Outcome
from keel.events import Envelope
from keel.observability import instrumented


def apply(envelope: Envelope) -> Outcome:
    from functions.reporting.handlers.events import fact_of  # noqa: PLC0415 - the contracts load on first use

    return wiring.apply(fact_of(envelope), wiring.live_versions().live)


consumer = EnvelopeConsumer(service="reporting-events", apply=apply)


@instrumented(consumer.service, "consumer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
