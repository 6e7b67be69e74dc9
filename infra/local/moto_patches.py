"""The local runtime's one patch to moto: linear transactions, a stream that forgets,
``ClientRequestToken`` honoured, reads whose cost does not grow with what is stored, and no object
kept after moto is done with it.
``install()`` applies it (``keel dev`` does on start; tests that run moto in-process do through
their ``aws`` fixture); it refuses any moto but ``PINNED``.

What moto 5.2.5 does, and why each part exists (reports for upstream: ``docs/upstream/moto-dynamodb.md``):

- ``transact_write_items`` deep-copies every table a transaction names, once per item of the
  transaction, stream shard included, only to be able to roll back. Each transaction costs time and
  memory in proportion to everything ever written, so ``keel dev`` grows quadratically. And a rollback
  swaps in the copy as a new ``Table`` object, so a stream poller holding an iterator on the old shard
  never sees another record of that table. Here the transaction snapshots only the items it touches
  (one deep copy of each) and the stream's length; a rollback restores exactly those, in place.
- The stream shard keeps every record forever (DynamoDB trims after 24 h). ``trim_stream`` drops the
  records a consumer has processed, moving the shard's trim horizon, so sequence numbers stay unique.
- ``ClientRequestToken`` is ignored, so a client retrying a transaction that succeeded slowly applies
  it again (its conditions then fail: a false 409). Here a successful transaction's token is
  remembered for ``CLIENT_TOKEN_SECONDS``: the same request again answers success without applying
  anything; the same token with another request is ``IdempotentParameterMismatchException``. A
  cancelled transaction changed nothing and is not remembered: its retry is evaluated afresh.
- moto's DynamoDB backend takes no lock, and the threaded moto server calls it from many threads.
  Every DynamoDB item operation (a ``TransactGetItems`` as a whole) and every stream read or append
  here holds one process-wide lock, so a transaction is isolated from other requests as DynamoDB's
  are, and a rollback or a trim can never cut another writer's stream record.
- Every moto model (``BaseModel``: each version of each DynamoDB item, each stream record, each SQS
  message, each assumed-role session...) is appended on creation to a class-wide list for moto's
  dashboard (``/moto-api/data.json``) and never freed, even once overwritten, trimmed or deleted:
  ``keel dev`` grew by a few hundred kB per sign-up. Here models are not tracked (the dashboard
  lists none); moto's backends still hold everything they store.
- A Query sorts the whole table; an event routed to a target re-parses its JSONPath; the server walks
  moto's package on every request; GetRecords runs records already in wire format through the generic
  serializer (~25x ``json.dumps``); SQS computes every queue attribute, counting all its messages,
  for each message it hands out and for each message sent to it (to read one flag): a queue that
  falls behind falls further behind, and every event routed to it slows the whole runtime (half of
  ``keel dev``'s CPU at 600 sign-ups back to back). Each is replaced by the direct equivalent (see
  each function).

``transact_write_items`` below is moto 5.2.5's own loop (Apache-2.0) with the snapshot swapped for the
whole-table copies; ``get_records`` and the retention check are rewritten (same answers, tested
against moto as shipped); everything else wraps moto's methods without changing them.
"""

from __future__ import annotations

import base64
import contextvars
import copy
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import moto
from jsonpath_ng import ext as jsonpath_ext
from moto import backends as moto_backends
from moto.core.common_models import BaseModel
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    DynamodbException,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs.models import Queue, SQSBackend

from infra.local.shapes import ACCOUNT_ID

#: The moto version whose internals this module was written against and tested on.
PINNED = "5.2.5"
#: How long DynamoDB remembers a transaction's ClientRequestToken after the transaction completes.
CLIENT_TOKEN_SECONDS = 600.0

#: One lock for every DynamoDB item operation, stream append, stream read and trim in this process.
LOCK = threading.RLock()
#: Backend methods that read or write items: each runs under ``LOCK`` (moto's own code, unchanged).
_ITEM_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)

