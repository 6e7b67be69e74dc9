"""DynamoDB helpers every context store builds on.

Keys always start from a tenant id (``TENANT#<id>``) so that no store method can forget it; every
write is one ``TransactWriteItems`` (``Transaction``) carrying its conditions and its outbox events;
reads return one page with an opaque cursor bound to the partition it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from keel import aws
from keel.errors import BadRequest, Conflict, KeelError
from keel.events import Envelope
from keel.isolation import TENANT_VARIABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
#: Every tenant's partitions start with this, then the tenant id: ``TENANT#<id>`` or ``TENANT#<id>#<COLLECTION>``.
TENANT_PREFIX = "TENANT#"
MAX_TRANSACTION_ITEMS = 100
#: Sort-key prefix of outbox items: the stream relay publishes exactly these (CDK filters the stream on it).
OUTBOX_PREFIX = "OUTBOX#"
MAX_BATCH_GET_KEYS = 100
BATCH_GET_ATTEMPTS = 4
OUTBOX_TTL_SECONDS = 7 * 24 * 3600
INBOX_TTL_SECONDS = 30 * 24 * 3600
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


# -- keys ---------------------------------------------------------------------------------------


def tenant_pk(tenant_id: str, collection: str | None = None) -> str:
    """``TENANT#<id>`` or ``TENANT#<id>#<COLLECTION>``; refuses an empty or malformed tenant id."""
    if not tenant_id or "#" in tenant_id or tenant_id != tenant_id.strip():
        raise ValueError("a tenant id is required to build a key")
    if collection is not None:
        if not collection or "#" in collection:
            raise ValueError("invalid collection name")
        return f"{TENANT_PREFIX}{tenant_id}#{collection}"
    return f"{TENANT_PREFIX}{tenant_id}"


def tenant_partitions(prefix: str = "", tenant_id: str = TENANT_VARIABLE) -> tuple[str, str]:
    """The ``dynamodb:LeadingKeys`` patterns of one tenant's partitions (``tenant_pk``'s, after a table's
    own ``prefix``): the tenant's partition and its collections, never another tenant whose id merely
    starts with this one's. By default the tenant is IAM's session-tag variable (``keel.isolation``)."""
    return f"{prefix}{TENANT_PREFIX}{tenant_id}", f"{prefix}{TENANT_PREFIX}{tenant_id}#*"


def entity_sk(entity: str, entity_id: str = "") -> str:
    """``<ENTITY>#<id>``; with no id, the prefix that lists every item of that entity."""
    if not entity or "#" in entity:
        raise ValueError("invalid entity name")
    return f"{entity}#{entity_id}"


# -- (de)serialisation --------------------------------------------------------------------------


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in item.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def from_attributes(attributes: Mapping[str, Any]) -> Item:
    """A DynamoDB item as plain Python (integral numbers come back as ``int``, never float)."""
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in attributes.items()}


# -- writes -------------------------------------------------------------------------------------


