"""Wire a stream, a bus rule and a queue under moto, and turn what they hold into Lambda events."""

from __future__ import annotations

import json
from typing import Any

import boto3

from infra.local.dlq import DeadLetterQueue
from infra.local.dlq import redrive as dlq_redrive
from infra.local.shapes import sqs_record, stream_record
from infra.model import dead_letter_queue_name
from tests.support.events import sample
from tests.support.staged import STAGED


class FakeLambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def stream_event(stream_arn: str) -> dict[str, Any]:
    """Every record on the table stream, as Lambda's DynamoDB event source delivers them."""
    streams = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += [
            stream_record(r, stream_arn=stream_arn) for r in streams.get_records(ShardIterator=iterator)["Records"]
        ]
    return {"Records": records}


def bus_to_queue(event_types: list[str], *, bus: str = STAGED.bus_name, queue: str = "consumer") -> str:
    """A bus, a rule on ``detail-type`` and a queue (with DLQ after 5 receives) as its target. Returns the queue URL."""
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    if bus != "default":
        events.create_event_bus(Name=bus)
    dlq_url = sqs.create_queue(QueueName=dead_letter_queue_name(queue))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=queue,
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{queue}-rule", EventBusName=bus, EventPattern=json.dumps({"detail-type": event_types}))
    events.put_targets(Rule=f"{queue}-rule", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    return list(
        boto3.client("sqs")
        .receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        .get("Messages", [])
    )


def sqs_event(
    messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:consumer"
) -> dict[str, Any]:
    """Messages from ReceiveMessage as Lambda's SQS event source delivers them (the sample's shape)."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region="us-east-1") for m in messages]}


def delete_succeeded(queue_url: str, messages: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """Do what Lambda does with a partial batch response: delete only what did not fail."""
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    sqs = boto3.client("sqs")
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def redrive(queue: str) -> int:
    """``keel dlq redrive``'s own code: every message of ``<queue>-dlq`` back to ``queue``."""
    dlq = DeadLetterQueue(context="tests", subscription=queue, queue_name=queue, dlq_name=dead_letter_queue_name(queue))
    return dlq_redrive(boto3.client("sqs"), dlq)


def eventbridge_message(detail: dict[str, Any], *, detail_type: str, source: str) -> str:
    """An SQS body as an EventBridge rule target delivers it (AWS's sample, with Keel's detail)."""
    event = dict(sample("eventBridgeEvent"))
    event.pop("replay-name", None)
    event.update({"detail-type": detail_type, "source": source, "detail": detail, "resources": []})
    return json.dumps(event)