_originals: dict[tuple[object, str], Callable[..., Any]] = {}
#: Injected by tests to move time forward; ``time.monotonic`` otherwise.
clock: Callable[[], float] = time.monotonic


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the one this patch was written for."""


class IdempotentParameterMismatchException(DynamodbException):
    """DynamoDB's answer to a ClientRequestToken reused with a different request."""

    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            self.error_type,
            message="DynamoDB rejected the request because you retried a request with a different payload "
            "but with an idempotent token that was already used.",
        )


# -- install ------------------------------------------------------------------------------------


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent). Raises ``MotoVersionMismatch`` for any
    moto but ``PINNED``: the patch replaces internals, and on another version it would misbehave."""
    if moto.__version__ != PINNED:
        raise MotoVersionMismatch(
            f"infra/local/moto_patches.py patches moto {PINNED}'s DynamoDB internals, but moto "
            f"{moto.__version__} is installed. Pin moto[server]=={PINNED} (pyproject.toml), or re-check "
            f"the patch against {moto.__version__}'s transact_write_items, StreamShard and DynamoHandler "
            "(infra/local/README.md) and update PINNED."
        )
    with LOCK:
        if is_installed():
            return
        for name in _ITEM_OPERATIONS:
            _replace(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
        _replace(DynamoDBBackend, "transact_write_items", _locked(_transact_write_items))
        _replace(StreamShard, "add", _announced(_locked(StreamShard.add)))
        _replace(StreamShard, "get", _locked(StreamShard.get))
        _replace(DynamoHandler, "transact_write_items", _honouring_client_token(DynamoHandler.transact_write_items))
        # TransactGetItems reads its items one by one: the lock makes it one read, as DynamoDB's is.
        _replace(DynamoHandler, "transact_get_items", _locked(DynamoHandler.transact_get_items))
        _replace(Table, "query", _reading_one_partition(Table.query))
        # moto builds a JSONPath parser for every path of every event it routes to every target (the
        # bus's input template): the same few expressions, parsed again each time. Parse each once.
        _replace(jsonpath_ext, "parse", functools.lru_cache(maxsize=256)(getattr(jsonpath_ext, "parse")))  # noqa: B009
        # moto's server lists its own package's folders (a directory walk) on every request it answers.
        _replace(moto_backends, "list_of_moto_modules", _listed_once(moto_backends.list_of_moto_modules))
        _replace(DynamoDBStreamsHandler, "get_records", _records_as_json)
        _replace(SQSBackend, "is_message_valid_based_on_retention_period", _within_retention)
        _replace(SQSBackend, "send_message", _sending(SQSBackend.send_message))
        _replace(Queue, "attributes", property(_attributes))  # type: ignore[arg-type]
        _replace(BaseModel, "__new__", _untracked)


def _untracked(cls: type, *_: Any, **__: Any) -> Any:
    """``BaseModel.__new__`` without the ``instances_tracked.append(instance)`` (see the module doc)."""
    return object.__new__(cls)


def _records_as_json(self: DynamoDBStreamsHandler) -> str:
    """moto 5.2.5 answers GetRecords through its generic serializer, which walks every attribute value
    of every record against the API's shapes: ~25x the cost of ``json.dumps`` for records that are
    already in DynamoDB's wire format. The stream pollers read every write of every table this way.
    Same backend call, same body (moto's own timestamp conversion, binary values in base64), written
    directly."""
    limit = self._get_param("Limit")
    result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
    return json.dumps(result, default=_wire_value)


def _wire_value(value: Any) -> Any:
    from moto.core.serialize import TimestampSerializer

    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)
    raise TypeError(f"{type(value).__name__} is not in DynamoDB's wire format")


def _within_retention(self: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto 5.2.5 checks each message it hands out against the queue's retention by computing every
    attribute of the queue, three of which count its messages: each receive costs O(queue depth) per
    message, so a queue that falls behind falls further behind. This reads the one attribute."""
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())


