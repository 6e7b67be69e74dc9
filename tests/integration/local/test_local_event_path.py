"""The pollers: SQS batches to consumers, the table stream to the outbox relay, DLQ and redrive,
archive replay, and jobs run on demand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, EventBridgeEvent, SQSEvent
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, EventBridgeModel, SqsModel

from infra.local import cli
from keel.store import tenant_pk
from tests.integration.local.app import relay, sink, tick
from tests.integration.local.app.topology import COUNT_THINGS_DLQ, LOCAL_PROBE, LOCAL_THINGS, SINK_DLQ, SINK_QUEUE
from tests.integration.local.conftest import Running, eventually
from tests.support import things
from tests.support.events import sample

TENANT = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"


def signal(running: Running, *keys: str) -> None:
    """Publish one ``probe.signal.sent.v1`` per key, in one PutEvents call."""
    running.aws.events.put_events(
        Entries=[
            {
                "EventBusName": running.runtime.topology.bus_name,
                "Source": "keel.probe",
                "DetailType": "probe.signal.sent.v1",
                "Detail": json.dumps({"key": key}),
            }
            for key in keys
        ]
    )


def bridge_keys() -> set[str]:
    keys = set(sample("eventBridgeEvent"))
    keys.discard("replay-name")  # only replayed events carry it
    return keys


def dead_letters(running: Running, queue: str) -> dict[str, Any]:
    status, body = running.json("GET", "/_local/dlq")
    assert status == 200
    return next(q for q in body["queues"] if q["queue"] == queue)


# -- SQS -> consumer ---------------------------------------------------------------------------------


def test_consumers_get_sqs_batches_shaped_like_the_sample_holding_eventbridge_events(running: Running) -> None:
    key = f"shape-{uuid.uuid4()}"
    signal(running, key)

    eventually(lambda: key in sink.keys_seen())

    batch = next(b for b in sink.BATCHES if key in json.dumps(b))
    record = batch["Records"][0]
    expected = sample("sqsEvent")["Records"][0]
    assert set(batch) == {"Records"}
    assert set(record) == set(expected)
    assert set(record["attributes"]) == set(expected["attributes"])
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:us-east-1:123456789012:{SINK_QUEUE}"
    assert next(iter(SQSEvent(batch).records)).message_id == record["messageId"]
    SqsModel.model_validate(batch)
    # The body is the EventBridge event exactly as a rule's SQS target receives it
    body = json.loads(record["body"])
    assert set(body) == bridge_keys()
    assert list(body) == [k for k in sample("eventBridgeEvent") if k != "replay-name"]
    parsed = EventBridgeEvent(body)
    assert parsed.detail_type == "probe.signal.sent.v1"
    assert parsed.source == "keel.probe"
    assert parsed.detail == {"key": key}
    EventBridgeModel.model_validate(body)


def test_only_the_messages_a_consumer_succeeded_on_are_deleted(running: Running) -> None:
    # Given three events, the middle one failing once
    ok1, flaky, ok2 = (f"{name}-{uuid.uuid4()}" for name in ("ok1", "flaky", "ok2"))
    sink.FAILURES[flaky] = 1

    signal(running, ok1, flaky, ok2)

    # Then the failure comes back and succeeds; the others are never delivered twice
    eventually(lambda: sink.keys_seen().count(flaky) == 2)
    eventually(lambda: _queue_is_empty(running, SINK_QUEUE))
    seen = sink.keys_seen()
    assert seen.count(ok1) == 1
    assert seen.count(ok2) == 1


def _queue_is_empty(running: Running, queue: str) -> bool:
    sqs = running.aws.sqs
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


# -- the whole path: API -> outbox -> stream -> relay -> bus -> queue -> consumer -> DLQ -> redrive ----


def create_thing(running: Running, name: str) -> str:
    status, body = running.json(
        "POST",
        "/v1/things",
        body=json.dumps({"name": name}),
        headers={"Authorization": f"Bearer admin:{TENANT}", "X-Tenant-Id": TENANT, "Content-Type": "application/json"},
    )
    assert status == 201, body
    return str(body["id"])


def stats(running: Running) -> dict[str, Any] | None:
    item = running.aws.dynamodb.get_item(
        TableName=LOCAL_THINGS.table_name, Key={"pk": {"S": tenant_pk(TENANT)}, "sk": {"S": "STATS#things"}}
    ).get("Item")
    return item


def test_a_consumer_failing_five_times_dead_letters_the_event_and_redrive_recovers_it(running: Running) -> None:
    # Given a consumer that fails for this thing
    things.Flaky.failing = {"doomed"}
    try:
        thing_id = create_thing(running, "doomed")

        # Then after five receives moto's redrive moves it to the DLQ
        dlq = eventually(lambda: (q := dead_letters(running, COUNT_THINGS_DLQ))["count"] == 1 and q)
        message = dlq["messages"][0]
        assert message["receiveCount"] == 5
        assert message["body"]["detail"]["payload"]["thing_id"] == thing_id
        assert stats(running) is None
    finally:
        things.Flaky.failing = set()

    # When the consumer is fixed and the DLQ redriven
    assert cli.main(["dlq", "redrive", "count_things", "--state-dir", str(running.state_dir)]) == 0

    # Then the event is applied once, and the DLQ is empty
    item = eventually(lambda: stats(running))
    assert item["created"] == {"N": "1"}
    assert item["last_thing"] == {"S": thing_id}
    assert dead_letters(running, COUNT_THINGS_DLQ)["count"] == 0


def test_the_local_redrive_endpoint_answers_404_for_an_unknown_queue(running: Running) -> None:
    status, body = running.json("POST", "/_local/dlq/nope/redrive")

    assert status == 404
    assert "no dead-letter queue called 'nope'" in body["error"]["message"]


# -- stream -> relay ------------------------------------------------------------------------------------


def write_markers(running: Running, *markers: str) -> None:
    running.aws.dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": LOCAL_THINGS.table_name,
                    "Item": {"pk": {"S": "MARKERS"}, "sk": {"S": m}, "marker": {"S": m}},
                }
            }
            for m in markers
        ]
    )


def test_the_relay_gets_stream_batches_shaped_like_the_sample(running: Running) -> None:
    marker = f"shape-{uuid.uuid4()}"
    write_markers(running, marker)

    batch = eventually(lambda: next((b for b in relay.BATCHES if marker in json.dumps(b)), None))

    record = next(r for r in batch["Records"] if marker in json.dumps(r))
    expected = sample("dynamoStreamEvent")["Records"][0]
    assert set(record) == set(expected)
    assert set(record["dynamodb"]) == set(expected["dynamodb"])
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    assert record["eventSourceARN"].startswith(
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{LOCAL_THINGS.table_name}/stream/"
    )
    parsed = next(iter(DynamoDBStreamEvent(batch).records))
    assert parsed.dynamodb is not None
    assert parsed.dynamodb.sequence_number
    DynamoDBStreamModel.model_validate(batch)


def test_a_failed_relay_record_is_delivered_again_from_that_record(running: Running) -> None:
    # Given three stream records, the middle one failing once
    first, failing, last = (f"{name}-{uuid.uuid4()}" for name in ("first", "failing", "last"))
    relay.FAIL_ONCE.add(failing)

    write_markers(running, first, failing, last)

    # Then the stream is read again starting at the failed record; what came before is not re-sent
    eventually(lambda: sum(failing in batch for batch in relay.delivered_markers()) == 2, timeout=15)
    eventually(lambda: any(last in batch for batch in relay.delivered_markers()))
    batches = [b for b in relay.delivered_markers() if {first, failing, last} & set(b)]
    flat = [m for b in batches for m in b]
    assert flat.count(first) == 1
    assert flat.count(failing) == 2
    retry = next(b for b in batches[1:] if failing in b)
    assert retry[0] == failing


def stream_markers(running: Running) -> list[str]:
    """The markers of every record the things table's stream still holds, from its trim horizon."""
    assert running.runtime.provisioned is not None
    arn = running.runtime.provisioned.streams[running.runtime.topology.context("things").table_name]
    streams = running.aws.streams
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return [r["dynamodb"].get("NewImage", {}).get("marker", {}).get("S", "") for r in records]


