"""The kernel's instrumentation through a context's doors (the test-only "things" context under moto):
the Lambda context on every line, one line per event consumed, and one trace from a request through
the relay and two consumers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from keel import observability, outbox_relay, trace_context
from keel.trace_context import TraceContext
from tests.conftest import json_lines
from tests.support import things
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.pipeline import FakeLambdaContext, bus_to_queue, receive, sqs_event, stream_event

TENANT = "ten_01JDCCCCCCCCCCCCCCCCCCCCCC"
ADMIN = authorizer_context(tenant_id=TENANT, role="admin")
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
TRACE_ID = "5759e988bd862e3fe1be46a994272793"


@pytest.fixture
def wired(aws: None) -> Iterator[dict[str, str]]:
    """The things table and its stream; a queue per consumer: created -> stats and forward, forwarded -> witness."""
    stream = create_context_table(things.table())
    create_idempotency_table()
    queues = {
        "stats": bus_to_queue(["things.thing.created.v1"], queue="stats"),
        "forward": bus_to_queue(["things.thing.created.v1"], bus="keel-forward", queue="forward"),
        "witness": bus_to_queue(["things.thing.forwarded.v1"], bus="keel-witness", queue="witness"),
    }
    yield {"stream": stream, **queues}
    things.Flaky.failing = set()
    things.WITNESSED.clear()


def create_thing(name: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    event = api_event("POST", "/v1/things", body={"name": name}, headers=dict(headers or {}), authorizer=ADMIN)
    response = things.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 201, response
    return dict(response_json(response))


def relay(stream_arn: str, *, bus: str = "keel", monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    if monkeypatch is not None:
        monkeypatch.setenv("KEEL_BUS_NAME", bus)
        from keel import settings

        settings.reset()
    assert outbox_relay.handler(stream_event(stream_arn), FakeLambdaContext()) == {"batchItemFailures": []}  # type: ignore[arg-type]


def deliver(queue_url: str, handler: Callable[..., Any]) -> list[dict[str, Any]]:
    messages = receive(queue_url)
    assert messages, "nothing reached the queue"
    handler(sqs_event(messages), FakeLambdaContext())
    return messages


def lines(text: str, message: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if line.get("message") == message]


# -- one line per event consumed ------------------------------------------------------------------------


def test_each_event_consumed_is_one_line_with_its_type_id_attempt_outcome_and_duration(
    wired: dict[str, str], printed: Callable[[], str]
) -> None:
    # Given two things created, one of which the consumer fails on
    things.Flaky.failing = {"broken"}
    create_thing("good", {"X-Correlation-Id": "corr-lines"})
    create_thing("broken")
    relay(wired["stream"])

    # When the batch is delivered
    messages = deliver(wired["stats"], things.consumer_handler)

    # Then each event left one line: its type, id, attempt, outcome and duration, in its own correlation
    consumed = {line["event_id"]: line for line in lines(printed(), "event consumed")}
    envelopes = {json.loads(m["Body"])["detail"]["payload"]["name"]: json.loads(m["Body"])["detail"] for m in messages}
    good, broken = consumed[envelopes["good"]["id"]], consumed[envelopes["broken"]["id"]]
    assert (good["event_type"], good["attempt"], good["outcome"]) == ("things.thing.created.v1", 1, "ok")
    assert good["correlation_id"] == "corr-lines"
    assert good["tenant_id"] == TENANT
    assert good["service"] == "things-stats"
    assert isinstance(good["duration_ms"], float)
    assert (broken["outcome"], broken["level"]) == ("failed", "WARNING")


def test_a_redelivery_is_a_duplicate_on_its_second_attempt(wired: dict[str, str], printed: Callable[[], str]) -> None:
    create_thing("lamp")
    relay(wired["stream"])
    messages = receive(wired["stats"])
    things.consumer_handler(sqs_event(messages), FakeLambdaContext())  # type: ignore[arg-type]

    # When SQS hands the same message over again
    again = receive(wired["stats"]) or messages  # visibility 0: it is back at once
    things.consumer_handler(sqs_event(again), FakeLambdaContext())  # type: ignore[arg-type]

    outcomes = [(line["attempt"], line["outcome"]) for line in lines(printed(), "event consumed")]
    assert outcomes == [(1, "ok"), (2, "duplicate")]


def test_every_line_of_an_invocation_carries_the_lambda_context_and_only_the_first_is_a_cold_start(
    wired: dict[str, str], printed: Callable[[], str]
) -> None:
    @observability.instrumented("coldness", "job")
    def job(event: dict[str, Any], context: Any) -> None:
        observability.for_service("coldness").logger.info("tick")

    job({}, FakeLambdaContext())  # type: ignore[arg-type]
    job({}, FakeLambdaContext())  # type: ignore[arg-type]

    ticks = lines(printed(), "tick")
    assert [tick["cold_start"] for tick in ticks] == [True, False]
    assert ticks[0]["function_name"] == FakeLambdaContext.function_name
    assert ticks[0]["function_memory_size"] == FakeLambdaContext.memory_limit_in_mb
    assert ticks[0]["function_request_id"] == FakeLambdaContext.aws_request_id


def test_an_api_handler_that_raises_still_logs_its_request_line_as_a_500(aws: None, printed: Callable[[], str]) -> None:
    @observability.instrumented("exploding", "api")
    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler(api_event("GET", "/v1/anything"), FakeLambdaContext())

    [line] = lines(printed(), "request")
    assert (line["method"], line["status_code"], line.get("route")) == ("GET", 500, None)  # no route matched


# -- the trace across the event path --------------------------------------------------------------------


def test_an_envelope_written_during_a_request_carries_the_requests_trace(
    wired: dict[str, str], printed: Callable[[], str]
) -> None:
    # When a request that API Gateway traced writes an event
    create_thing("lamp", {"X-Amzn-Trace-Id": XRAY})

    # Then the envelope names that trace; the request line too
    [pending] = outbox_relay.outbox_records(stream_event(wired["stream"]))
    parsed = trace_context.from_traceparent(pending.envelope.traceparent)
    assert parsed is not None
    assert (parsed.trace_id, parsed.sampled) == (TRACE_ID, True)
    assert lines(printed(), "request")[-1]["trace_id"] == TRACE_ID


def test_in_lambda_the_functions_own_xray_trace_is_the_one_an_envelope_carries(
    wired: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_trace = "Root=1-6759e988-0d862e3fe1be46a994272793;Parent=1111111111111111;Sampled=0"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", lambda_trace)

    create_thing("lamp", {"X-Amzn-Trace-Id": XRAY})

    [pending] = outbox_relay.outbox_records(stream_event(wired["stream"]))
    assert pending.envelope.traceparent == "00-6759e9880d862e3fe1be46a994272793-1111111111111111-00"


def test_the_relay_hands_eventbridge_the_envelopes_trace_in_xray_form(
    wired: dict[str, str], printed: Callable[[], str]
) -> None:
    create_thing("lamp", {"X-Amzn-Trace-Id": XRAY, "X-Correlation-Id": "corr-relay"})
    [pending] = outbox_relay.outbox_records(stream_event(wired["stream"]))

    entry = pending.entry("keel")

    trace = trace_context.from_traceparent(pending.envelope.traceparent)
    assert trace is not None
    assert entry["TraceHeader"] == f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={trace.span_id};Sampled=1"
    # And publishing it is one line, in the event's correlation and trace
    relay(wired["stream"])
    [published] = lines(printed(), "event published")
    assert (published["event_type"], published["event_id"]) == ("things.thing.created.v1", pending.envelope.id)
    assert (published["correlation_id"], published["trace_id"]) == ("corr-relay", TRACE_ID)


def test_a_requests_correlation_id_and_trace_reach_a_consumer_two_hops_away(
    wired: dict[str, str], monkeypatch: pytest.MonkeyPatch, printed: Callable[[], str]
) -> None:
    # Given a request with a correlation id, in a trace API Gateway started
    create_thing("lamp", {"X-Amzn-Trace-Id": XRAY, "X-Correlation-Id": "corr-two-hops"})
    relay(wired["stream"], bus="keel-forward", monkeypatch=monkeypatch)

    # When the first consumer handles the event and publishes one of its own, which reaches the second
    deliver(wired["forward"], things.forward_handler)
    relay(wired["stream"], bus="keel-witness", monkeypatch=monkeypatch)
    deliver(wired["witness"], things.witness_handler)

    # Then the second hop received, and worked in, the request's correlation id and trace
    [seen] = things.WITNESSED
    assert seen.envelope.type == "things.thing.forwarded.v1"
    assert seen.envelope.correlation_id == seen.correlation_id == "corr-two-hops"
    hop_two = trace_context.from_traceparent(seen.envelope.traceparent)
    assert hop_two is not None
    assert isinstance(seen.trace, TraceContext)
    assert hop_two.trace_id == seen.trace.trace_id == TRACE_ID
    # And each hop's log lines say so
    consumed = lines(printed(), "event consumed")
    assert {(line["service"], line["trace_id"], line["correlation_id"]) for line in consumed} == {
        ("things-forward", TRACE_ID, "corr-two-hops"),
        ("things-witness", TRACE_ID, "corr-two-hops"),
    }


def test_an_event_without_a_traceparent_is_handled_in_the_consumers_own_trace(wired: dict[str, str]) -> None:
    # Given an event written before envelopes carried a trace
    observability.set_trace(None)
    thing_event = things.envelope(things.ThingForwarded(thing_id="thg_1"), tenant_id=TENANT, aggregate_id="thg_1")
    assert thing_event.traceparent is None
    body = json.dumps({"detail-type": thing_event.type, "source": "keel.things", "detail": thing_event.model_dump()})
    record = sqs_event([{"MessageId": "m-1", "ReceiptHandle": "r", "Body": body, "MD5OfBody": ""}])

    # When it is consumed
    assert things.witness_handler(record, FakeLambdaContext()) == {"batchItemFailures": []}  # type: ignore[arg-type]

    # Then the consumer worked in a trace of its own
    [seen] = things.WITNESSED
    assert isinstance(seen.trace, TraceContext)


# -- watchers -------------------------------------------------------------------------------------------


def test_a_failing_watcher_never_fails_the_handler_it_watches(wired: dict[str, str]) -> None:
    def broken(message: str, fields: Mapping[str, Any]) -> None:
        raise RuntimeError("watcher bug")

    observability.watch(broken)
    try:
        thing = create_thing("lamp")
    finally:
        observability.unwatch(broken)
    assert thing["name"] == "lamp"


def test_a_watcher_sees_each_line_with_the_function_that_logged_it(wired: dict[str, str]) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def watcher(message: str, fields: Mapping[str, Any]) -> None:
        seen.append((message, dict(fields)))

    observability.watch(watcher)
    try:
        create_thing("lamp", {"X-Correlation-Id": "corr-watched"})
    finally:
        observability.unwatch(watcher)
    [(message, fields)] = seen
    assert message == "request"
    assert fields["function_name"] == FakeLambdaContext.function_name
    assert (fields["correlation_id"], fields["route"], fields["status_code"]) == ("corr-watched", "/v1/things", 201)