class TransactionFailed(Conflict):
    """A condition in the transaction did not hold (or a concurrent transaction touched the same item)."""

    def __init__(self, message: str, *, failed: Sequence[int], reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.failed = list(failed)
        self.reasons = list(reasons)


@dataclass
class _Operation:
    request: dict[str, Any]
    on_condition_failed: KeelError | None


@dataclass
class Transaction:
    """One ``TransactWriteItems`` on one table: state changes, their conditions and outbox events.

    ``execute`` raises ``TransactionFailed`` (409) when a condition fails, or the error an operation
    named with ``on_condition_failed`` (e.g. a 404 for an update of something that is gone).

    Each Transaction carries one ``ClientRequestToken``, so a retry of the same request (botocore's
    after a timeout, or ``execute`` called again) is answered success without being applied twice
    instead of failing its own conditions. DynamoDB remembers the token for 10 minutes.
    """

    table: str
    _operations: list[_Operation] = field(default_factory=list)
    _client_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._operations)

    def _add(self, kind: str, body: dict[str, Any], on_condition_failed: KeelError | None) -> int:
        if len(self._operations) >= MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} items")
        body["TableName"] = self.table
        self._operations.append(_Operation({kind: body}, on_condition_failed))
        return len(self._operations) - 1

    @staticmethod
    def _condition(
        body: dict[str, Any], condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if condition:
            body["ConditionExpression"] = condition
        if names:
            body["ExpressionAttributeNames"] = dict(names)
        if values:
            body["ExpressionAttributeValues"] = to_attributes(values)
        return body

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        on_condition_failed: KeelError | None = None,
    ) -> int:
        body = self._condition({"Item": to_attributes(item)}, condition, names, values)
        return self._add("Put", body, on_condition_failed)

    def put_new(self, item: Mapping[str, Any], *, on_condition_failed: KeelError | None = None) -> int:
        """Create ``item``; fails if an item with its key already exists."""
        return self.put(item, condition="attribute_not_exists(pk)", on_condition_failed=on_condition_failed)

    def put_versioned(
        self, item: Mapping[str, Any], *, expected_version: int | None, on_condition_failed: KeelError | None = None
    ) -> int:
        """Write ``item`` as version ``expected_version + 1`` only if the stored one is ``expected_version``
        (``None``: only if there is none). The loser of a race gets a 409."""
        if expected_version is None:
            return self.put_new({**item, "version": 1}, on_condition_failed=on_condition_failed)
        return self.put(
            {**item, "version": expected_version + 1},
            condition="#v = :expected",
            names={"#v": "version"},
            values={":expected": expected_version},
            on_condition_failed=on_condition_failed,
        )

    def update(
        self,
        key: Mapping[str, Any],
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        on_condition_failed: KeelError | None = None,
    ) -> int:
        body = self._condition({"Key": to_attributes(key), "UpdateExpression": expression}, condition, names, values)
        return self._add("Update", body, on_condition_failed)

    def delete(
        self,
        key: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        on_condition_failed: KeelError | None = None,
    ) -> int:
        body = self._condition({"Key": to_attributes(key)}, condition, names, values)
        return self._add("Delete", body, on_condition_failed)

    def check(
        self,
        key: Mapping[str, Any],
        condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        on_condition_failed: KeelError | None = None,
    ) -> int:
        body = self._condition({"Key": to_attributes(key)}, condition, names, values)
        return self._add("ConditionCheck", body, on_condition_failed)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once ``execute`` has committed, never if it fails: for a side effect outside the
        table (e.g. flushing a cache) that must not happen for a change that did not."""
        self._after_commit.append(action)

    def publish(self, event: Envelope, *, now: float | None = None) -> int:
        """Add ``event`` to the outbox in this same transaction; the stream relay puts it on the bus."""
        issued = time.time() if now is None else now
        return self.put_new(
            {
                "pk": tenant_pk(event.tenant_id),
                "sk": f"{OUTBOX_PREFIX}{event.id}",
                "event_type": event.type,
                "event": event.model_dump_json(),
                "expires_at": int(issued) + OUTBOX_TTL_SECONDS,
            }
        )

    def execute(self, client: DynamoDBClient | None = None) -> None:
        """Run every operation as one ``TransactWriteItems`` request (all or nothing), idempotent per
        Transaction through its ``ClientRequestToken``."""
        if not self._operations:
            return
        ddb = client or aws.dynamodb()
        try:
            ddb.transact_write_items(
                TransactItems=[op.request for op in self._operations],  # type: ignore[misc]
                ClientRequestToken=self._client_token,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            if not reasons:  # some SDK paths only put the reasons in the message
                reasons = _reasons_from_message(str(exc))
            failed = [i for i, code in enumerate(reasons) if code not in ("None", "")]
            for index in failed:
                own = self._operations[index].on_condition_failed if index < len(self._operations) else None
                if own is not None and reasons[index] == "ConditionalCheckFailed":
                    raise own from exc
            if any(code == "TransactionConflict" for code in reasons):
                raise TransactionFailed(
                    "a concurrent change touched the same data; retry", failed=failed, reasons=reasons
                ) from exc
            raise TransactionFailed(
                "the data changed since it was read; reload and retry", failed=failed, reasons=reasons
            ) from exc
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()


def _reasons_from_message(message: str) -> list[str]:
    # "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
    if "[" not in message:
        return []
    inside = message[message.rfind("[") + 1 : message.rfind("]")]
    return [part.strip() for part in inside.split(",")]


# -- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[Item]
    cursor: str | None


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(from_attributes(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, pk: str, sk_prefix: str = "") -> dict[str, Any]:
    """The exclusive start key inside ``cursor``: a 400 unless it is exactly ``{pk, sk}`` of this
    partition and sort-key range (anything else would be another tenant's, or a DynamoDB error)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise BadRequest("invalid cursor") from None
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk"}
        or key["pk"] != pk
        or not isinstance(key["sk"], str)
        or not key["sk"].startswith(sk_prefix)
    ):
        raise BadRequest("invalid cursor")
    return to_attributes(key)


