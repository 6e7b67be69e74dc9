"""Keel's stacks: the foundation, one stack per context, and the REST API in front of them.

The API is its own stack, rendered last: its methods point at every context's API function, and a
context stack needs the foundation (bus, layers) first, so a REST API in the foundation would make
the stacks depend on each other in a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from infra.cloud import bundling
from infra.cloud.constructs import (
    ARCHITECTURE,
    LOG_RETENTION,
    RUNTIME,
    TABLE_DEFAULTS,
    Consumer,
    ContextFunction,
    ContextTable,
    Job,
    OutboxRelay,
)
from infra.model import is_under
from infra.topology import AUTHORIZER_CACHE_SECONDS, Context, Topology
from keel.errors import Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized
from keel.http import NO_ROUTE_MESSAGE, default_headers

API_TIMEOUT = 10  # seconds, well inside API Gateway's 29 s integration limit
API_MEMORY = 1024  # MB; more memory is more CPU: faster cold starts on the request path
RELAY_TIMEOUT = 60  # seconds
THROTTLE_RATE_PER_SECOND = 100
THROTTLE_BURST = 200
#: API Gateway's own refusals, each in Keel's error shape with the code the kernel (and the local
#: gateway) gives that status; ``None`` keeps API Gateway's message. The two defaults catch the rest.
GATEWAY_ERRORS: tuple[tuple[str, apigateway.ResponseType, str, str | None], ...] = (
    ("Unauthorized", apigateway.ResponseType.UNAUTHORIZED, Unauthorized.code, None),
    ("AccessDenied", apigateway.ResponseType.ACCESS_DENIED, Forbidden.code, None),
    # No resource or method matches: an unknown path, or a method no ANY covers (TRACE, CONNECT...).
    ("NoRoute", apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, Forbidden.code, NO_ROUTE_MESSAGE),
    ("RequestTooLarge", apigateway.ResponseType.REQUEST_TOO_LARGE, PayloadTooLarge.code, None),
    ("Throttled", apigateway.ResponseType.THROTTLED, TooManyRequests.code, None),
    ("Default4xx", apigateway.ResponseType.DEFAULT_4_XX, "$context.error.responseType", None),
    ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX, "$context.error.responseType", None),
)


#: Where Lambda unpacks a function's code asset (its asset files sit at the root).
TASK_ROOT = "/var/task"


def context_environment(topology: Topology, ctx: Context, stage: str) -> dict[str, str]:
    """What every function of ``ctx`` reads: the platform's settings and its own context's, no other."""
    environment = topology.platform_environment(stage) | {"POWERTOOLS_SERVICE_NAME": ctx.name}
    environment |= {ctx.setting_name(f.setting): f"{TASK_ROOT}/{f.name}" for f in ctx.asset_files}
    environment |= ctx.environment
    return environment


class FoundationStack(cdk.Stack):
    """What every context shares: the bus and its archive, the user pool, the idempotency table and
    the two Lambda layers."""

    def __init__(self, scope: Construct, id: str, *, topology: Topology, **kwargs: Any) -> None:
        super().__init__(scope, id, description="Keel foundation: bus, users, idempotency, layers", **kwargs)
        self.alarm_topic = self._alarm_topic(topology.alarm_topic_name)
        self.bus = events.EventBus(self, "Bus", event_bus_name=topology.bus_name)
        self.bus.archive(
            "Archive",
            archive_name=topology.archive_name,
            event_pattern=events.EventPattern(account=[self.account]),
            retention=cdk.Duration.days(topology.archive_retention_days),
        )
        self.idempotency_table = dynamodb.Table(
            self,
            "Idempotency",
            **TABLE_DEFAULTS,
            table_name=topology.idempotency_table,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            removal_policy=cdk.RemovalPolicy.DESTROY,  # records live for an hour; nothing to keep
        )
        self.layers: list[lambda_.ILayerVersion] = [
            self._layer("KeelLayer", bundling.keel_layer_sources(), "keel: Keel's shared kernel"),
            self._layer(
                "DependencyLayer",
                bundling.DependencyLayer(bundling.runtime_requirements()),
                "The runtime dependencies pinned in pyproject.toml",
            ),
        ]
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            self_sign_up_enabled=True,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.user_pool_client = self.user_pool.add_client(
            "App",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
        )
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)

    def _layer(
        self, id: str, bundler: bundling.SourceCopy | bundling.DependencyLayer, description: str
    ) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            id,
            code=bundling.local_asset(self, bundler),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
        )

    def _alarm_topic(self, name: str) -> sns.Topic:
        """Every Keel alarm notifies this topic; subscribe an inbox, a pager or a chat to it."""
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="Keel alarm notifications")
        # CloudWatch publishes to an encrypted topic only if the key lets it (the AWS-managed key does not).
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "AlarmTopic", topic_name=name, master_key=key, enforce_ssl=True)
        cdk.CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn, description="Subscribe to Keel's alarms")
        return topic


@jsii.implements(cdk.IAspect)
class NotifyOnAlarm:
    """Gives every CloudWatch alarm of a stack the alarm topic as its action (no silent alarms)."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.action = cloudwatch_actions.SnsAction(topic)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cloudwatch.Alarm):
            node.add_alarm_action(self.action)


