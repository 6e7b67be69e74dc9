"""AWS's sample events parse with Powertools' own models; every subscription names a known contract."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    DynamoDBStreamModel,
    EventBridgeModel,
    SqsModel,
)

from infra.topology import TOPOLOGY
from keel.contracts import load_all
from tests.support.events import sample


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("apiGatewayProxyEvent", APIGatewayProxyEventModel),
        ("sqsEvent", SqsModel),
        ("eventBridgeEvent", EventBridgeModel),
        ("dynamoStreamEvent", DynamoDBStreamModel),
    ],
)
def test_the_vendored_aws_samples_parse_with_powertools_models(name: str, model: type) -> None:
    model.model_validate(sample(name))


def test_every_subscription_names_a_known_contract() -> None:
    registry = load_all()
    unknown = [
        f"{sub.name}: {event_type}"
        for _, sub in TOPOLOGY.subscriptions
        if sub.aws_source is None  # an AWS service's detail-types are AWS's, not Keel contracts
        for event_type in sub.event_types
        if event_type not in registry and event_type != "*"  # "*": every Keel event, known now or later
    ]
    assert unknown == []


def test_every_contract_type_names_its_producer_and_version() -> None:
    for contract in load_all().all():
        producer, *_, version = contract.TYPE.split(".")
        assert producer in {ctx.name for ctx in TOPOLOGY.contexts} | {"billing", "notifications", "projects"}
        assert version.startswith("v")
        assert version[1:].isdigit()
