"""Helpers for tests that run against moto in-process (``mock_aws``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from infra.local import provision
from tests.support.staged import STAGED


def reset_keel_caches() -> None:
    from keel import reset_caches

    reset_caches()


def create_context_table(name: str) -> str:
    """A context table exactly as ``keel dev`` provisions it. Returns the stream ARN."""
    return provision.create_context_table(boto3.client("dynamodb"), name)


def create_idempotency_table(name: str = STAGED.idempotency_table) -> None:
    """The shared idempotency table, unless a fixture of another context made it already."""
    dynamodb = boto3.client("dynamodb")
    if name not in dynamodb.list_tables()["TableNames"]:
        provision.create_idempotency_table(dynamodb, name)


def all_items(table: str) -> list[dict[str, Any]]:
    """Every item (a test-only Scan; the platform itself never scans)."""
    from keel.store import from_attributes

    return [from_attributes(i) for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]


def create_api(stage: str) -> str:
    """A REST API on moto with the stage ``stage`` (API Gateway deploys a stage only with a method on
    it). Returns its id."""
    apigateway = boto3.client("apigateway")
    api_id = str(apigateway.create_rest_api(name="keel")["id"])
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def dynamodb_clients(*tenants: str) -> list[Any]:
    """The DynamoDB clients the kernel hands out to the code under test: the function's own, and each of
    ``tenants``' (a tenant's route or event acts with its own credentials, ``keel.isolation``). Hooks
    registered on them see every request those make."""
    from keel import aws, isolation

    clients = [aws.client("dynamodb")]
    for tenant in tenants:
        with isolation.acting_for(tenant):
            clients.append(aws.dynamodb())
    return clients


@contextmanager
def dynamodb_requests(*tenants: str) -> Iterator[Counter[str]]:
    """DynamoDB requests by operation while active, made by the function's own client or ``tenants``'."""
    count: Counter[str] = Counter()

    def before_call(model: Any, **_: Any) -> None:
        count[model.name] += 1

    clients = dynamodb_clients(*tenants)
    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", before_call, unique_id="test-request-count")
    try:
        yield count
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb.*", unique_id="test-request-count")