def get_item(
    table: str, pk: str, sk: str, *, client: DynamoDBClient | None = None, consistent: bool = False
) -> Item | None:
    """One item by key (one GetItem)."""
    ddb = client or aws.dynamodb()
    response = ddb.get_item(TableName=table, Key=to_attributes({"pk": pk, "sk": sk}), ConsistentRead=consistent)
    found = response.get("Item")
    return from_attributes(found) if found else None


def query_page(
    table: str,
    pk: str,
    *,
    sk_prefix: str,
    limit: int = 50,
    cursor: str | None = None,
    newest_first: bool = False,
    starting_with: tuple[str, str] | None = None,
    client: DynamoDBClient | None = None,
) -> Page:
    """One page of the items in partition ``pk`` whose sort key starts with ``sk_prefix`` (one Query).

    ``starting_with`` (an attribute and a prefix) keeps only the items whose attribute starts with the
    prefix. DynamoDB still reads ``limit`` items and no more, so the filter never reads more than a page:
    a page then holds those of the ``limit`` read that match (possibly none), and its cursor goes on
    from the last item read."""
    if not 1 <= limit <= 100:
        raise BadRequest("limit must be between 1 and 100")
    ddb = client or aws.dynamodb()
    values: dict[str, Any] = {":pk": pk, ":prefix": sk_prefix}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "Limit": limit,
        "ScanIndexForward": not newest_first,
    }
    if starting_with is not None:
        kwargs["FilterExpression"] = "begins_with(#filtered, :starts)"
        kwargs["ExpressionAttributeNames"] = {"#filtered": starting_with[0]}
        values[":starts"] = starting_with[1]
    kwargs["ExpressionAttributeValues"] = to_attributes(values)
    if cursor:
        kwargs["ExclusiveStartKey"] = decode_cursor(cursor, pk=pk, sk_prefix=sk_prefix)
    response = ddb.query(**kwargs)
    return Page(
        items=[from_attributes(i) for i in response.get("Items", [])],
        cursor=encode_cursor(response.get("LastEvaluatedKey")),
    )


def query_all(
    table: str, pk: str, *, sk_prefix: str, page_size: int = 100, client: DynamoDBClient | None = None
) -> Iterator[Item]:
    """Every item of partition ``pk`` whose sort key starts with ``sk_prefix``, a page (one Query) at a time.
    For jobs and consumers; a request path reads one page (``query_page``)."""
    cursor: str | None = None
    while True:
        page = query_page(table, pk, sk_prefix=sk_prefix, limit=page_size, cursor=cursor, client=client)
        yield from page.items
        if page.cursor is None:
            return
        cursor = page.cursor


class BatchGetIncomplete(RuntimeError):
    """DynamoDB left keys unprocessed after every retry: an absent item must not be read as "no such item"."""


def batch_get(
    table: str,
    keys: Sequence[Mapping[str, Any]],
    *,
    client: DynamoDBClient | None = None,
    consistent: bool = False,
    attempts: int = BATCH_GET_ATTEMPTS,
) -> dict[tuple[str, str], Item]:
    """The items of ``keys`` found in ``table`` by ``(pk, sk)``, in one BatchGetItem. Keys DynamoDB left
    unprocessed (throttling) are asked again, only those, with a short backoff; if some are still left
    after ``attempts`` requests, ``BatchGetIncomplete``."""
    if not 0 < len(keys) <= MAX_BATCH_GET_KEYS:
        raise ValueError(f"a batch get takes 1 to {MAX_BATCH_GET_KEYS} keys")
    ddb = client or aws.dynamodb()
    found: dict[tuple[str, str], Item] = {}
    request: dict[str, Any] = {table: {"Keys": [to_attributes(k) for k in keys], "ConsistentRead": consistent}}
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.025 * 2**attempt)
        response = ddb.batch_get_item(RequestItems=request)
        for raw in response.get("Responses", {}).get(table, []):
            item = from_attributes(raw)
            found[(item["pk"], item["sk"])] = item
        request = dict(response.get("UnprocessedKeys") or {})
        if not request:
            return found
    raise BatchGetIncomplete(f"{len(request[table]['Keys'])} key(s) of {table} left unprocessed")