#: Set while ``send_message`` runs: the queue's attributes it reads are its deduplication flag only.
_SENDING: contextvars.ContextVar[bool] = contextvars.ContextVar("keel_moto_sqs_sending", default=False)


def _sending(send_message: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send_message)
    def sending(*args: Any, **kwargs: Any) -> Any:
        token = _SENDING.set(True)
        try:
            return send_message(*args, **kwargs)
        finally:
            _SENDING.reset(token)

    return sending


def _attributes(self: Queue) -> dict[str, Any]:
    """moto 5.2.5 reads a queue's ``attributes`` on each send (and each FIFO add) for one flag,
    ``ContentBasedDeduplication``, and builds them all, three of which count the queue's messages. While
    a message is sent, this answers that flag as moto would (a FIFO queue's, lower-case; none otherwise);
    any other read builds them all, as moto does."""
    if not _SENDING.get():
        return dict(unpatched(Queue, "attributes").fget(self))  # type: ignore[attr-defined]
    if not self.fifo_queue:
        return {}
    flag = self.content_based_deduplication  # type: ignore[attr-defined]
    return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}


class _Appends:
    """How many stream records this process has appended, and a condition notified at each: a reader
    in the same process waits for the next one instead of polling an empty stream."""

    def __init__(self) -> None:
        self.count = 0
        self.appended = threading.Condition()


_APPENDS = _Appends()


def _announced(add: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(add)
    def add_and_announce(*args: Any, **kwargs: Any) -> Any:
        result = add(*args, **kwargs)
        with _APPENDS.appended:
            _APPENDS.count += 1
            _APPENDS.appended.notify_all()
        return result

    return add_and_announce


def stream_appends() -> int:
    """How many stream records this process has appended so far (see ``wait_for_stream_append``)."""
    return _APPENDS.count


def wait_for_stream_append(since: int, timeout: float) -> None:
    """Return once a stream record is appended after ``stream_appends()`` was ``since``, or after
    ``timeout`` seconds (a moto in another process never notifies: the timeout is the poll)."""
    with _APPENDS.appended:
        _APPENDS.appended.wait_for(lambda: _APPENDS.count != since, timeout)


def _listed_once(listing: Callable[[], Any]) -> Callable[[], tuple[str, ...]]:
    """The folders of moto's package do not change while it runs: list them once."""
    listed = tuple(listing())
    return lambda: listed


def _reading_one_partition(query: Callable[..., Any]) -> Callable[..., Any]:
    """moto 5.2.5 answers a Query on a table's own key by sorting every item of the table and keeping
    the partition's: each Query costs O(table), so a growing table slows every read of it (identity's
    entitlements consumer queries a tenant's keys on each sign-up). This hands moto's unchanged Query
    the one partition, in range-key order, as its ``all_items`` would have listed it. Indexes, tables
    with no range key and moto's own code paths are untouched. Runs under ``LOCK`` (``query`` is one
    of ``_ITEM_OPERATIONS``), so the instance attribute is never seen by another thread."""

    @functools.wraps(query)
    def one_partition_query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})
        self.all_items = lambda: sorted(partition.values(), key=lambda item: item.range_key)  # type: ignore[method-assign]
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return one_partition_query


def uninstall() -> None:
    """Put moto's own methods back (for tests that compare with moto as shipped)."""
    with LOCK:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
        _originals.clear()


def is_installed() -> bool:
    return bool(_originals)


def unpatched(owner: type, name: str) -> Callable[..., Any]:
    """moto's own ``owner.name``, whether or not the patch is installed."""
    original: Callable[..., Any] = _originals.get((owner, name)) or getattr(owner, name)
    return original


