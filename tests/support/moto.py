"""Helpers for tests that run against moto in-process (``mock_aws``)."""

from __future__ import annotations

from typing import Any

import boto3

from infra.local import moto_apigateway, provision
from infra.topology import TOPOLOGY


def reset_keel_caches() -> None:
    from keel import reset_caches

    reset_caches()


def create_context_table(name: str) -> str:
    """A context table exactly as ``keel dev`` provisions it. Returns the stream ARN."""
    return provision.create_context_table(boto3.client("dynamodb"), name)


def create_idempotency_table(name: str = TOPOLOGY.idempotency_table) -> None:
    provision.create_idempotency_table(boto3.client("dynamodb"), name)


def all_items(table: str) -> list[dict[str, Any]]:
    """Every item (a test-only Scan; the platform itself never scans)."""
    from keel.store import from_attributes

    return [from_attributes(i) for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]


def create_api(stage: str) -> str:
    """The REST API whose authorizer cache identity flushes, its id in the parameter the cloud's API
    stack writes (as ``keel dev`` provisions it). Returns its id."""
    api_id = moto_apigateway.create_local_api(boto3.client("apigateway"), name="keel", stage=stage)
    boto3.client("ssm").put_parameter(Name=TOPOLOGY.api_id_parameter(stage), Value=api_id, Type="String")
    return api_id