class ContextStack(cdk.Stack):
    """One bounded context, as the topology lists it: its table, its API function, its consumers and
    its jobs. Only this context's functions are granted its table."""

    def __init__(
        self, scope: Construct, id: str, *, topology: Topology, ctx: Context, foundation: FoundationStack,
        stage: str, deployment_settings: Mapping[str, str], **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(scope, id, description=f"Keel context: {ctx.name}", **kwargs)
        self.ctx = ctx
        self._foundation = foundation
        cdk.Aspects.of(self).add(NotifyOnAlarm(foundation.alarm_topic))
        own_authorizer = topology.authorizer_handler if topology.authorizer_context is ctx else None
        # The authorizer's context trusts Keel's user pool unless keel:settings names another issuer.
        user_pool = (
            topology.identity_provider_settings(
                issuer=foundation.user_pool.user_pool_provider_url,
                audience=foundation.user_pool_client.user_pool_client_id,
            )
            if own_authorizer
            else {}
        )
        self._environment = {
            **context_environment(topology, ctx, stage),
            **user_pool,
            **{k: v for k, v in deployment_settings.items() if k.startswith(ctx.setting_prefix)},
        }
        self.secrets = {name: self._secret(name) for name in ctx.secrets}
        self._environment |= {f"{ctx.secret_setting(n)}_ARN": s.secret_arn for n, s in self.secrets.items()}
        self._code = bundling.local_asset(self, self._sources())
        self.table: ContextTable | None = None
        if ctx.table:
            self.table = ContextTable(self, "Table", table_name=ctx.table_name, publishes=True)
            relay = self._function("OutboxRelay", topology.outbox_relay_handler, RELAY_TIMEOUT, table=False)
            OutboxRelay(self, "Outbox", name=ctx.outbox_name, table=self.table, bus=foundation.bus, function=relay)

        api = ctx.api_handler
        self.api_function = self._function("Api", api, API_TIMEOUT, API_MEMORY) if api else None
        if self.api_function:
            foundation.idempotency_table.grant_read_write_data(self.api_function.function)
        self.authorizer_function: ContextFunction | None = None
        if own_authorizer:
            self.authorizer_function = self._function("Authorizer", own_authorizer, API_TIMEOUT, API_MEMORY)
        self.endpoint_functions = {
            e.name: self._function(f"Endpoint-{e.name}", e.handler, e.timeout_seconds, API_MEMORY)
            for e in ctx.endpoints
        }
        for sub in ctx.subscriptions:
            consumer = Consumer(
                self,
                f"Consumer-{sub.name}",
                name=ctx.queue_name(sub),
                bus=foundation.bus,
                subscription=sub,
                function=self._function(f"Consume-{sub.name}", sub.handler, sub.timeout_seconds),
            )
            if sub.is_work_queue:  # the context's endpoints feed it
                for endpoint in self.endpoint_functions.values():
                    consumer.queue.grant_send_messages(endpoint.function)
        for job in ctx.jobs:
            Job(
                self,
                f"Job-{job.name}",
                name=ctx.rule_name(job),
                job=job,
                function=self._function(f"Run-{job.name}", job.handler, job.timeout_seconds),
            )

    def _secret(self, name: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            f"Secret-{name}",
            secret_name=self.ctx.resource_name(name),
            description=f"Keel {self.ctx.name}: {name}, generated at deploy; read by this context's functions only",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )

    def _sources(self) -> bundling.SourceCopy:
        files = [(f, bundling.REPO_ROOT / f.source) for f in self.ctx.asset_files]
        if self.bundling_required:
            for missing, source in ((f, s) for f, s in files if not s.exists()):
                raise FileNotFoundError(f"{source} is missing: run `{missing.made_by}` before synth")
        return bundling.function_sources(self.ctx.name, [(f.name, source) for f, source in files])

    def _function(
        self, id: str, handler: str, timeout_seconds: int, memory_mb: int = 512, *, table: bool = True
    ) -> ContextFunction:
        if not handler.startswith("keel.") and not self.ctx.owns(handler):
            raise ValueError(f"context {self.ctx.name} cannot run {handler}: it belongs to another context")
        function = ContextFunction(
            self,
            id,
            handler=handler,
            code=self._code,
            layers=self._foundation.layers,
            environment=self._environment,
            timeout_seconds=timeout_seconds,
            memory_mb=memory_mb,
        )
        if table and self.table:
            self.table.grant_read_write_data(function.function)
        for secret in self.secrets.values():
            secret.grant_read(function.function)
        return function


@dataclass(frozen=True)
class Authorizers:
    tenant: apigateway.IAuthorizer
    user: apigateway.IAuthorizer


class ApiStack(cdk.Stack):
    """The REST API: one stage, access logs, tracing, throttling; each context's prefixes route to its
    API function. Public routes get their own method without the authorizer; everything else under a
    prefix needs the authorizer, and with no authorizer it is not routed at all (deny by default)."""

    def __init__(
        self, scope: Construct, id: str, *, topology: Topology, stage: str, contexts: Sequence[ContextStack],
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(scope, id, description="Keel REST API", **kwargs)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name="keel",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.DESTROY,
            deploy_options=apigateway.StageOptions(
                stage_name=stage,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True,
                ),
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
            ),
        )  # fmt: skip
        self._error_responses()
        authorizers = self._authorizers(topology, contexts)
        for stack in contexts:
            if stack.api_function:
                function = self._imported(stack.api_function, f"{stack.ctx.name}-api")
                self._route(stack.ctx, function, authorizers)
            for endpoint in stack.ctx.endpoints:
                own = self._imported(
                    stack.endpoint_functions[endpoint.name], stack.ctx.endpoint_function_name(endpoint)
                )
                # ANY, as on an API prefix: the function answers 405 with Allow to the other methods.
                self.api.root.resource_for_path(endpoint.route.path).add_method(
                    "ANY",
                    apigateway.LambdaIntegration(own, allow_test_invoke=False),
                    authorization_type=apigateway.AuthorizationType.NONE,
                )

    def _imported(self, function: ContextFunction, id: str) -> lambda_.IFunction:
        # Imported so that the invoke permissions live here, next to the methods that need them.
        return lambda_.Function.from_function_attributes(
            self, id, function_arn=function.function.function_arn, same_environment=True
        )

    def _authorizers(
        self,
        topology: Topology,
        contexts: Sequence[ContextStack],
    ) -> Authorizers | None:
        owner = next((c.authorizer_function for c in contexts if c.authorizer_function), None)
        if topology.authorizer_handler and owner is None:
            raise ValueError(f"authorizer {topology.authorizer_handler} names no context of the topology")
        if owner is None:
            return None
        handler = self._imported(owner, "authorizer")
        token = apigateway.IdentitySource.header("Authorization")

        def authorizer(id: str, *sources: str) -> apigateway.RequestAuthorizer:
            return apigateway.RequestAuthorizer(
                self,
                id,
                handler=handler,
                identity_sources=[*sources],
                results_cache_ttl=cdk.Duration.seconds(AUTHORIZER_CACHE_SECONDS),
            )

        # The cache key must hold everything the answer depends on: tenant routes key on the tenant too.
        # API Gateway refuses (401) a request missing any identity source, so the tenant-less routes
        # (sign-up, "who am I") get their own authorizer keyed on the token alone.
        return Authorizers(
            tenant=authorizer("Authorizer", token, apigateway.IdentitySource.header("X-Tenant-Id")),
            user=authorizer("UserAuthorizer", token),
        )

    def _route(
        self,
        ctx: Context,
        function: lambda_.IFunction,
        authorizers: Authorizers | None,
    ) -> None:
        integration = apigateway.LambdaIntegration(function, allow_test_invoke=False)
        for prefix in ctx.api_prefixes:
            if authorizers is None and not any(is_under(route.path, prefix) for route in ctx.public_routes):
                raise ValueError(
                    f"{ctx.name} routes {prefix} with no public route and the topology has no authorizer: "
                    "nothing under it could be served (set Topology.authorizer_handler)"
                )
            if authorizers is not None:
                resource = self.api.root.resource_for_path(prefix)
                for catch_all in (resource, resource.add_resource("{proxy+}")):
                    catch_all.add_method("ANY", integration, authorizer=authorizers.tenant)
        for route in (*ctx.public_routes, *ctx.tenantless_routes):
            if ctx.api_prefix_for(route.path) is None:
                raise ValueError(f"{ctx.name}: route {route} is under none of its prefixes")
        for route in ctx.public_routes:
            self.api.root.resource_for_path(route.path).add_method(
                route.method, integration, authorization_type=apigateway.AuthorizationType.NONE
            )
        for route in ctx.tenantless_routes:
            if authorizers is None:
                raise ValueError(f"{ctx.name}: tenant-less route {route} needs the topology's authorizer")
            self.api.root.resource_for_path(route.path).add_method(
                route.method, integration, authorizer=authorizers.user
            )

    def _error_responses(self) -> None:
        # API Gateway's own refusals in Keel's error shape, with the headers every Keel response has.
        headers = {name: f"'{value}'" for name, value in default_headers().items()}  # static values are quoted
        for id, response_type, code, message in GATEWAY_ERRORS:
            text = json.dumps(message) if message is not None else "$context.error.messageString"
            body = f'{{"error": {{"code": "{code}", "message": {text}, "request_id": "$context.requestId"}}}}'
            self.api.add_gateway_response(
                id,
                type=response_type,
                response_headers=headers,
                templates={"application/json": body},
            )
