"""Tenant isolation enforced by IAM, not only by code.

While a request or an event acts for one tenant (``acting_for``), ``keel.aws.dynamodb()`` answers a
client whose credentials were assumed from the context's tenant-access role with the tenant as the
session tag ``tenant_id``. That role may touch only items whose partition key matches its
``dynamodb:LeadingKeys`` patterns: the tenant's own partitions (``TENANT#<tenant>`` and
``TENANT#<tenant>#...``) and the few global partitions its context's transactions need. A handler
bug that builds another tenant's key is then refused by DynamoDB (``AccessDeniedException``).

The patterns are given to the functions as ``KEEL_TENANT_KEYS`` (table -> patterns, with
``TENANT_VARIABLE`` where the tenant goes), the very list the cloud's policy is built from, and the
scoped client checks each request against them before it is sent: the same refusal where IAM does not
evaluate policies (moto, the local runtime), and a second wall in the cloud.

Credentials are cached per tenant per container (``TenantClients``): one ``AssumeRole`` for a tenant's
first request in a container, none until shortly before they expire. Every tenant's requests go through
one botocore client, each signed with its tenant's credentials: a client per tenant would cost a
container a quarter of a megabyte or more per tenant it keeps.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from keel.clock import Clock, SystemClock

#: The session tag that carries the tenant, and the IAM policy variable that reads it back.
TENANT_TAG = "tenant_id"
TENANT_VARIABLE = "${aws:PrincipalTag/" + TENANT_TAG + "}"
#: Every context table's partition key attribute (the one ``dynamodb:LeadingKeys`` reads).
PARTITION_KEY = "pk"
#: How many tenants' credentials one container keeps (least recently used go first).
CACHE_SIZE = 256
#: Credentials are replaced this long before they expire, so that none expires during a request.
REFRESH_BEFORE = timedelta(minutes=5)
#: An assumed role's credentials last one hour: the most a role chained from Lambda's may have.
SESSION_SECONDS = 3600

_tenant: ContextVar[str | None] = ContextVar("keel_tenant", default=None)


def current_tenant() -> str | None:
    """The tenant the current request or event acts for; ``None`` outside one (jobs, migrations,
    public, tenant-less and operator routes), where a function acts with its own role."""
    return _tenant.get()


@contextmanager
def acting_for(tenant_id: str | None) -> Iterator[None]:
    """Act for ``tenant_id`` (``None``: for no tenant) until the block ends."""
    token = _tenant.set(tenant_id or None)
    try:
        yield
    finally:
        _tenant.reset(token)


# -- the policy's condition, evaluated ------------------------------------------------------------


@lru_cache(maxsize=4096)
def _pattern(pattern: str, tenant_id: str) -> re.Pattern[str]:
    # As IAM's StringLike: ``*`` any run of characters, ``?`` one; the tenant is a literal, never a wildcard.
    literal = [re.escape(part).replace(r"\*", ".*").replace(r"\?", ".") for part in pattern.split(TENANT_VARIABLE)]
    return re.compile(re.escape(tenant_id).join(literal), re.DOTALL)


def allows(patterns: Sequence[str], tenant_id: str, partition: str) -> bool:
    """Whether ``partition`` matches one of ``patterns`` (IAM ``StringLike``) for ``tenant_id``."""
    return any(_pattern(p, tenant_id).fullmatch(partition) for p in patterns)


def _partition(key: Mapping[str, Any] | None) -> str | None:
    value = (key or {}).get(PARTITION_KEY) or {}
    found = value.get("S") if isinstance(value, Mapping) else None
    return found if isinstance(found, str) else None


def _queried_partition(params: Mapping[str, Any]) -> str | None:
    names = params.get("ExpressionAttributeNames") or {}
    for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", str(params.get("KeyConditionExpression", ""))):
        if names.get(name, name) == PARTITION_KEY:
            return _partition({PARTITION_KEY: (params.get("ExpressionAttributeValues") or {}).get(placeholder)})
    return None


def _transact(params: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (str(body.get("TableName", "")), _partition(body.get("Key") or body.get("Item")))
        for entry in params.get("TransactItems", [])
        for body in entry.values()
    ]


def _batch_get(params: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    return [(t, _partition(k)) for t, request in params.get("RequestItems", {}).items() for k in request["Keys"]]


def _batch_write(params: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (t, _partition(w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key")))
        for t, writes in params.get("RequestItems", {}).items()
        for w in writes
    ]


def _one(partition: Callable[[Mapping[str, Any]], str | None]) -> Callable[[Mapping[str, Any]], list[Any]]:
    return lambda params: [(str(params.get("TableName", "")), partition(params))]


#: How to find the partitions each operation touches, as IAM's ``dynamodb:LeadingKeys`` sees them.
_TOUCHES: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str | None]]]] = {
    "GetItem": _one(lambda p: _partition(p.get("Key"))),
    "UpdateItem": _one(lambda p: _partition(p.get("Key"))),
    "DeleteItem": _one(lambda p: _partition(p.get("Key"))),
    "PutItem": _one(lambda p: _partition(p.get("Item"))),
    "Query": _one(_queried_partition),
    "BatchGetItem": _batch_get,
    "BatchWriteItem": _batch_write,
    "TransactWriteItems": _transact,
    "TransactGetItems": _transact,
}


def leading_keys(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str | None]] | None:
    """Every ``(table, partition key)`` a DynamoDB request touches, as IAM's ``dynamodb:LeadingKeys``
    sees them (``None`` for a key it cannot read); ``None`` for an operation that names no partition
    (a Scan, a DescribeTable), which the tenant's credentials are never granted."""
    touches = _TOUCHES.get(operation)
    return None if touches is None else touches(params)


