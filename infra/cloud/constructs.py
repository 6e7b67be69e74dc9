"""The few constructs every context is built from: a function, a table with its outbox relay, a
consumer (rule -> queue -> function, with a dead-letter queue) and a scheduled job. Each carries the
alarms of what it is: a function its errors and throttles, a queue the age of its oldest message, a
dead-letter queue its first message.

Every function is published as a version behind its ``live`` alias, and whatever invokes it (API
Gateway, an event source mapping, a schedule) invokes the alias: CodeDeploy moves the alias to a new
version by the stage's strategy and moves it back when one of the function's rollback alarms fires."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import topology
from infra.cloud.permissions import RELEASE_SUPPRESSION
from infra.model import DEFAULT_BUS, REPLAY_FIELD, Context, dead_letter_queue_name
from keel.isolation import PARTITION_KEY
from keel.store import OUTBOX_PREFIX

ALARM_PERIOD = cdk.Duration.minutes(5)
#: A function whose p99 duration passes this share of its timeout is about to time out.
NEAR_TIMEOUT = 0.8

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
#: The alias every caller invokes; CodeDeploy shifts it from version to version.
LIVE_ALIAS = "live"
DLQ_RETENTION = cdk.Duration.days(14)  # the SQS maximum: time for a person to look
DESTROY = cdk.RemovalPolicy.DESTROY
#: Settings every Keel table shares: on-demand, point-in-time recovery, encrypted at rest.
TABLE_DEFAULTS: dict[str, Any] = {
    "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
    "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
    "encryption": dynamodb.TableEncryption.AWS_MANAGED,
}
#: The last call before a dead letter expires (SQS keeps a message's first enqueue time in its DLQ).
DLQ_EXPIRY_WARNING_DAYS = 4
#: Attempts on a stream batch before it is split down and finally sent to the relay's DLQ.
RELAY_RETRY_ATTEMPTS = 10
RELAY_BATCH_SIZE = 100
JOB_RETRY_ATTEMPTS = 2


def set_retention(log_group: logs.LogGroup, days: int) -> None:
    """Keep ``log_group``'s events ``days`` days (a CloudWatch Logs retention, checked by the deployment)."""
    typing.cast("logs.CfnLogGroup", log_group.node.default_child).retention_in_days = days


def at_least_once(scope: Construct, id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
    """An alarm as soon as ``metric`` (a count) is one or more in a period."""
    return cloudwatch.Alarm(
        scope,
        id,
        alarm_description=description,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def older_than(scope: Construct, queue: sqs.IQueue, age: cdk.Duration, description: str) -> cloudwatch.Alarm:
    """An alarm when the oldest message of ``queue`` has waited longer than ``age``."""
    return cloudwatch.Alarm(
        scope,
        "AgeAlarm",
        alarm_description=description,
        metric=queue.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, statistic="Maximum"),
        threshold=age.to_seconds(),
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


class Rollout(Construct):
    """How a stack's functions move to a new version: one CodeDeploy application and service role for
    the stack, and the stage's traffic-shifting strategy."""

    def __init__(self, scope: Construct, id: str, *, config: codedeploy.ILambdaDeploymentConfig) -> None:
        super().__init__(scope, id)
        self.application = codedeploy.LambdaApplication(self, "Application")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSCodeDeployRoleForLambdaLimited")
            ],
        )
        self.config = config


class ContextFunction(Construct):
    """A Keel Lambda: Python 3.13 on arm64, traced, named, with its own log group and a role that may only
    write to it (everything else is granted by the caller). It alarms on any error or throttle. Callers
    invoke its ``live`` alias, which its deployment group shifts by ``rollout`` and rolls back when
    its error or latency alarm (or any alarm given to ``add_rollback_alarm``) fires during a deployment."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        log_group_name: str,
        log_retention_days: int,
        handler: str,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        timeout_seconds: int,
        rollout: Rollout | None,
        memory_mb: int = 512,
    ) -> None:
        super().__init__(scope, id)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group = logs.LogGroup(self, "Logs", log_group_name=log_group_name, removal_policy=DESTROY)
        set_retention(log_group, log_retention_days)
        log_group.grant_write(role)
        self.name = name
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{handler}.handler",
            code=code,
            layers=list(layers),
            environment=dict(environment),
            timeout=cdk.Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
        self.error_alarm = at_least_once(
            self, "ErrorAlarm", self.function.metric_errors(period=ALARM_PERIOD), f"{handler} failed (Lambda Errors)"
        )
        at_least_once(
            self,
            "ThrottleAlarm",
            self.function.metric_throttles(period=ALARM_PERIOD),
            f"{handler} was throttled: concurrency is exhausted",
        )
        # Consumers, relays and jobs have no request SLO: a version that slows toward its timeout is
        # what a canary must catch before the timeouts turn into errors and redeliveries.
        self.latency_alarm = cloudwatch.Alarm(
            self,
            "LatencyAlarm",
            alarm_description=f"{handler} ran near its timeout (p99 duration over "
            f"{NEAR_TIMEOUT:.0%} of {timeout_seconds} s in 2 of 3 minutes)",
            metric=self.function.metric_duration(period=cdk.Duration.minutes(1), statistic="p99"),
            threshold=NEAR_TIMEOUT * timeout_seconds * 1000,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        #: What every caller invokes. Without a rollout (a function nothing but CloudFormation calls)
        #: there is no alias: the function runs as deployed.
        self.alias: lambda_.Alias | None = None
        self.deployments: codedeploy.LambdaDeploymentGroup | None = None
        if rollout is not None:
            self.alias = lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.function.current_version)
            self.deployments = codedeploy.LambdaDeploymentGroup(
                self,
                "Deployments",
                alias=self.alias,
                application=rollout.application,
                role=rollout.role,
                deployment_config=rollout.config,
                alarms=[self.error_alarm, self.latency_alarm],
                auto_rollback=codedeploy.AutoRollbackConfig(
                    failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
                ),
            )

    @property
    def live(self) -> lambda_.IFunction:
        """What callers invoke: the ``live`` alias (the function itself when it has none)."""
        return self.alias if self.alias is not None else self.function

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll a deployment of this function back when ``alarm`` fires while traffic shifts."""
        if self.deployments is None:
            raise ValueError(f"{self.name} has no deployment group to roll back")
        self.deployments.add_alarm(alarm)


