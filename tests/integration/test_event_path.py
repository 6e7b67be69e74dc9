"""The event path under moto: outbox -> stream -> relay -> bus -> rule -> queue -> consumer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.model import dead_letter_queue_name
from keel import aws as keel_aws
from keel import outbox_relay
from keel.store import OUTBOX_PREFIX
from tests.support import things
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import all_items, create_context_table, create_idempotency_table
from tests.support.pipeline import (
    FakeLambdaContext,
    bus_to_queue,
    delete_succeeded,
    receive,
    redrive,
    sqs_event,
    stream_event,
)

TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
ADMIN = authorizer_context(tenant_id=TENANT, role="admin")
CONTEXT = FakeLambdaContext()


@pytest.fixture
def wired(aws: None) -> Iterator[dict[str, str]]:
    stream_arn = create_context_table(things.table())
    create_idempotency_table()
    queue_url = bus_to_queue(["things.thing.created.v1"])
    yield {"stream": stream_arn, "queue": queue_url}
    things.Flaky.failing = set()


def create_thing(name: str, correlation_id: str = "corr-1") -> dict[str, Any]:
    response = things.handler(
        api_event(
            "POST", "/v1/things", body={"name": name}, headers={"X-Correlation-Id": correlation_id}, authorizer=ADMIN
        ),
        CONTEXT,  # type: ignore[arg-type]
    )
    assert response["statusCode"] == 201
    return dict(response_json(response))


def relay(stream_arn: str) -> dict[str, Any]:
    return outbox_relay.handler(stream_event(stream_arn), CONTEXT)  # type: ignore[arg-type]


def consume(queue_url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    messages = receive(queue_url)
    result = things.consumer_handler(sqs_event(messages), CONTEXT) if messages else {"batchItemFailures": []}  # type: ignore[arg-type]
    delete_succeeded(queue_url, messages, result)
    return messages, result


def stats() -> dict[str, Any]:
    items = [i for i in all_items(things.table()) if i["sk"] == "STATS#things"]
    return items[0] if items else {}


def test_an_event_goes_round_trip_from_outbox_to_consumer(wired: dict[str, str]) -> None:
    # Given a thing created through the API (state + outbox in one transaction)
    thing = create_thing("lamp", correlation_id="corr-round-trip")
    # When the relay runs on the stream and the consumer on its queue
    assert relay(wired["stream"]) == {"batchItemFailures": []}
    messages, result = consume(wired["queue"])
    # Then the consumer applied the effect exactly once, with the request's correlation id
    assert result == {"batchItemFailures": []}
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])["detail"]
    assert envelope["correlation_id"] == "corr-round-trip"
    assert envelope["tenant_id"] == TENANT
    assert json.loads(messages[0]["Body"])["source"] == "keel.things"
    assert stats()["created"] == 1
    assert stats()["last_thing"] == thing["id"]
    assert any(i["sk"] == f"INBOX#things-stats#{envelope['id']}" for i in all_items(things.table()))


def test_the_same_event_delivered_twice_has_one_effect(wired: dict[str, str]) -> None:
    create_thing("lamp")
    relay(wired["stream"])
    messages = receive(wired["queue"])
    # The same message handed to the consumer twice (at-least-once delivery)
    first = things.consumer_handler(sqs_event(messages), CONTEXT)  # type: ignore[arg-type]
    second = things.consumer_handler(sqs_event(messages), CONTEXT)  # type: ignore[arg-type]
    assert first == second == {"batchItemFailures": []}
    assert stats()["created"] == 1


def test_the_relay_publishing_twice_has_one_effect(wired: dict[str, str]) -> None:
    create_thing("lamp")
    relay(wired["stream"])
    relay(wired["stream"])  # Lambda retrying a stream batch re-publishes it
    for _ in range(2):
        consume(wired["queue"])
    assert stats()["created"] == 1


def test_a_partial_batch_failure_deletes_only_the_good_messages(wired: dict[str, str]) -> None:
    things.Flaky.failing = {"broken"}
    create_thing("good")
    create_thing("broken")
    relay(wired["stream"])
    messages, result = consume(wired["queue"])
    assert len(messages) == 2
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    broken = [m["MessageId"] for m in messages if '"broken"' in m["Body"]]
    assert failed == set(broken)
    left = receive(wired["queue"])
    assert [m["MessageId"] for m in left] == broken
    assert stats()["created"] == 1


def test_a_consumer_failing_five_times_dead_letters_and_a_redrive_recovers(wired: dict[str, str]) -> None:
    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=dead_letter_queue_name("consumer"))["QueueUrl"]
    things.Flaky.failing = {"broken"}
    create_thing("broken")
    relay(wired["stream"])
    # When the consumer fails on every one of five receives
    for _ in range(5):
        messages, result = consume(wired["queue"])
        assert len(messages) == 1
        assert result["batchItemFailures"]
    # Then the sixth receive finds nothing: SQS moved it to the DLQ
    assert receive(wired["queue"]) == []
    dead = receive(dlq_url)
    assert len(dead) == 1
    sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"], VisibilityTimeout=0)
    # When the consumer is fixed and the DLQ is redriven to its source
    things.Flaky.failing = set()
    assert redrive("consumer") == 1
    # Then it succeeds, once
    messages, result = consume(wired["queue"])
    assert len(messages) == 1
    assert result == {"batchItemFailures": []}
    assert stats()["created"] == 1
    assert receive(dlq_url) == []


class FlakyEventBridge:
    """Fakes EventBridge answering some PutEvents entries with an error (as AWS does under throttling)."""

    def __init__(self, real: Any, fail_first_calls: int) -> None:
        self.real = real
        self.fail_first_calls = fail_first_calls
        self.accepted_while_failing = 10**6  # entries let through (one per call) while failing
        self.calls: list[int] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Entries))
        if len(self.calls) > self.fail_first_calls:
            return dict(self.real.put_events(Entries=Entries))
        # Throttled: at most the first entry goes through, the rest come back with an ErrorCode.
        passed = 1 if self.accepted_while_failing > 0 else 0
        self.accepted_while_failing -= passed
        if passed:
            self.real.put_events(Entries=Entries[:1])
        failed = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}] * (len(Entries) - passed)
        return {"FailedEntryCount": len(failed), "Entries": [{"EventId": "ok"}] * passed + failed}


@pytest.fixture
def flaky_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyEventBridge]:
    fake = FlakyEventBridge(keel_aws.events(), fail_first_calls=0)
    monkeypatch.setattr(keel_aws, "events", lambda: fake)
    monkeypatch.setattr(outbox_relay, "_BACKOFF_SECONDS", (0.0, 0.0, 0.0))
    return fake


def test_the_relay_publishes_in_batches_of_ten(wired: dict[str, str], flaky_bus: FlakyEventBridge) -> None:
    for n in range(23):
        create_thing(f"t{n}")
    assert relay(wired["stream"]) == {"batchItemFailures": []}
    assert flaky_bus.calls == [10, 10, 3]


def test_the_relay_retries_entries_eventbridge_rejected(wired: dict[str, str], flaky_bus: FlakyEventBridge) -> None:
    flaky_bus.fail_first_calls = 2
    for n in range(3):
        create_thing(f"t{n}")
    assert relay(wired["stream"]) == {"batchItemFailures": []}
    # 3 entries -> 1 ok + 2 retried -> 1 ok + 1 retried -> 1 ok
    assert flaky_bus.calls == [3, 2, 1]
    for _ in range(3):
        consume(wired["queue"])
    assert stats()["created"] == 3


def test_the_relay_reports_the_first_unpublished_record_and_drops_nothing(
    wired: dict[str, str], flaky_bus: FlakyEventBridge
) -> None:
    flaky_bus.fail_first_calls = 100
    flaky_bus.accepted_while_failing = 1
    for n in range(3):
        create_thing(f"t{n}")
    event = stream_event(wired["stream"])
    outbox_sequence = [
        r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
        if r["dynamodb"]["Keys"]["sk"]["S"].startswith(OUTBOX_PREFIX)
    ]
    result = outbox_relay.handler(event, CONTEXT)  # type: ignore[arg-type]
    # Only the first entry got through; Lambda must resume from the second outbox record.
    assert result == {"batchItemFailures": [{"itemIdentifier": outbox_sequence[1]}]}
    assert len(flaky_bus.calls) == outbox_relay.ATTEMPTS


def test_the_relay_ignores_records_that_are_not_outbox_inserts(
    wired: dict[str, str], flaky_bus: FlakyEventBridge
) -> None:
    create_thing("lamp")
    event = stream_event(wired["stream"])
    state_only = {
        "Records": [r for r in event["Records"] if not r["dynamodb"]["Keys"]["sk"]["S"].startswith(OUTBOX_PREFIX)]
    }
    assert state_only["Records"]
    assert outbox_relay.handler(state_only, CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert flaky_bus.calls == []


def test_two_consumers_of_one_table_each_apply_the_same_event_once(wired: dict[str, str]) -> None:
    # Given one event that two consumers of the things table take (each through its own queue in AWS)
    create_thing("lamp")
    relay(wired["stream"])
    messages = receive(wired["queue"])

    # When each consumer receives it, twice
    for _ in range(2):
        assert things.consumer_handler(sqs_event(messages), CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]
        assert things.forward_handler(sqs_event(messages), CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]

    # Then each applied it once: one count, one forwarded event; neither took the other's for a redelivery
    assert stats()["created"] == 1
    outbox = [i for i in all_items(things.table()) if i["sk"].startswith(OUTBOX_PREFIX)]
    assert sorted(i["event_type"] for i in outbox) == ["things.thing.created.v1", "things.thing.forwarded.v1"]
