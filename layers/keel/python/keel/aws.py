"""boto3 clients, made on first use and reused for the life of the container.

boto3 honours ``AWS_ENDPOINT_URL`` by itself, which is how the local runtime points every
client at its moto server without handler code knowing.

``dynamodb()`` is the one door to the context tables: while a request or an event acts for a tenant
(``keel.isolation``) and the function is given a tenant-access role (``KEEL_TENANT_ROLE_ARN``), it
answers a client whose credentials can touch only that tenant's partitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from keel import isolation, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    """The container's client of ``service``, acting with the function's own role."""
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    """The DynamoDB client for the current call: the tenant's (``keel.isolation``) while one is current
    and the function has a tenant-access role, the function's own otherwise."""
    tenant_id = isolation.current_tenant()
    scoped = _tenant_clients() if tenant_id is not None else None
    if tenant_id is None or scoped is None:
        return client("dynamodb")  # type: ignore[no-any-return]
    # A TenantClient answers every operation of the DynamoDB client it wraps.
    return cast("DynamoDBClient", scoped.for_tenant(tenant_id))


@cache
def _session() -> boto3.session.Session:
    # One session for the clients made with explicit credentials: it loads each service model once.
    return boto3.session.Session()


def dynamodb_with(credentials: Mapping[str, Any]) -> Any:
    """A DynamoDB client acting with ``credentials`` (an STS answer's ``Credentials``)."""
    return _session().client(
        "dynamodb",
        config=_CONFIG,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@cache
def _tenant_clients() -> isolation.TenantClients | None:
    platform = settings.platform()
    if not platform.tenant_role_arn:
        return None
    return isolation.TenantClients(
        role_arn=platform.tenant_role_arn,
        keys=isolation.parse_keys(platform.tenant_keys),
        sts=lambda: client("sts"),
        client=tenants_dynamodb,
    )


#: The shared tenants' client's own credentials: every request it sends is signed with its tenant's instead
#: (``keel.isolation``); these would be refused by AWS, so a request that escaped that is never the function's.
_NO_CREDENTIALS = {"AccessKeyId": "keel-tenants-only", "SecretAccessKey": "none", "SessionToken": "none"}


def tenants_dynamodb() -> Any:
    """A new DynamoDB client for ``isolation.TenantClients`` to share among tenants: it signs nothing with
    credentials of its own."""
    return dynamodb_with(_NO_CREDENTIALS)


def events() -> EventBridgeClient:
    return client("events")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    return client("sqs")  # type: ignore[no-any-return]


def reset() -> None:
    """Drop cached clients (tests start a fresh moto per test; clients must be made inside it)."""
    client.cache_clear()
    _session.cache_clear()
    _tenant_clients.cache_clear()