class DeadLetterQueue(Construct):
    """Where failures wait for a person, with an alarm as soon as the first one arrives and another
    before the oldest expires."""

    def __init__(self, scope: Construct, id: str, *, queue_name: str | None = None) -> None:
        super().__init__(scope, id)
        self.queue = encrypted_queue(self, "Queue", queue_name=queue_name, retention_period=DLQ_RETENTION)
        self.alarm = at_least_once(
            self,
            "Alarm",
            self.queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            f"Messages are waiting in the dead-letter queue {self.node.path}",
        )
        older_than(
            self,
            self.queue,
            cdk.Duration.days(DLQ_RETENTION.to_days() - DLQ_EXPIRY_WARNING_DAYS),
            f"A dead letter in {self.node.path} expires within {DLQ_EXPIRY_WARNING_DAYS} days: redrive or keep it",
        )


def encrypted_queue(scope: Construct, id: str, **props: Any) -> sqs.Queue:
    """An SQS queue with SSE that refuses plain-HTTP access."""
    return sqs.Queue(scope, id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **props)


class ContextTable(dynamodb.Table):
    """A context's single table: ``pk``/``sk`` strings, items expire on ``expires_at``, and the stream
    carries new images for the outbox relay. With ``retain`` (a stage that keeps its data) it outlives
    its stack and refuses deletion; otherwise it goes with the stack."""

    def __init__(self, scope: Construct, id: str, *, table_name: str, publishes: bool, retain: bool) -> None:
        super().__init__(
            scope,
            id,
            **TABLE_DEFAULTS,
            table_name=table_name,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
            stream=dynamodb.StreamViewType.NEW_IMAGE if publishes else None,
            removal_policy=cdk.RemovalPolicy.RETAIN if retain else DESTROY,
            deletion_protection=retain,
        )


class OutboxRelay(Construct):
    """Table stream (outbox inserts only) -> relay function -> ``PutEvents`` on the bus; a batch that
    keeps failing is bisected, then its position lands in a dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        table: dynamodb.ITable,
        bus: events.IEventBus,
        source: str,
        function: ContextFunction,
    ) -> None:
        super().__init__(scope, id)
        self.function = function
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", queue_name=dead_letter_queue_name(name))
        only_outbox_inserts = lambda_.FilterCriteria.filter(
            {
                "eventName": lambda_.FilterRule.is_equal("INSERT"),
                "dynamodb": {"Keys": {"sk": {"S": lambda_.FilterRule.begins_with(OUTBOX_PREFIX)}}},
            }
        )
        function.live.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=RELAY_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=RELAY_RETRY_ATTEMPTS,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.dead_letters.queue),
                filters=[only_outbox_inserts],
            )
        )
        # Only its own context's source: an outbox item typed as another context's event is refused.
        iam.Grant.add_to_principal(
            grantee=function.function,
            actions=["events:PutEvents"],
            resource_arns=[bus.event_bus_arn],
            conditions={"StringEquals": {"events:source": source}},
        )


#: The content filters a topology rule pattern may use, as CDK spells them.
_MATCHERS: dict[str, Callable[[str], list[str]]] = {"wildcard": events.Match.wildcard, "prefix": events.Match.prefix}


def event_pattern(pattern: Mapping[str, Sequence[str | Mapping[str, str]]]) -> events.EventPattern:
    """CDK's form of a rule pattern the topology wrote (``Subscription.event_pattern``), filter for filter."""

    def matchers(values: Sequence[str | Mapping[str, str]]) -> list[str]:
        out = []
        for value in values:
            if isinstance(value, str):
                out.append(events.Match.exact_string(value))
            else:
                ((kind, operand),) = value.items()
                out.append(_MATCHERS[kind](operand))
        return events.Match.any_of(*out)

    fields: dict[str, Any] = {field.replace("-", "_"): matchers(values) for field, values in pattern.items()}
    return events.EventPattern(**fields)


