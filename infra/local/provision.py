"""Creates on the moto server what the topology says exists: tables with streams, the bus and its
archive, one rule -> queue -> DLQ per subscription, and a verified SES sender domain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.topology import MAX_RECEIVE_COUNT, Context, Subscription, Topology

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

#: Sender domain verified in SES so any ``...@keel.local`` address may send.
LOCAL_EMAIL_DOMAIN = "keel.local"
_DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def queue_name(ctx: Context, sub: Subscription) -> str:
    return f"keel-{ctx.name}-{sub.name}"


def dlq_name(ctx: Context, sub: Subscription) -> str:
    return f"{queue_name(ctx, sub)}-dlq"


def archive_name(topology: Topology) -> str:
    return f"{topology.bus_name}-archive"


def event_pattern(sub: Subscription) -> dict[str, Any]:
    """The rule pattern for a subscription: exact types, ``billing.*`` wildcards, or ``*`` for all."""
    if "*" in sub.event_types:
        return {"source": [{"prefix": "keel."}]}
    return {"detail-type": [{"wildcard": t} if "*" in t else t for t in sub.event_types]}


@dataclass(frozen=True)
class QueueResources:
    """The rule, queue and DLQ that feed one consumer."""

    context: str
    subscription: str
    handler: str
    timeout_seconds: int
    batch_size: int
    queue_name: str
    queue_url: str
    queue_arn: str
    dlq_name: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class Provisioned:
    bus_arn: str
    archive_arn: str
    #: table name -> stream ARN, for every context table (they all publish through their outbox).
    streams: dict[str, str]
    queues: tuple[QueueResources, ...]


@dataclass(frozen=True)
class AwsClients:
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    sqs: SQSClient
    ses: SESClient


def _create_context_table(dynamodb: DynamoDBClient, name: str) -> str:
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return described["TableDescription"]["LatestStreamArn"]


def _create_idempotency_table(dynamodb: DynamoDBClient, name: str) -> None:
    # Powertools' DynamoDBPersistenceLayer defaults: key ``id``, expiry ``expiration``.
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _create_consumer_feed(clients: AwsClients, topology: Topology, ctx: Context, sub: Subscription) -> QueueResources:
    sqs = clients.sqs
    dead_url = sqs.create_queue(
        QueueName=dlq_name(ctx, sub), Attributes={"MessageRetentionPeriod": str(_DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    dead_arn = _queue_arn(sqs, dead_url)
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    url = sqs.create_queue(
        QueueName=queue_name(ctx, sub),
        Attributes={
            "VisibilityTimeout": str(sub.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = _queue_arn(sqs, url)
    rule = queue_name(ctx, sub)
    clients.events.put_rule(
        Name=rule, EventBusName=topology.bus_name, EventPattern=json.dumps(event_pattern(sub)), State="ENABLED"
    )
    clients.events.put_targets(Rule=rule, EventBusName=topology.bus_name, Targets=[{"Id": "queue", "Arn": arn}])
    return QueueResources(
        context=ctx.name,
        subscription=sub.name,
        handler=sub.handler,
        timeout_seconds=sub.timeout_seconds,
        batch_size=sub.batch_size,
        queue_name=queue_name(ctx, sub),
        queue_url=url,
        queue_arn=arn,
        dlq_name=dlq_name(ctx, sub),
        dlq_url=dead_url,
        dlq_arn=dead_arn,
    )


def _sender_domains(topology: Topology) -> set[str]:
    domains = {LOCAL_EMAIL_DOMAIN}
    for ctx in topology.contexts:
        for value in ctx.settings.values():
            if "@" in value and " " not in value:
                domains.add(value.rsplit("@", 1)[1])
    return domains


def provision(topology: Topology, clients: AwsClients) -> Provisioned:
    """Create every resource of ``topology`` on an empty moto server."""
    streams = {
        ctx.table_name: _create_context_table(clients.dynamodb, ctx.table_name)
        for ctx in topology.contexts
        if ctx.table
    }
    _create_idempotency_table(clients.dynamodb, topology.idempotency_table)
    bus_arn = clients.events.create_event_bus(Name=topology.bus_name)["EventBusArn"]
    archive_arn = clients.events.create_archive(
        ArchiveName=archive_name(topology), EventSourceArn=bus_arn, RetentionDays=topology.archive_retention_days
    )["ArchiveArn"]
    queues = tuple(_create_consumer_feed(clients, topology, ctx, sub) for ctx, sub in topology.subscriptions)
    for domain in sorted(_sender_domains(topology)):
        clients.ses.verify_domain_identity(Domain=domain)
    return Provisioned(bus_arn=bus_arn, archive_arn=archive_arn, streams=streams, queues=queues)
