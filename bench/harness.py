"""Drives real handlers in-process on moto, the way the local gateway does, for the request counts."""

from __future__ import annotations

import copy
import importlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.topology import TOPOLOGY, Topology

ROOT = Path(__file__).resolve().parents[1]
_PROXY_SAMPLE = ROOT / "events" / "samples" / "aws" / "apiGatewayProxyEvent.json"


class Harness:
    """Calls the API handler that owns a path with an authorizer context of the bench's choosing."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.authorizer: dict[str, Any] = {}
        self._template = json.loads(_PROXY_SAMPLE.read_text())

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        context = self.topology.api_context_for(path)
        if context is None or context.api_handler is None:
            raise LookupError(f"no context serves {path}")
        event = copy.deepcopy(self._template)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        event.update(
            httpMethod=method,
            path=path,
            resource=path,
            headers=all_headers,
            multiValueHeaders={k: [v] for k, v in all_headers.items()},
            queryStringParameters=None,
            multiValueQueryStringParameters=None,
            body=None if body is None else json.dumps(body),
        )
        event["requestContext"].update(
            httpMethod=method, path=path, resourcePath=path, stage="$default", authorizer=dict(self.authorizer)
        )
        response = importlib.import_module(context.api_handler).handler(event, None)
        payload = json.loads(response["body"]) if response.get("body") else None
        return int(response["statusCode"]), payload

    def expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        got, payload = self.call(method, path, body)
        if got != status:
            raise AssertionError(f"{method} {path}: expected {status}, got {got}: {payload}")
        return payload


@contextmanager
def local_aws(topology: Topology = TOPOLOGY) -> Iterator[None]:
    """moto in-process, provisioned from the topology, with Keel's caches reset."""
    from moto import mock_aws

    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
        KEEL_PLATFORM_OPENAPI_FILE=str(ROOT / "docs" / "openapi.json"),
    )
    with mock_aws():
        from keel import aws, idempotency, settings

        aws.reset()
        settings.reset()
        idempotency.reset()
        provision(topology)
        yield


def provision(topology: Topology) -> None:
    """Tables for every context (the local runtime's provisioning, reused when it is importable)."""
    import boto3

    ddb = boto3.client("dynamodb")
    for context in topology.contexts:
        if not context.table:
            continue
        os.environ[f"{context.setting_prefix}TABLE"] = context.table_name
        ddb.create_table(
            TableName=context.table_name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    ddb.create_table(
        TableName=topology.idempotency_table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
