"""Helpers for tests that run against moto in-process (``mock_aws``)."""

from __future__ import annotations

from typing import Any

import boto3


def reset_keel_caches() -> None:
    from keel import reset_caches

    reset_caches()


def create_context_table(name: str) -> str:
    """A context table as Keel deploys it: pk/sk strings, on-demand, NEW_IMAGE stream. Returns the stream ARN."""
    ddb = boto3.client("dynamodb")
    response = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(response["TableDescription"]["LatestStreamArn"])


def create_idempotency_table(name: str = "keel-idempotency") -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def all_items(table: str) -> list[dict[str, Any]]:
    """Every item (a test-only Scan; the platform itself never scans)."""
    from keel.store import from_attributes

    return [from_attributes(i) for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]
