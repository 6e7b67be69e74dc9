"""``Pacer`` on DynamoDB: a counter per provider per second, shared by every concurrent consumer.

Why a DynamoDB counter and not SQS delivery delays: the limit is the provider's (SES's sends per
second), and it holds across every consumer, every queue and every Lambda instance at once only if
they all count in one place. One conditional ``UpdateItem`` (``ADD n 1`` if ``n < rate``) takes a send
from this second's allowance atomically; a refused take is retried through the queue a second later.
A delay on the message could only spread one queue's sends, not the sum of several. The item expires
by TTL a minute later. It is a fixed window per second: at a second's edge two windows' sends may
fall within one rolling second, which SES's own rate accounting tolerates (it is a per-second average).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from keel import aws
from keel.store import to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PACE_PREFIX = "PACE#"
COUNTER_TTL_SECONDS = 60


class DynamoPacer:
    def __init__(self, table: str, rates: Mapping[str, int], client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._rates = dict(rates)
        self._client = client

    def take(self, provider: str, *, at: datetime) -> bool:
        rate = self._rates[provider]
        second = int(at.timestamp())
        try:
            (self._client or aws.dynamodb()).update_item(
                TableName=self._table,
                Key=to_attributes({"pk": f"{PACE_PREFIX}{provider}", "sk": f"SECOND#{second}"}),
                UpdateExpression="ADD sends :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(sends) OR sends < :rate",
                ExpressionAttributeValues=to_attributes(
                    {":one": 1, ":rate": rate, ":expires": second + COUNTER_TTL_SECONDS}
                ),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
