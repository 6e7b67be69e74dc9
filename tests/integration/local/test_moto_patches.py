"""The local runtime's patch to moto's DynamoDB (``infra/local/moto_patches.py``): transactions that
snapshot only what they touch, a stream that can be trimmed, and ``ClientRequestToken`` honoured."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs.models import Queue, sqs_backends

from infra.local import moto_patches
from infra.local.shapes import ACCOUNT_ID
from tests.support.moto import create_context_table

TABLE = "keel-patched"
REGION = "us-east-1"


@pytest.fixture
def table(aws: None) -> str:
    create_context_table(TABLE)
    return TABLE


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def put_new(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    item = key(pk, sk) | {name: {"S": str(value)} for name, value in attributes.items()}
    return {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def add_one(pk: str, sk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk, sk),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def stored(pk: str, sk: str) -> dict[str, Any] | None:
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key(pk, sk)).get("Item")


def moto_table() -> Any:
    return dynamodb_backends[ACCOUNT_ID][REGION].tables[TABLE]


def stream_records(iterator_type: str = "TRIM_HORIZON") -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=iterator_type)
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def cancellation_reasons(error: ClientError) -> list[str]:
    return [reason["Code"] for reason in error.response["CancellationReasons"]]  # type: ignore[typeddict-item]


# -- transactions ---------------------------------------------------------------------------------


def test_a_rollback_restores_what_it_touched_and_copies_nothing_else(table: str) -> None:
    ddb = boto3.client("dynamodb")
    # Given a table of 50 items, and the objects moto stores them as
    ddb.transact_write_items(TransactItems=[put_new("T", f"ITEM#{i:02}", v="old") for i in range(50)])
    before = moto_table()
    untouched = {sk.value: item for sk, item in before.items[next(iter(before.items))].items()}
    records = len(stream_records())
    # When a transaction overwrites one item, then fails its condition on a second
    overwrite = {"Put": {"TableName": TABLE, "Item": key("T", "ITEM#00") | {"v": {"S": "new"}}}}
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[overwrite, put_new("T", "ITEM#01")])
    # Then the overwrite is undone and left no stream record, the table is the same table, and
    # every other item is the very object it was (nothing was copied to roll back)
    assert cancellation_reasons(cancelled.value) == ["None", "ConditionalCheckFailed"]
    assert stored("T", "ITEM#00")["v"] == {"S": "old"}  # type: ignore[index]
    assert len(stream_records()) == records
    after = moto_table()
    assert after is before
    partition = after.items[next(iter(after.items))]
    assert all(partition[sk] is untouched[sk.value] for sk in partition if sk.value not in ("ITEM#00", "ITEM#01"))


def test_a_rollback_removes_an_item_the_transaction_created(table: str) -> None:
    # Given no item A
    # When a transaction creates A, then fails on B (which must exist)
    check = {
        "ConditionCheck": {"TableName": TABLE, "Key": key("T", "B"), "ConditionExpression": "attribute_exists(pk)"}
    }
    with pytest.raises(ClientError) as cancelled:
        boto3.client("dynamodb").transact_write_items(TransactItems=[add_one("T", "A"), check])
    # Then A does not exist, and nothing was streamed
    assert cancellation_reasons(cancelled.value) == ["None", "ConditionalCheckFailed"]
    assert stored("T", "A") is None
    assert stream_records() == []


def test_a_stream_reader_keeps_reading_after_a_cancelled_transaction(table: str) -> None:
    # Given a reader that has read the stream up to a first write
    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    ddb.transact_write_items(TransactItems=[put_new("T", "A")])
    page = streams.get_records(ShardIterator=iterator["ShardIterator"])
    assert len(page["Records"]) == 1
    # When a transaction is cancelled, and another write follows
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[put_new("T", "B"), put_new("T", "A")])
    ddb.transact_write_items(TransactItems=[put_new("T", "C")])
    # Then the reader's next page holds that write (moto as shipped swaps the table for a copy on
    # rollback, and the reader's iterator goes on reading the old table's stream, which never grows)
    following = streams.get_records(ShardIterator=page["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in following] == ["C"]


# The same transactions against moto as shipped and as patched must answer and leave the same.
_PKS = st.sampled_from(["a", "b"])
_SKS = st.sampled_from(["1", "2", "3"])
_CONDITIONS = st.sampled_from(
    [None, "attribute_not_exists(pk)", "attribute_exists(pk)", "v = :v", "attribute_not_exists(n) OR n < :v"]
)


@st.composite
def _operations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck", "BadUpdate", "NoTable"]))
    target = {"pk": {"S": draw(_PKS)}, "sk": {"S": draw(_SKS)}}
    value = {":v": {"N": str(draw(st.integers(0, 3)))}}
    condition = draw(_CONDITIONS)
    if kind == "ConditionCheck" and condition is None:
        condition = "attribute_exists(pk)"
    body: dict[str, Any] = {"TableName": "t"}
    if condition is not None:
        body["ConditionExpression"] = condition
        if ":v" in condition:
            body["ExpressionAttributeValues"] = dict(value)
    if draw(st.booleans()):
        body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if kind == "Put":
        return {"Put": body | {"Item": target | {"v": value[":v"]}}}
    if kind == "NoTable":
        return {"Put": body | {"TableName": "missing", "Item": target}}
    if kind in ("Update", "BadUpdate"):
        expression = "ADD n :one SET v = :v" if kind == "Update" else "SET v = :undefined"
        values = body.get("ExpressionAttributeValues", {}) | value | {":one": {"N": "1"}}
        return {"Update": body | {"Key": target, "UpdateExpression": expression, "ExpressionAttributeValues": values}}
    return {kind: body | {"Key": target}}


def _backend(account: str) -> DynamoDBBackend:
    backend = DynamoDBBackend(REGION, account)
    backend.create_table(
        "t",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        global_indexes=[],
        indexes=[],
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    return backend


def _outcome(transact: Any, backend: DynamoDBBackend, items: list[dict[str, Any]]) -> str:
    try:
        transact(backend, items)
    except Exception as exc:  # the answer a client would get
        return f"{type(exc).__name__}: {getattr(exc, 'description', exc)}"
    return "ok"


def _state(backend: DynamoDBBackend) -> tuple[list[Any], list[Any]]:
    table = backend.tables["t"]
    items = sorted((item.to_json()["Attributes"] for item in table.all_items()), key=repr)
    records = [
        {k: v for k, v in r.record["dynamodb"].items() if k not in ("ApproximateCreationDateTime", "SizeBytes")}
        | {"eventName": r.record["eventName"]}
        for r in table.stream_shard.items
    ]
    return items, records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transactions=st.lists(st.lists(_operations(), min_size=1, max_size=4), min_size=1, max_size=5))
def test_transactions_answer_and_leave_exactly_what_moto_as_shipped_does(
    transactions: list[list[dict[str, Any]]],
) -> None:
    moto_patches.install()
    shipped = moto_patches.unpatched(DynamoDBBackend, "transact_write_items")
    original, patched = _backend("111111111111"), _backend("222222222222")
    for items in transactions:
        expected = _outcome(shipped, original, items)
        assert _outcome(DynamoDBBackend.transact_write_items, patched, items) == expected
        assert _state(patched) == _state(original)


# -- the stream -------------------------------------------------------------------------------------


def test_trimmed_stream_records_are_gone_and_sequence_numbers_go_on(table: str) -> None:
    # Given five writes on the stream
    ddb = boto3.client("dynamodb")
    for sk in "ABCDE":
        ddb.transact_write_items(TransactItems=[put_new("T", sk)])
    numbers = [r["dynamodb"]["SequenceNumber"] for r in stream_records()]
    # When the first three are trimmed (a consumer has processed them)
    dropped = moto_patches.trim_stream(TABLE, numbers[2], REGION)
    # Then the stream starts at the fourth, moto holds only two, and a new write numbers on
    ddb.transact_write_items(TransactItems=[put_new("T", "F")])
    remaining = stream_records()
    assert dropped == 3
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in remaining] == ["D", "E", "F"]
    assert [r["dynamodb"]["SequenceNumber"] for r in remaining[:2]] == numbers[3:]
    assert int(remaining[2]["dynamodb"]["SequenceNumber"]) == int(numbers[4]) + 1
    assert len(moto_table().stream_shard.items) == 3


def test_trimming_past_the_end_drops_only_what_there_is(table: str) -> None:
    boto3.client("dynamodb").transact_write_items(TransactItems=[put_new("T", "A")])
    number = stream_records()[0]["dynamodb"]["SequenceNumber"]

    assert moto_patches.trim_stream(TABLE, str(int(number) + 10), REGION) == 1
    assert moto_patches.trim_stream(TABLE, number, REGION) == 0
    assert stream_records() == []


# -- ClientRequestToken -----------------------------------------------------------------------------


def test_the_same_token_and_request_again_succeeds_without_applying_twice(table: str) -> None:
    ddb = boto3.client("dynamodb")
    # Given a transaction that succeeded with a token
    ddb.transact_write_items(TransactItems=[add_one("T", "A"), put_new("T", "B")], ClientRequestToken="retry-1")
    records = len(stream_records())
    # When the client sends it again (its answer was lost, say)
    ddb.transact_write_items(TransactItems=[add_one("T", "A"), put_new("T", "B")], ClientRequestToken="retry-1")
    # Then it succeeds and nothing was applied a second time
    assert stored("T", "A")["n"] == {"N": "1"}  # type: ignore[index]
    assert len(stream_records()) == records


def test_the_same_token_with_another_request_is_an_idempotent_parameter_mismatch(table: str) -> None:
    ddb = boto3.client("dynamodb")
    ddb.transact_write_items(TransactItems=[add_one("T", "A")], ClientRequestToken="mismatch-1")

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[add_one("T", "B")], ClientRequestToken="mismatch-1")

    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert stored("T", "B") is None


def test_a_token_is_forgotten_ten_minutes_after_its_transaction(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ddb = boto3.client("dynamodb")
    now = [1000.0]
    monkeypatch.setattr(moto_patches, "clock", lambda: now[0])
    ddb.transact_write_items(TransactItems=[add_one("T", "A")], ClientRequestToken="old-1")
    # Within 10 minutes, the same request is not applied again
    now[0] += 599
    ddb.transact_write_items(TransactItems=[add_one("T", "A")], ClientRequestToken="old-1")
    assert stored("T", "A")["n"] == {"N": "1"}  # type: ignore[index]
    # After them, it is a new request
    now[0] += 2
    ddb.transact_write_items(TransactItems=[add_one("T", "A")], ClientRequestToken="old-1")
    assert stored("T", "A")["n"] == {"N": "2"}  # type: ignore[index]


def test_a_cancelled_transaction_does_not_keep_its_token(table: str) -> None:
    ddb = boto3.client("dynamodb")
    needs_b = {
        "ConditionCheck": {"TableName": TABLE, "Key": key("T", "B"), "ConditionExpression": "attribute_exists(pk)"}
    }
    # Given a transaction cancelled by its condition
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[add_one("T", "A"), needs_b], ClientRequestToken="cancelled-1")
    # When the condition comes to hold and the client retries with the same token
    ddb.transact_write_items(TransactItems=[put_new("T", "B")])
    ddb.transact_write_items(TransactItems=[add_one("T", "A"), needs_b], ClientRequestToken="cancelled-1")
    # Then the retry is applied
    assert stored("T", "A")["n"] == {"N": "1"}  # type: ignore[index]


def test_concurrent_retries_with_one_token_all_succeed_and_apply_once(table: str) -> None:
    ddb = boto3.client("dynamodb")
    barrier = threading.Barrier(6)
    answers: list[str] = []

    def retry() -> None:
        barrier.wait()
        try:
            ddb.transact_write_items(TransactItems=[put_new("T", "A"), add_one("T", "N")], ClientRequestToken="race-1")
            answers.append("ok")
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == ["ok"] * 6
    assert stored("T", "N")["n"] == {"N": "1"}  # type: ignore[index]


# -- the version guard --------------------------------------------------------------------------------


def test_the_patch_refuses_any_moto_but_the_pinned_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")

    with pytest.raises(moto_patches.MotoVersionMismatch) as refused:
        moto_patches.install()

    assert "5.2.5" in str(refused.value)
    assert "5.3.0" in str(refused.value)


def test_uninstall_puts_moto_back_and_install_patches_again() -> None:
    moto_patches.install()
    patched = DynamoDBBackend.transact_write_items
    shipped = moto_patches.unpatched(DynamoDBBackend, "transact_write_items")
    moto_patches.uninstall()
    try:
        assert not moto_patches.is_installed()
        assert DynamoDBBackend.transact_write_items is shipped
        assert shipped is not patched
    finally:
        moto_patches.install()
    assert moto_patches.is_installed()


# -- memory ---------------------------------------------------------------------------------------


def test_an_overwritten_item_and_a_trimmed_stream_record_are_freed(table: str) -> None:
    # moto as shipped keeps every model it ever made for its dashboard: keel dev grew with each write
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=TABLE, Item=key("A", "1") | {"v": {"S": "first"}})
    shard = moto_table().stream_shard
    first_version = weakref.ref(moto_table().items[DynamoType({"S": "A"})][DynamoType({"S": "1"})])
    first_record = weakref.ref(shard.items[0])
    # When the item is overwritten and its first stream record trimmed
    ddb.put_item(TableName=TABLE, Item=key("A", "1") | {"v": {"S": "second"}})
    moto_patches.trim_stream(TABLE, str(shard.starting_sequence_number), REGION)
    gc.collect()
    # Then nothing holds the first version or the trimmed record any more
    assert first_version() is None
    assert first_record() is None


# -- queries --------------------------------------------------------------------------------------


def _query_everything(ddb: Any, pk: str, **kwargs: Any) -> list[list[dict[str, Any]]]:
    """Every page of a Query of ``pk``, as moto answers it."""
    pages, start = [], None
    while True:
        page = ddb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":sk": {"S": "ITEM#"}},
            Limit=7,
            **kwargs,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


@pytest.mark.parametrize("forward", [True, False], ids=["ascending", "descending"])
def test_a_query_answers_exactly_what_moto_as_shipped_does(table: str, forward: bool) -> None:
    ddb = boto3.client("dynamodb")
    # Given three partitions of items put in no particular order, and items of another prefix
    for n in (5, 17, 3, 11, 0, 8, 14, 1, 19, 6, 12, 2, 16, 9, 4, 18, 7, 13, 10, 15):
        for pk in ("A", "B", "C"):
            ddb.put_item(TableName=TABLE, Item=key(pk, f"ITEM#{n:02}") | {"v": {"S": f"{pk}{n}"}})
    ddb.put_item(TableName=TABLE, Item=key("B", "OTHER#1"))

    # When B is read a page at a time, with the patch and without it
    patched = _query_everything(ddb, "B", ScanIndexForward=forward)
    with pytest.MonkeyPatch.context() as shipped_moto:
        shipped_moto.setattr(Table, "query", moto_patches.unpatched(Table, "query"))
        shipped = _query_everything(ddb, "B", ScanIndexForward=forward)

    # Then the pages are the same, in the same order
    assert patched == shipped
    assert [item["sk"]["S"] for item in patched[0]][:2] == (
        ["ITEM#00", "ITEM#01"] if forward else ["ITEM#19", "ITEM#18"]
    )


def test_a_query_reads_only_its_own_partition(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=TABLE, Item=key("A", "ITEM#1"))
    ddb.put_item(TableName=TABLE, Item=key("B", "ITEM#1"))

    # Given moto's list of the whole table made unusable
    def whole_table(self: Any) -> Any:
        raise AssertionError("a Query listed every item of the table")

    monkeypatch.setattr(Table, "all_items", whole_table)

    # When A is queried, it is answered from A's partition alone
    assert [item["sk"]["S"] for item in _query_everything(ddb, "A")[0]] == ["ITEM#1"]


# -- stream reads and queue receives --------------------------------------------------------------


def test_stream_records_read_exactly_as_moto_as_shipped_answers(table: str) -> None:
    ddb = boto3.client("dynamodb")
    # Given inserts, an update and a delete, with nested and binary values
    for n in range(3):
        detail = {"M": {"n": {"N": str(n)}, "tags": {"L": [{"S": "a"}, {"BOOL": True}]}, "raw": {"B": b"\x00\x01"}}}
        ddb.put_item(TableName=TABLE, Item=key("S", f"ITEM#{n}") | {"detail": detail})
    ddb.transact_write_items(TransactItems=[add_one("S", "ITEM#1")])
    ddb.delete_item(TableName=TABLE, Key=key("S", "ITEM#2"))

    # When the stream is read with the patch and without it
    patched = stream_records()
    with pytest.MonkeyPatch.context() as shipped_moto:
        shipped_moto.setattr(
            DynamoDBStreamsHandler, "get_records", moto_patches.unpatched(DynamoDBStreamsHandler, "get_records")
        )
        shipped = stream_records()

    # Then the records are the same, field for field (timestamps included)
    assert [record["eventName"] for record in patched] == ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"]
    assert patched == shipped


def test_a_queue_hands_out_messages_within_retention_without_counting_the_queue(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="keel-patched", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))

    # Given moto's count of the queue's messages made unusable
    def counted(self: Any) -> Any:
        raise AssertionError("a receive counted every message of the queue")

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counted))

    # When messages are received, they come as before
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(message["Body"] for message in received) == ["0", "1", "2"]


def test_a_message_past_its_queue_retention_is_not_handed_out(aws: None) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="keel-retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    # Given a message sent 61 s ago on a queue that keeps messages 60 s
    queue = sqs_backends[ACCOUNT_ID][REGION].get_queue("keel-retention")
    for message in queue._messages:
        message.sent_timestamp -= 61_000

    # Then no receive hands it out
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_a_stream_reader_waiting_for_an_append_wakes_on_the_next_record(table: str) -> None:
    # Given a reader waiting (up to 30 s) for the next record appended after now
    seen = moto_patches.stream_appends()
    woke = threading.Event()

    def reader() -> None:
        moto_patches.wait_for_stream_append(seen, timeout=30)
        woke.set()

    thread = threading.Thread(target=reader)
    thread.start()
    # When an item is written, then the reader wakes at once, not at its timeout
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=key("W", "ITEM#1"))
    assert woke.wait(5)
    thread.join()


def test_a_stream_reader_that_missed_the_notification_does_not_wait(table: str) -> None:
    # Given a record appended after the reader looked (between its read and its wait)
    seen = moto_patches.stream_appends()
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=key("W", "ITEM#2"))
    # Then its wait returns at once
    started = time.monotonic()
    moto_patches.wait_for_stream_append(seen, timeout=30)
    assert time.monotonic() - started < 1


def test_a_message_is_sent_without_counting_the_queue_and_attributes_answer_as_before(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="keel-sent")["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName="keel-sent.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="first")
    counting = Queue.approximate_number_of_messages

    # Given moto's count of a queue's messages made unusable
    def counted(self: Any) -> Any:
        raise AssertionError("a send counted every message of the queue")

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counted))
    # When messages are sent (one by one, in a batch, and twice the same to a deduplicating FIFO queue)
    sqs.send_message(QueueUrl=url, MessageBody="second")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "b", "MessageBody": "third"}])
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    # Then they are queued as moto queues them: the FIFO queue's content deduplicated the second
    monkeypatch.setattr(Queue, "approximate_number_of_messages", counting)
    for queue, expected in ((url, "3"), (fifo, "1")):
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == expected
    assert sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"][
        "ContentBasedDeduplication"
    ] == ("true")