def test_the_stream_forgets_the_records_the_relay_has_delivered(running: Running) -> None:
    # Given records the relay has delivered
    marker = f"trimmed-{uuid.uuid4()}"
    write_markers(running, marker)
    eventually(lambda: any(marker in batch for batch in relay.delivered_markers()))
    # Then the stream no longer holds them, as DynamoDB's 24 h retention would eventually have it
    eventually(lambda: marker not in stream_markers(running))


# -- jobs and replay ----------------------------------------------------------------------------------


def test_keel_jobs_run_fires_a_job_against_the_dev_servers_moto_with_a_scheduled_event(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(tick.FIRED)

    assert cli.main(["jobs", "run", "tick", "--state-dir", str(running.state_dir)]) == 0

    assert "against the dev server's moto" in capsys.readouterr().out
    event = tick.FIRED[before]
    assert set(event) == bridge_keys()
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
    assert event["resources"] == [
        f"arn:aws:events:us-east-1:123456789012:rule/{LOCAL_PROBE.rule_name(LOCAL_PROBE.jobs[0])}"
    ]
    assert EventBridgeEvent(event).detail_type == "Scheduled Event"
    EventBridgeModel.model_validate(event)


def test_keel_events_replay_puts_archived_events_back_on_the_bus(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"replay-{uuid.uuid4()}"
    signal(running, key)
    eventually(lambda: key in sink.keys_seen())
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()

    assert cli.main(["events", "replay", "--since", since, "--state-dir", str(running.state_dir)]) == 0

    assert "COMPLETED" in capsys.readouterr().out
    eventually(lambda: sink.keys_seen().count(key) == 2)
    replayed = [
        json.loads(r["body"])
        for b in sink.BATCHES
        for r in b["Records"]
        if key in r["body"] and "replay-name" in r["body"]
    ]
    assert replayed
    assert set(replayed[0]) == set(sample("eventBridgeEvent"))


def test_keel_dlq_list_counts_every_dead_letter_queue(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["dlq", "list", "--state-dir", str(running.state_dir)]) == 0

    out = capsys.readouterr().out
    assert COUNT_THINGS_DLQ in out
    assert SINK_DLQ in out
