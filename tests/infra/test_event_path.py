"""The event path in the template: nothing is dropped silently."""

from __future__ import annotations

import json

from infra.topology import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR
from keel.store import OUTBOX_PREFIX
from tests.infra.cfn import Stack, Synthesized, references, target


def _dead_letter_queues(stack: Stack) -> set[str]:
    """Queues something hands its failures to: a redrive policy, an on-failure destination, a rule's DLQ."""
    dlqs = {
        target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in stack.of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    }
    for type_ in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"):
        for r in stack.of_type(type_).values():
            on_failure = r["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
            dlqs.add(target(on_failure.get("Destination")))
    for rule in stack.of_type("AWS::Events::Rule").values():
        dlqs |= {target(t.get("DeadLetterConfig", {}).get("Arn")) for t in rule["Properties"]["Targets"]}
    return {q for q in dlqs if q}


def _consumed_queues(stack: Stack) -> dict[str, str]:
    """Queue logical id -> the function that reads it (through its alias)."""
    return {
        str(target(m["Properties"]["EventSourceArn"])): stack.function_behind(m["Properties"]["FunctionName"])
        for m in stack.of_type("AWS::Lambda::EventSourceMapping").values()
        if target(m["Properties"]["EventSourceArn"]) in stack.of_type("AWS::SQS::Queue")
    }


def test_every_consumed_queue_redrives_to_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given the topology's consumers, when it is synthesized
    consumed = {(s.name, q) for s in synthesized.stage_stacks().values() for q in _consumed_queues(s)}
    # Then every queue a function reads moves a message to a DLQ after MAX_RECEIVE_COUNT receives
    assert len(consumed) == len(synthesized.topology.subscriptions)
    for stack_name, queue in consumed:
        stack = synthesized.stacks[stack_name]
        redrive = stack.props(queue)["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT
        assert target(redrive["deadLetterTargetArn"]) in stack.of_type("AWS::SQS::Queue")


def test_every_queue_is_either_consumed_or_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given every stack, when its queues are listed
    for stack in synthesized.stage_stacks().values():
        queues = set(stack.of_type("AWS::SQS::Queue"))
        # Then none is an orphan that nothing reads and nothing fails into
        assert queues == set(_consumed_queues(stack)) | _dead_letter_queues(stack), stack.name


def test_every_dead_letter_queue_alarms_on_its_first_message(synthesized: Synthesized) -> None:
    # Given every DLQ: one per subscription, per table (its outbox relay) and per job
    topology = synthesized.topology
    expected = len(topology.subscriptions) + len(topology.jobs) + sum(ctx.table for ctx in topology.contexts)
    assert sum(len(_dead_letter_queues(s)) for s in synthesized.stage_stacks().values()) == expected
    for stack in synthesized.stage_stacks().values():
        alarmed = {
            target(dimension["Value"])
            for alarm in stack.of_type("AWS::CloudWatch::Alarm").values()
            if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and alarm["Properties"]["Threshold"] == 1
            and alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            for dimension in alarm["Properties"]["Dimensions"]
            if dimension["Name"] == "QueueName"
        }
        # Then each one has an alarm that fires on one visible message
        assert _dead_letter_queues(stack) <= alarmed, stack.name


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(synthesized: Synthesized) -> None:
    # Given each consumer queue and the function reading it, as the template says (not the topology)
    pairs = [(s, q, f) for s in synthesized.stage_stacks().values() for q, f in _consumed_queues(s).items()]
    assert len(pairs) == len(synthesized.topology.subscriptions)
    for stack, queue, function in pairs:
        # Then a message is not redelivered while a slow invocation may still be working on it
        visibility = stack.props(queue)["VisibilityTimeout"]
        assert visibility >= VISIBILITY_TIMEOUT_FACTOR * stack.props(function)["Timeout"], queue


def test_consumers_read_in_topology_batches_and_report_item_failures(synthesized: Synthesized) -> None:
    # Given each subscription
    for ctx, sub in synthesized.topology.subscriptions:
        # Then its function reads its queue in the topology's batch size, retrying only failed messages
        synthesized.of(ctx).assertions.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {"BatchSize": sub.batch_size, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
        )


def test_outbox_relay_reads_only_outbox_inserts_bisects_and_keeps_failures(synthesized: Synthesized) -> None:
    # Given every context that owns a table (and so publishes through its outbox)
    for ctx in (c for c in synthesized.topology.contexts if c.table):
        stack = synthesized.of(ctx)
        (mapping,) = [
            m["Properties"]
            for m in stack.of_type("AWS::Lambda::EventSourceMapping").values()
            if "StreamArn" in str(m["Properties"]["EventSourceArn"])
        ]
        # Then the stream mapping retries, bisects, reports partial failures and keeps what fails
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["BatchSize"] == 100
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["MaximumRetryAttempts"] == 10
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        on_failure = mapping["DestinationConfig"]["OnFailure"]["Destination"]
        assert target(on_failure) in stack.of_type("AWS::SQS::Queue")
        (criteria,) = mapping["FilterCriteria"]["Filters"]
        only_outbox_inserts = {
            "eventName": ["INSERT"],
            "dynamodb": {"Keys": {"sk": {"S": [{"prefix": OUTBOX_PREFIX}]}}},
        }
        assert json.loads(criteria["Pattern"]) == only_outbox_inserts
        # And its function runs the kernel's relay
        relay = stack.props(stack.function_behind(mapping["FunctionName"]))
        assert relay["Handler"] == f"{synthesized.topology.outbox_relay_handler}.handler"


def test_jobs_retry_then_keep_failed_runs_in_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given each scheduled job
    for ctx, job in synthesized.topology.jobs:
        stack = synthesized.of(ctx)
        (rule,) = [
            r["Properties"]
            for r in stack.of_type("AWS::Events::Rule").values()
            if r["Properties"].get("ScheduleExpression") == job.schedule
        ]
        (rule_target,) = rule["Targets"]
        alias = str(target(rule_target["Arn"]))
        function = stack.function_behind(rule_target["Arn"])
        # Then the schedule retries delivery and keeps what it cannot deliver
        assert rule_target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        dlq = target(rule_target["DeadLetterConfig"]["Arn"])
        # And a run (of the live alias the schedule invokes) that fails every retry lands in the same DLQ
        (config,) = [
            c["Properties"]
            for c in stack.of_type("AWS::Lambda::EventInvokeConfig").values()
            if target(c["Properties"]["FunctionName"]) == function
        ]
        assert alias in references(config["Qualifier"])
        assert target(config["DestinationConfig"]["OnFailure"]["Destination"]) == dlq


def test_every_alarm_notifies_the_encrypted_alarm_topic(sample: Synthesized) -> None:
    # Given the foundation's alarm topic
    (topic_id, topic) = next(iter(sample.foundation.of_type("AWS::SNS::Topic").items()))
    assert topic["Properties"]["TopicName"] == sample.topology.alarm_topic_name
    assert "KmsMasterKeyId" in topic["Properties"]
    # Then every alarm of every stack has it as an action: an alarm nobody hears is a silent drop
    alarms = list(sample.every("AWS::CloudWatch::Alarm")) + list(sample.every("AWS::CloudWatch::CompositeAlarm"))
    assert alarms
    for stack, logical_id, alarm in alarms:
        actions = json.dumps(alarm["Properties"].get("AlarmActions", []))
        # ... except a burn-rate window, which pages through the composite alarm of its pair
        feeds = [
            composite
            for composite in stack.of_type("AWS::CloudWatch::CompositeAlarm").values()
            if f'"{logical_id}", "Arn"' in json.dumps(composite["Properties"]["AlarmRule"])
        ]
        assert (topic_id in actions) != bool(feeds), f"{stack.name}/{logical_id} notifies no one"