def refusal(operation: str, params: Mapping[str, Any], keys: Mapping[str, Sequence[str]], tenant_id: str) -> str | None:
    """Why the tenant's credentials may not make this request (``keys``: table -> patterns), or ``None``."""
    touched = leading_keys(operation, params)
    if touched is None:
        return f"dynamodb:{operation} is not granted to a tenant's credentials"
    for table, partition in touched:
        if table not in keys:
            return f"dynamodb:{operation} on {table} is not granted to a tenant's credentials"
        if partition is None or not allows(keys[table], tenant_id, partition):
            return (
                f"dynamodb:{operation} on {table}: no policy allows this leading key for the tenant"
                " (a global partition the context needs goes in its LEADING_KEYS)"
            )
    return None


def parse_keys(setting: str) -> dict[str, tuple[str, ...]]:
    """``KEEL_TENANT_KEYS``: a JSON object, table name -> the leading-key patterns its tenants may touch."""
    parsed = json.loads(setting) if setting else {}
    if not isinstance(parsed, dict) or not all(isinstance(v, list) for v in parsed.values()):
        raise ValueError("KEEL_TENANT_KEYS must map table names to lists of patterns")
    return {str(table): tuple(str(p) for p in patterns) for table, patterns in parsed.items()}


def _refused(operation: str, role_arn: str, tenant_id: str | None, reason: str) -> ClientError:
    who = f"{role_arn} (tenant {tenant_id})" if tenant_id else f"{role_arn} (no tenant)"
    # As DynamoDB answers a request IAM refuses: HTTP 400, AccessDeniedException.
    response: Any = {
        "Error": {"Code": "AccessDeniedException", "Message": f"User: {who} is not authorized to perform {reason}"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


# -- credentials, per tenant per container ---------------------------------------------------------


@dataclass(frozen=True)
class _Acting:
    tenant_id: str
    credentials: Credentials


#: Whose credentials the request being made on this thread carries (set by ``TenantClient`` per call).
_acting: ContextVar[_Acting | None] = ContextVar("keel_tenant_credentials", default=None)


class TenantClient:
    """A DynamoDB client acting for one tenant: the operations of the one client all tenants share, each
    request checked against the tenant's leading keys and signed with the tenant's credentials.

    A botocore client weighs a quarter of a megabyte or more (its class, service model, event hooks,
    endpoint rules, all built per client); a container that keeps many tenants shares one. Paginators
    and waiters are the shared client's: their requests act for no tenant and are refused."""

    def __init__(self, shared: Any, acting: _Acting) -> None:
        self._shared = shared
        self._acting = acting
        self._operations = shared.meta.method_to_api_mapping

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._shared, name)
        if name not in self._operations:
            return attribute  # meta, exceptions, ...: the shared client's

        def as_tenant(*args: Any, **kwargs: Any) -> Any:
            token = _acting.set(self._acting)
            try:
                return attribute(*args, **kwargs)
            finally:
                _acting.reset(token)

        return as_tenant


@dataclass(frozen=True)
class _Scoped:
    client: TenantClient
    expires_at: datetime


class TenantClients:
    """DynamoDB clients acting for one tenant each, with credentials assumed with the tenant as a session
    tag, kept per tenant (at most ``size`` tenants) until ``REFRESH_BEFORE`` their expiry.

    ``sts`` makes the STS client that assumes the role (the function's own credentials); ``client``
    makes the one DynamoDB client every tenant's requests go through: each request is signed with its
    tenant's credentials, never with that client's own, and one made outside a ``TenantClient`` is refused."""

    def __init__(
        self,
        *,
        role_arn: str,
        keys: Mapping[str, Sequence[str]],
        sts: Callable[[], Any],
        client: Callable[[], Any],
        clock: Clock | None = None,
        size: int = CACHE_SIZE,
    ) -> None:
        self.role_arn = role_arn
        self.keys = dict(keys)
        self._sts = sts
        self._client = client
        self._shared: Any = None
        self._clock: Clock = clock or SystemClock()
        self._size = size
        self._scoped: OrderedDict[str, _Scoped] = OrderedDict()
        # Lambda calls one request at a time; the local runtime serves from several threads.
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> TenantClient:
        """The DynamoDB client acting for ``tenant_id``: one ``AssumeRole`` on the tenant's first request
        in this container, and again only once its credentials near their expiry."""
        with self._lock:
            return self._held_or_assumed(tenant_id)

    def _held_or_assumed(self, tenant_id: str) -> TenantClient:
        held = self._scoped.get(tenant_id)
        if held is not None and self._clock.now() < held.expires_at - REFRESH_BEFORE:
            self._scoped.move_to_end(tenant_id)
            return held.client
        assumed = self._sts().assume_role(
            RoleArn=self.role_arn,
            # The session name shows in CloudTrail: which tenant a data call was made for.
            RoleSessionName=f"tenant-{tenant_id}"[:64],
            Tags=[{"Key": TENANT_TAG, "Value": tenant_id}],
            DurationSeconds=SESSION_SECONDS,
        )["Credentials"]
        credentials = Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
        scoped = TenantClient(self._shared_client(), _Acting(tenant_id, credentials))
        self._scoped[tenant_id] = _Scoped(scoped, assumed["Expiration"])
        self._scoped.move_to_end(tenant_id)
        while len(self._scoped) > self._size:
            self._scoped.popitem(last=False)
        return scoped

    def _shared_client(self) -> Any:
        if self._shared is None:
            self._shared = self._client()
            self._shared.meta.events.register("before-parameter-build.dynamodb", self._as_tenant)
        return self._shared

    def _as_tenant(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        # Runs in the calling thread, inside the TenantClient call that set ``_acting``.
        acting = _acting.get()
        if acting is None:
            raise _refused(model.name, self.role_arn, None, f"dynamodb:{model.name} but through a tenant's client")
        reason = refusal(model.name, params, self.keys, acting.tenant_id)
        if reason is not None:
            raise _refused(model.name, self.role_arn, acting.tenant_id, reason)
        # botocore signs a request with the credentials its context names, before the client's own.
        context.setdefault("signing", {})["request_credentials"] = acting.credentials

    def __len__(self) -> int:
        return len(self._scoped)