class Consumer(Construct):
    """A subscription: bus rule -> queue (redrive to a dead-letter queue) -> the consumer function,
    which reports partial batch failures so only the failed messages come back. It alarms when a
    message has waited longer than all its attempts should take. A work queue (no event types) has no
    rule: its context sends to it."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        name: str,
        subscription: topology.Subscription,
        function: ContextFunction,
    ) -> None:
        super().__init__(scope, id)
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", queue_name=dead_letter_queue_name(name))
        self.queue = encrypted_queue(
            self,
            "Queue",
            queue_name=name,
            visibility_timeout=cdk.Duration.seconds(subscription.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=topology.MAX_RECEIVE_COUNT, queue=self.dead_letters.queue
            ),
        )
        attempts = cdk.Duration.seconds(subscription.visibility_timeout_seconds * topology.MAX_RECEIVE_COUNT)
        older_than(
            self,
            self.queue,
            attempts,
            f"An event has waited in {name} longer than its {topology.MAX_RECEIVE_COUNT} attempts take: "
            "the consumer is stuck or too slow",
        )
        if not subscription.is_work_queue:
            pattern = dict(subscription.event_pattern)
            replays = pattern.pop(REPLAY_FIELD, None)
            self.rule = events.Rule(
                self,
                "Rule",
                rule_name=name,
                event_bus=bus,
                event_pattern=event_pattern(pattern),
                targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letters.queue)],
            )
            if replays is not None:  # CDK's EventPattern has no field for it: written as the topology says
                rule = typing.cast("events.CfnRule", self.rule.node.default_child)
                rule.add_property_override(f"EventPattern.{REPLAY_FIELD}", replays)
        function.live.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=subscription.batch_size,
                report_batch_item_failures=True,
            ),
        )


class Job(Construct):
    """A schedule -> function. Failed deliveries and invocations that fail every retry land in a
    dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        job: topology.Job,
        function: ContextFunction,
    ) -> None:
        super().__init__(scope, id)
        if not job.schedule.startswith(("rate(", "cron(")):
            raise ValueError(f"job {job.name}: schedule must be rate(...) or cron(...), got {job.schedule!r}")
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", queue_name=dead_letter_queue_name(name))
        events.Rule(
            self,
            "Schedule",
            rule_name=name,
            schedule=events.Schedule.expression(job.schedule),
            targets=[
                targets.LambdaFunction(
                    function.live,
                    retry_attempts=JOB_RETRY_ATTEMPTS,
                    dead_letter_queue=self.dead_letters.queue,
                )
            ],
        )
        function.live.configure_async_invoke(
            retry_attempts=JOB_RETRY_ATTEMPTS, on_failure=destinations.SqsDestination(self.dead_letters.queue)
        )


class Mail(Construct):
    """What a context that sends email needs in SES: the sender's identity (its domain, verified with
    Easy DKIM: publish the CNAME records CloudFormation shows) and the configuration set every email
    goes through, named as the context's functions are told (``Context.email_configuration_set``).
    Its bounces and complaints go to the account's default bus (SES puts events on no other), where
    the context's subscription to ``aws.ses`` picks them up."""

    def __init__(self, scope: Construct, id: str, *, ctx: Context, sender: str | None) -> None:
        super().__init__(scope, id)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=ctx.email_configuration_set,
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.event_bus(
                events.EventBus.from_event_bus_name(self, "DefaultBus", DEFAULT_BUS)
            ),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        self.domain = (sender or "").rsplit("@", 1)[-1].strip(" >") or "keel.local"
        self.identity = ses.EmailIdentity(
            self, "Identity", identity=ses.Identity.domain(self.domain), configuration_set=self.configuration_set
        )

    def grant_release_suppressions(self, grantee: iam.IGrantable) -> None:
        """Take an address off SES's account-level suppression list (a tenant's admin lifting a bounce's
        suppression): an account-level call with no resource-level permissions, hence ``*``."""
        iam.Grant.add_to_principal(grantee=grantee, actions=[RELEASE_SUPPRESSION], resource_arns=["*"])

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """Send email from this identity through this configuration set, and nothing else in SES."""
        stack = cdk.Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[
                stack.format_arn(service="ses", resource="identity", resource_name=self.domain),
                stack.format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=self.configuration_set.configuration_set_name,
                ),
            ],
        )