def _replace(owner: object, name: str, replacement: Callable[..., Any]) -> None:
    _originals[(owner, name)] = getattr(owner, name)
    setattr(owner, name, replacement)


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def under_lock(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    return under_lock


# -- transactions: a snapshot of the touched items ------------------------------------------------


@dataclass
class _Snapshot:
    """What a transaction changed, so that a rollback restores exactly that: each touched item as it
    was (a deep copy, or ``None`` when absent) and the length of each touched table's stream."""

    items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    stream_lengths: dict[int, tuple[StreamShard, int]] = field(default_factory=dict)

    def keep(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None, current: Item | None) -> None:
        self.items.append((table, hash_key, range_key, copy.deepcopy(current)))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.stream_lengths:
            self.stream_lengths[id(shard)] = (shard, len(shard.items))

    def restore(self) -> None:
        for table, hash_key, range_key, before in reversed(self.items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before  # type: ignore[assignment]  # a hash-only table holds items
                continue
            partition = table.items[hash_key]
            if before is None:
                partition.pop(range_key, None)
                if not partition:
                    del table.items[hash_key]
            else:
                partition[range_key] = before
        for shard, length in self.stream_lengths.values():
            del shard.items[length:]  # the records of this transaction's writes (it held the lock)


def _transact_write_items(  # noqa: PLR0912, PLR0915 - moto's loop kept as it is, to diff against upstream
    self: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> None:
    # moto 5.2.5's DynamoDBBackend.transact_write_items, except for the snapshot (see the module doc).
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshot = _Snapshot()

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                snapshot.keep(table, *self.get_keys_value(table, key), current)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            snapshot.restore()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # moto reports any other failure as the item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        snapshot.restore()
        raise TransactionCanceledException(errors)


# -- ClientRequestToken ---------------------------------------------------------------------------


@dataclass
class _TokenLedger:
    """The tokens of transactions that succeeded: token -> (request fingerprint, when it completed)."""

    completed: dict[str, tuple[str, float]] = field(default_factory=dict)

    def forget_expired(self, now: float) -> None:
        # Tokens are kept in the order their transactions completed: the expired ones come first.
        while self.completed:
            token, (_, at) = next(iter(self.completed.items()))
            if now - at <= CLIENT_TOKEN_SECONDS:
                return
            del self.completed[token]


def _ledger_of(backend: DynamoDBBackend) -> _TokenLedger:
    # Kept on the backend itself, so that moto's reset (a new backend) forgets the tokens too.
    ledger: _TokenLedger | None = getattr(backend, "_keel_client_tokens", None)
    if ledger is None:
        ledger = _TokenLedger()
        setattr(backend, "_keel_client_tokens", ledger)  # noqa: B010 - not an attribute moto declares
    return ledger


def _fingerprint(body: dict[str, Any]) -> str:
    request = {name: value for name, value in body.items() if name != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _honouring_client_token(transact: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(transact)
    def transact_write_items(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return transact(self)
        with LOCK:  # check, apply and remember as one step: a concurrent retry waits, then replays
            ledger = _ledger_of(self.dynamodb_backend)
            ledger.forget_expired(clock())
            fingerprint = _fingerprint(self.body)
            known = ledger.completed.get(token)
            if known is not None:
                if known[0] != fingerprint:
                    raise IdempotentParameterMismatchException()
                return _succeeded()
            result = transact(self)
            ledger.completed[token] = (fingerprint, clock())
            return result

    return transact_write_items


def _succeeded() -> Any:
    from moto.core.responses import ActionResult

    return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})


# -- stream retention -----------------------------------------------------------------------------


def trim_stream(table_name: str, through_sequence_number: str, region: str, account_id: str = ACCOUNT_ID) -> int:
    """Drop the table's stream records up to and including ``through_sequence_number`` (a consumer has
    processed them; DynamoDB would drop them after 24 h). ``TRIM_HORIZON`` moves past them and new
    records keep counting on. Returns how many were dropped."""
    if not is_installed():
        raise RuntimeError("trim_stream needs moto_patches.install(): stream appends must hold its lock")
    with LOCK:
        table = dynamodb_backends[account_id][region].get_table(table_name)
        shard = table.stream_shard
        if shard is None:
            return 0
        count = max(0, min(int(through_sequence_number) - shard.starting_sequence_number + 1, len(shard.items)))
        del shard.items[:count]
        shard.starting_sequence_number += count
        return count
