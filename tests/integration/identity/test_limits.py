"""Each limit is defined once in the domain: the DynamoDB condition the adapter renders from it holds
on a stored item exactly when the domain's own check holds on the same values (hypothesis)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.identity.adapters.store import limit_condition
from functions.identity.domain.api_key import ROOM_FOR_API_KEY
from functions.identity.domain.limits import Above, Below, Limit
from functions.identity.domain.tenant import ANOTHER_OWNER, SEAT_FOR_INVITATION, SEAT_FOR_MEMBER
from keel.store import to_attributes
from tests.support.moto import create_context_table

LIMITS: list[Limit] = [
    SEAT_FOR_INVITATION,
    SEAT_FOR_MEMBER,
    ANOTHER_OWNER,
    ROOM_FOR_API_KEY,
    Below("created", limit="override", default=10),
    Below("created", limit="override", default=0),
    Below("created", default=2),
    Below("created"),
    Above("created", -1),
]
ATTRIBUTES = ("taken", "members", "owners", "api_keys", "created", "seat_limit", "override")


@pytest.fixture
def table(aws: None) -> str:
    create_context_table("keel-limits")
    return "keel-limits"


def condition_holds(table: str, limit: Limit, stored: dict[str, int]) -> bool:
    client = boto3.client("dynamodb")
    key = {"pk": "LEDGER", "sk": "LEDGER"}
    client.put_item(TableName=table, Item=to_attributes(key | stored))
    rendered = limit_condition(limit)
    if rendered is None:
        return True
    try:
        client.update_item(
            TableName=table,
            Key=to_attributes(key),
            UpdateExpression="SET touched = :touched",
            ConditionExpression=rendered.expression,
            ExpressionAttributeNames=dict(rendered.names),
            ExpressionAttributeValues=to_attributes({**rendered.values, ":touched": 1}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.sampled_from(LIMITS),
    stored=st.dictionaries(st.sampled_from(ATTRIBUTES), st.integers(min_value=0, max_value=12)),
)
def test_the_rendered_condition_agrees_with_the_domain(table: str, limit: Limit, stored: dict[str, int]) -> None:
    assert condition_holds(table, limit, stored) == limit.holds(stored)


def test_an_override_lifts_a_default_limit(table: str) -> None:
    capped = Below("created", limit="override", default=10)
    assert not condition_holds(table, capped, {"created": 10})
    assert condition_holds(table, capped, {"created": 10, "override": 11})
    assert not condition_holds(table, capped, {"override": 0})
