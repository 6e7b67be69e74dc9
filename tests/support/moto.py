"""Helpers for tests that run against moto in-process (``mock_aws``)."""

from __future__ import annotations

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
    provision.create_idempotency_table(boto3.client("dynamodb"), name)


def all_items(table: str) -> list[dict[str, Any]]:
    """Every item (a test-only Scan; the platform itself never scans)."""
    from keel.store import from_attributes

    return [from_attributes(i) for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]
