"""Creates on the moto server what the topology says exists: tables with streams, the bus and its
archive, one rule -> queue -> DLQ per subscription, a verified SES sender domain, and a Cognito
user pool (with its group of operators) that stands in for the OIDC identity provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.local.throttle import make_usage_plans
from infra.topology import DEFAULT_BUS, MAX_RECEIVE_COUNT, Context, Subscription, Topology

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

#: Sender domain verified in SES so any ``...@keel.local`` address may send.
LOCAL_EMAIL_DOMAIN = "keel.local"
_DLQ_RETENTION_SECONDS = 14 * 24 * 3600
#: How long the local archive keeps events: a dev server lives hours, not days.
LOCAL_ARCHIVE_RETENTION_DAYS = 1


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
class IdentityProvider:
    """The local OIDC issuer: a moto Cognito user pool and its app client."""

    user_pool_id: str
    client_id: str
    region: str
    #: The group whose members are operators (``GET /_local/token?operator=1`` puts a user in it).
    operators_group: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def jwks_url(self, moto_endpoint: str) -> str:
        return f"{moto_endpoint}/{self.user_pool_id}/.well-known/jwks.json"


@dataclass(frozen=True)
class Provisioned:
    bus_arn: str
    archive_arn: str
    #: table name -> stream ARN, for every context table (they all publish through their outbox).
    streams: dict[str, str]
    queues: tuple[QueueResources, ...]
    identity_provider: IdentityProvider
    #: The usage plans by rate tier identity keeps tenants' keys in (none without an authorizer context).
    usage_plans: dict[str, str] | None = None


@dataclass(frozen=True)
class AwsClients:
    """The runtime's own clients on moto (handlers make theirs through ``keel.aws``)."""

    dynamodb: DynamoDBClient
    streams: DynamoDBStreamsClient
    events: EventBridgeClient
    sqs: SQSClient
    ses: SESClient
    cognito: CognitoIdentityProviderClient
    apigateway: Any

    @classmethod
    def made_by(cls, client: Callable[[str], Any]) -> AwsClients:
        """One client of each service the runtime uses, made by ``client(service name)``."""
        return cls(
            dynamodb=client("dynamodb"),
            streams=client("dynamodbstreams"),
            events=client("events"),
            sqs=client("sqs"),
            ses=client("ses"),
            cognito=client("cognito-idp"),
            apigateway=client("apigateway"),
        )


def create_context_table(dynamodb: DynamoDBClient, name: str) -> str:
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


def create_idempotency_table(dynamodb: DynamoDBClient, name: str) -> None:
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


def _create_consumer_feed(clients: AwsClients, bus: str, ctx: Context, sub: Subscription) -> QueueResources:
    sqs = clients.sqs
    dead_url = sqs.create_queue(
        QueueName=ctx.dlq_name(sub), Attributes={"MessageRetentionPeriod": str(_DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    dead_arn = _queue_arn(sqs, dead_url)
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    url = sqs.create_queue(
        QueueName=ctx.queue_name(sub),
        Attributes={
            "VisibilityTimeout": str(sub.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = _queue_arn(sqs, url)
    if not sub.is_work_queue:  # a work queue is fed by its context, not by a bus rule
        rule = ctx.rule_name(sub)
        pattern = json.dumps(sub.event_pattern)
        on = DEFAULT_BUS if sub.on_default_bus else bus  # AWS services' events arrive on the default bus
        clients.events.put_rule(Name=rule, EventBusName=on, EventPattern=pattern, State="ENABLED")
        clients.events.put_targets(Rule=rule, EventBusName=on, Targets=[{"Id": "queue", "Arn": arn}])
    return QueueResources(
        context=ctx.name,
        subscription=sub.name,
        handler=sub.handler,
        timeout_seconds=sub.timeout_seconds,
        batch_size=sub.batch_size,
        queue_name=ctx.queue_name(sub),
        queue_url=url,
        queue_arn=arn,
        dlq_name=ctx.dlq_name(sub),
        dlq_url=dead_url,
        dlq_arn=dead_arn,
    )


def _create_identity_provider(
    cognito: CognitoIdentityProviderClient, region: str, operators_group: str
) -> IdentityProvider:
    # Email as the username puts ``email`` into moto's ID tokens, as a Cognito pool set up so does.
    pool = cognito.create_user_pool(
        PoolName="keel-local", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="keel-local",
        ReadAttributes=["email", "email_verified"],  # so ID tokens carry them, as Cognito's do
        ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(GroupName=operators_group, UserPoolId=pool, Description="Operators of this Keel deployment")
    return IdentityProvider(user_pool_id=pool, client_id=client, region=region, operators_group=operators_group)


def _sender_domains(topology: Topology) -> set[str]:
    domains = {LOCAL_EMAIL_DOMAIN}
    for ctx in topology.contexts:
        for value in ctx.settings.values():
            if "@" in value and " " not in value:
                domains.add(value.rsplit("@", 1)[1])
    return domains


def provision(topology: Topology, clients: AwsClients, region: str) -> Provisioned:
    """Create every resource of ``topology`` on an empty moto server."""
    streams = {
        ctx.table_name: create_context_table(clients.dynamodb, ctx.table_name) for ctx in topology.contexts if ctx.table
    }
    create_idempotency_table(clients.dynamodb, topology.idempotency_table)
    bus_arn = clients.events.create_event_bus(Name=topology.bus_name)["EventBusArn"]
    archive_arn = clients.events.create_archive(
        ArchiveName=topology.archive_name,
        EventSourceArn=bus_arn,
        RetentionDays=LOCAL_ARCHIVE_RETENTION_DAYS,
    )["ArchiveArn"]
    bus = topology.bus_name
    queues = tuple(_create_consumer_feed(clients, bus, ctx, sub) for ctx, sub in topology.subscriptions)
    for domain in sorted(_sender_domains(topology)):
        clients.ses.verify_domain_identity(Domain=domain)
    return Provisioned(
        bus_arn=bus_arn,
        archive_arn=archive_arn,
        streams=streams,
        queues=queues,
        identity_provider=_create_identity_provider(clients.cognito, region, topology.operators_group({})),
        usage_plans=make_usage_plans(clients.apigateway, topology) if topology.authorizer_handler else None,
    )
