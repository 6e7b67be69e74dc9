"""Keel's stacks: the account's settings, the foundation, one stack per context, and the REST API.

The API is its own stack, rendered last: its methods point at every context's API function, and a
context stack needs the foundation (bus, user pool) first, so a REST API in the foundation would make
the stacks depend on each other in a cycle.

What crosses stacks never changes on an ordinary deploy (the bus, the topic, the tables, the user pool,
the functions' ARNs). The Lambda layers, which change with every kernel or dependency change, are built
in each context stack next to the functions that use them: a new layer version and the functions that
move to it are one CloudFormation update, which rolls back as one, and no other stack imports it (an
imported export cannot change: "Cannot update export ... as it is in use").
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_xray as xray
from constructs import Construct

from infra.cloud import bundling, migrations, permissions, protection
from infra.cloud.constructs import (
    ARCHITECTURE,
    RUNTIME,
    TABLE_DEFAULTS,
    Consumer,
    ContextFunction,
    ContextTable,
    Job,
    Mail,
    OutboxRelay,
    Rollout,
    set_retention,
)
from infra.cloud.deployment import Deployment
from infra.cloud.isolation import TenantAccess, isolation_environment
from infra.cloud.monitoring import ApiMetricFilters, ApiMetrics, ApiSlo, ContextDashboard, NotifyOnAlarm
from infra.model import DEFAULT_BUS, is_under
from infra.topology import Context, Topology
from keel import cors
from keel.errors import Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized
from keel.http import NO_ROUTE_MESSAGE, default_headers
from keel.idempotency import record_prefix
from keel.tenancy import DENIED_CODE, DENIED_MESSAGE

API_TIMEOUT = 10  # seconds, well inside API Gateway's 29 s integration limit
API_MEMORY = 1024  # MB; more memory is more CPU: faster cold starts on the request path
RELAY_TIMEOUT = 60  # seconds
#: The whole stage's ceiling: above any one tier's budget (keel.rate_tiers), it shields what is behind it.
THROTTLE_RATE_PER_SECOND = 1000
THROTTLE_BURST = 2000
#: The message of an ACCESS_DENIED: the one the authorizer's Deny put in its context (plain text, quoted here).
DENIED_FROM_CONTEXT = f'"$context.authorizer.{DENIED_MESSAGE}"'
#: API Gateway's own refusals, each in Keel's error shape with the code the kernel (and the local
#: gateway) gives that status; ``None`` keeps API Gateway's message. The two defaults catch the rest.
GATEWAY_ERRORS: tuple[tuple[str, apigateway.ResponseType, str, str | None], ...] = (
    ("Unauthorized", apigateway.ResponseType.UNAUTHORIZED, Unauthorized.code, None),
    # The authorizer's Deny names its own code and message in its context (``tenant_suspended``...).
    ("AccessDenied", apigateway.ResponseType.ACCESS_DENIED, f"$context.authorizer.{DENIED_CODE}", DENIED_FROM_CONTEXT),
    # No resource or method matches: an unknown path, or a method no ANY covers (TRACE, CONNECT...).
    ("NoRoute", apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, Forbidden.code, NO_ROUTE_MESSAGE),
    ("RequestTooLarge", apigateway.ResponseType.REQUEST_TOO_LARGE, PayloadTooLarge.code, None),
    ("Throttled", apigateway.ResponseType.THROTTLED, TooManyRequests.code, None),
    ("QuotaExceeded", apigateway.ResponseType.QUOTA_EXCEEDED, TooManyRequests.code, None),
    ("Default4xx", apigateway.ResponseType.DEFAULT_4_XX, "$context.error.responseType", None),
    ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX, "$context.error.responseType", None),
)

#: How long a throttled caller is told to wait (``Retry-After``, seconds): a rate refills within a
#: second; a day's quota not before the next UTC day, so an hour is the least useless hint.
#: (Keyed by the GATEWAY_ERRORS id: each read of a ResponseType is a new object.)
RETRY_AFTER_SECONDS = {"Throttled": 1, "QuotaExceeded": 3600}

#: Answers larger than this are gzip-compressed for clients that accept it (the Swagger bundle is 1.5 MB).
MIN_COMPRESSION_BYTES = 1024

#: Where Lambda unpacks a function's code asset (its asset files sit at the root).
TASK_ROOT = "/var/task"

_MFA = {"off": cognito.Mfa.OFF, "optional": cognito.Mfa.OPTIONAL, "required": cognito.Mfa.REQUIRED}
#: The X-Ray sampling rule of a stage outranks the default rule (10000) and leaves room for the team's.
SAMPLING_RULE_PRIORITY = 1000


def removal(deployment: Deployment) -> cdk.RemovalPolicy:
    """What deleting the stage does to its data: kept (``retain``) or deleted with it."""
    return cdk.RemovalPolicy.RETAIN if deployment.retains_data else cdk.RemovalPolicy.DESTROY


def deploy_config(deployment: Deployment) -> codedeploy.ILambdaDeploymentConfig:
    """CodeDeploy's predefined config named by the stage's ``deploy`` strategy (``Canary10Percent5Minutes``
    is ``CANARY_10_PERCENT_5_MINUTES``)."""
    words = re.findall(r"[A-Z][a-z]*|[0-9]+", deployment.run.deploy)
    config: codedeploy.ILambdaDeploymentConfig = getattr(codedeploy.LambdaDeploymentConfig, "_".join(words).upper())
    return config


def context_environment(topology: Topology, ctx: Context, deployment: Deployment) -> dict[str, str]:
    """What every function of ``ctx`` reads: the platform's settings, its own context's and the
    deployment's values of them, no other context's."""
    environment = topology.platform_environment(cors_origins=deployment.api.cors_origins)
    environment |= {"POWERTOOLS_SERVICE_NAME": ctx.name, "POWERTOOLS_LOG_LEVEL": deployment.run.log_level}
    environment |= {ctx.setting_name(f.setting): f"{TASK_ROOT}/{f.name}" for f in ctx.asset_files}
    environment |= ctx.environment
    environment |= {k: v for k, v in deployment.settings.items() if k.startswith(ctx.setting_prefix)}
    return environment


class AccountStack(cdk.Stack):
    """What API Gateway needs once per account and region, whatever the stage: the role it writes
    execution logs with. Every stage deploys this same stack, so no stage's stack owns the account's
    setting, and the role is kept when the stack goes (another stage, or another app, may use it)."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, description="Keel account settings: API Gateway's CloudWatch Logs role", **kwargs)
        self.logging_role = iam.Role(
            self,
            "ApiGatewayLogging",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        self.logging_role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        apigateway.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=self.logging_role.role_arn)


class FoundationStack(cdk.Stack):
    """What every context shares: the bus and its archive, the user pool (and its group of
    operators), the idempotency table and the alarm topic."""

    def __init__(self, scope: Construct, id: str, *, topology: Topology, deployment: Deployment, **kwargs: Any) -> None:
        super().__init__(scope, id, description="Keel foundation: bus, users, idempotency, alarms", **kwargs)
        self.alarm_topic = self._alarm_topic(topology.alarm_topic_name, removal(deployment))
        self.bus = events.EventBus(self, "Bus", event_bus_name=topology.bus_name)
        archive = self.bus.archive(
            "Archive",
            archive_name=topology.archive_name,
            event_pattern=events.EventPattern(account=[self.account]),
            retention=cdk.Duration.days(deployment.run.archive_retention_days),
        )
        # CDK writes an empty KmsKeyIdentifier (aws/aws-cdk#37847); the archive uses the AWS-owned key.
        typing.cast("events.CfnArchive", archive.node.default_child).add_property_deletion_override("KmsKeyIdentifier")
        self.idempotency_table = dynamodb.Table(
            self,
            "Idempotency",
            **TABLE_DEFAULTS,
            table_name=topology.idempotency_table,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            removal_policy=cdk.RemovalPolicy.DESTROY,  # records live for a day; nothing to keep
        )
        self._users(topology, deployment)

    def _users(self, topology: Topology, deployment: Deployment) -> None:
        """The user pool and its app client, ready for production when ``keel:cognito`` says how:
        SES sends its email, sign-in is the authorization-code flow to the configured URLs only."""
        settings = deployment.cognito
        email = (
            cognito.UserPoolEmail.with_ses(
                from_email=settings.from_email,
                from_name=settings.from_name,
                reply_to=settings.reply_to,
                ses_region=settings.ses_region or self.region,
                ses_verified_domain=settings.ses_verified_domain,
            )
            if settings.from_email
            else None
        )
        if email is None:
            cdk.Annotations.of(self).add_warning_v2(
                "keel:cognito-email",
                "keel:cognito has no from_email: the user pool sends with Cognito's default sender, about 50 "
                "emails a day, which stalls sign-up in production. Set a verified SES address.",
            )
        mfa = _MFA[settings.mfa]
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=topology.user_pool_name,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # A changed email is used only once its owner confirms it: until then sign-in keeps the old one.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            self_sign_up_enabled=True,
            email=email,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=mfa,
            mfa_second_factor=None if mfa is cognito.Mfa.OFF else cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=deployment.retains_data,
            removal_policy=removal(deployment),
        )
        code_flow = bool(settings.callback_urls)
        self.user_pool_client = self.user_pool.add_client(
            "App",
            user_pool_client_name=topology.app_client_name,
            generate_secret=False,  # a browser or mobile app cannot keep one: PKCE protects the code instead
            # SRP for apps with their own sign-in form (the password never leaves the device); never plain passwords.
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            disable_o_auth=not code_flow,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                callback_urls=list(settings.callback_urls),
                logout_urls=list(settings.logout_urls) or None,
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
            )
            if code_flow
            else None,
        )
        if code_flow:
            domain = self.user_pool.add_domain(
                "SignIn",
                cognito_domain=cognito.CognitoDomainOptions(
                    domain_prefix=settings.domain_prefix or f"{topology.resource_name(self.account)}"
                ),
            )
            cdk.CfnOutput(self, "SignInUrl", value=domain.base_url(), description="The hosted sign-in domain")
        # `keel smoke` signs its throwaway users in here, server-side with IAM credentials (the admin flow
        # needs cognito-idp:AdminInitiateAuth): no password flow is open to the internet.
        self.smoke_client = self.user_pool.add_client(
            "Smoke",
            user_pool_client_name=topology.smoke_client_name,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(admin_user_password=True),
            prevent_user_existence_errors=True,
            disable_o_auth=True,
        )
        # Operators reach /v1/admin: `aws cognito-idp admin-add-user-to-group --group-name <this>`.
        self.operators = cognito.UserPoolGroup(
            self,
            "Operators",
            user_pool=self.user_pool,
            group_name=topology.operators_group(deployment.settings),
            description="Operators of this Keel deployment: they reach /v1/admin, and no tenant by being in it",
        )
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        cdk.CfnOutput(self, "SmokeClientId", value=self.smoke_client.user_pool_client_id)

    @property
    def audiences(self) -> str:
        """The app clients whose tokens the authorizer accepts: the app's and ``keel smoke``'s."""
        return cdk.Fn.join(",", [self.user_pool_client.user_pool_client_id, self.smoke_client.user_pool_client_id])

    def _alarm_topic(self, name: str, removal_policy: cdk.RemovalPolicy) -> sns.Topic:
        """Every Keel alarm notifies this topic; subscribe an inbox, a pager or a chat to it."""
        from_this_account = {"StringEquals": {"aws:SourceAccount": self.account}}
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description="Keel alarm notifications",
            removal_policy=removal_policy,
        )
        # CloudWatch publishes to an encrypted topic only if the key lets it (the AWS-managed key does not).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_this_account,
            )
        )
        topic = sns.Topic(self, "AlarmTopic", topic_name=name, master_key=key, enforce_ssl=True)
        # A topic policy replaces SNS's default one: CloudWatch must be let in explicitly, from this account only.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=from_this_account,
            )
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn, description="Subscribe to Keel's alarms")
        return topic


class ContextStack(cdk.Stack):
    """One bounded context, as the topology lists it: its table, its API function, its consumers, its
    jobs, its layers, its alarms and its dashboard. Each function is granted what its job needs, on
    its own context's table only."""

    def __init__(
        self, scope: Construct, id: str, *, topology: Topology, ctx: Context, foundation: FoundationStack,
        deployment: Deployment, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(scope, id, description=f"Keel context: {ctx.name}", **kwargs)
        self.ctx = ctx
        self.topology = topology
        self.deployment = deployment
        self.rollout = Rollout(self, "Rollout", config=deploy_config(deployment))
        cdk.Aspects.of(self).add(NotifyOnAlarm(foundation.alarm_topic))
        own_authorizer = topology.authorizer_handler if topology.authorizer_context is ctx else None
        # The authorizer's context trusts Keel's user pool unless keel:settings names another issuer.
        user_pool = (
            topology.identity_provider_settings(
                issuer=foundation.user_pool.user_pool_provider_url,
                audience=foundation.audiences,
            )
            if own_authorizer
            else {}
        )
        self._environment = (
            user_pool
            | context_environment(topology, ctx, deployment)
            | (topology.authorizer_cache_settings(deployment.stage) if own_authorizer else {})
            | (topology.usage_plan_settings() if own_authorizer else {})
        )
        self.secrets = {name: self._secret(name) for name in ctx.secrets}
        self._environment |= {f"{ctx.secret_setting(n)}_ARN": s.secret_arn for n, s in self.secrets.items()}
        self.read_secrets = self._read_secrets(topology)
        self.mail = self._mail(deployment)
        self._code = bundling.local_asset(self, self._sources())
        self._layers = [
            self._layer("KeelLayer", bundling.keel_layer_sources(), "keel: Keel's shared kernel"),
            self._layer(
                "DependencyLayer",
                bundling.DependencyLayer(bundling.runtime_requirements()),
                "The runtime dependencies pinned in pyproject.toml",
            ),
        ]
        self.table: ContextTable | None = None
        self.migrations: ContextFunction | None = None
        if ctx.table:
            self.table = ContextTable(
                self, "Table", table_name=ctx.table_name, publishes=True, retain=deployment.retains_data
            )
            relay = self._function(
                "OutboxRelay", ctx.outbox_name, topology.outbox_relay_handler, RELAY_TIMEOUT, table_actions=()
            )
            OutboxRelay(
                self,
                "Outbox",
                name=ctx.outbox_name,
                table=self.table,
                bus=foundation.bus,
                source=ctx.event_source,
                function=relay,
            )
            self.migrations = self._function(
                "Migrations",
                ctx.migrations_function_name,
                migrations.HANDLER,
                migrations.TIMEOUT_SECONDS,
                table_actions=permissions.MIGRATIONS,
                released=False,  # only CloudFormation and `keel migrate` call it, never traffic
                environment=migrations.environment(ctx),
            )

        # What acts for a tenant (its API, its consumers) is told which role to assume for one.
        acting = isolation_environment(self, topology, ctx) if ctx.acts_for_tenants else {}
        self.api_function: ContextFunction | None = None
        if ctx.api_handler:
            self.api_function = self._function(
                "Api", ctx.api_function_name, ctx.api_handler, API_TIMEOUT, API_MEMORY, environment=acting
            )
            if ctx.uses_idempotency:
                self._grant_idempotency(self.api_function, foundation.idempotency_table)
            if self.mail is not None:  # its admins lift suppressions (SES's own list included)
                self.mail.grant_release_suppressions(self.api_function.function)
        self.authorizer_function: ContextFunction | None = None
        if own_authorizer:
            self.authorizer_function = self._function(
                "Authorizer",
                topology.authorizer_name,
                own_authorizer,
                API_TIMEOUT,
                API_MEMORY,
                table_actions=permissions.AUTHORIZER_TABLE,
            )
        self.endpoint_functions = {
            e.name: self._function(
                f"Endpoint-{e.name}", ctx.endpoint_function_name(e), e.handler, e.timeout_seconds, API_MEMORY
            )
            for e in ctx.endpoints
        }
        work_queues, consumers = self._consumers(foundation, acting)
        for job in ctx.jobs:
            runner = self._function(f"Run-{job.name}", ctx.function_name(job), job.handler, job.timeout_seconds)
            Job(self, f"Job-{job.name}", name=ctx.rule_name(job), job=job, function=runner)
            for fed in job.feeds:
                work_queues[fed].queue.grant_send_messages(runner.function)
        self.tenant_access = (
            TenantAccess(
                self,
                "TenantAccess",
                ctx=ctx,
                table=self.table,
                functions=[f.function for f in (self.api_function, *consumers) if f is not None],
            )
            if self.table is not None and acting
            else None
        )
        api_metrics = ApiMetrics(ctx, deployment.stage) if ctx.api_handler else None
        if api_metrics is not None and self.api_function is not None:
            slo = ApiSlo(self, "Slo", metrics=api_metrics)
            # A new version that burns the error budget fast rolls back: the fast burn rate's short
            # window reacts within a canary's minutes (its hour-long twin cannot move that soon).
            for window in slo.rollback_windows:
                self.api_function.add_rollback_alarm(window)
        ContextDashboard(self, "Health", ctx=ctx, api=api_metrics)
        if self.table is not None and self.migrations is not None:
            released = [c for c in self.node.find_all() if isinstance(c, ContextFunction) and c.alias is not None]
            migrations.MigrateBeforeTraffic(self, "Migrate", ctx=ctx, function=self.migrations, released=released)

    def _consumers(
        self, foundation: FoundationStack, acting: Mapping[str, str]
    ) -> tuple[dict[str, Consumer], list[ContextFunction]]:
        """Its subscriptions: each a queue, its rule and its function (``acting``: the settings of tenant
        isolation). Returns the work queues by name, and the consumers' functions."""
        work_queues: dict[str, Consumer] = {}
        consumers: list[ContextFunction] = []
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", DEFAULT_BUS)
        for sub in self.ctx.subscriptions:
            consuming = self._function(
                f"Consume-{sub.name}", self.ctx.function_name(sub), sub.handler, sub.timeout_seconds, environment=acting
            )
            consumers.append(consuming)
            consumer = Consumer(
                self,
                f"Consumer-{sub.name}",
                name=self.ctx.queue_name(sub),
                bus=default_bus if sub.on_default_bus else foundation.bus,
                subscription=sub,
                function=consuming,
            )
            if sub.is_work_queue:  # the context's endpoints feed it, and the jobs that say they do
                work_queues[sub.name] = consumer
                for endpoint in self.endpoint_functions.values():
                    consumer.queue.grant_send_messages(endpoint.function)
        return work_queues, consumers

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

    def _mail(self, deployment: Deployment) -> Mail | None:
        """The SES identity of the sender (``KEEL_<CONTEXT>_SENDER`` in keel:settings) and the configuration set."""
        if not self.ctx.sends_email:
            return None
        return Mail(self, "Mail", ctx=self.ctx, sender=deployment.settings.get(self.ctx.setting_name("SENDER")))

    def _read_secrets(self, topology: Topology) -> dict[str, secretsmanager.ISecret]:
        """Other contexts' secrets it reads, by name (their stacks generate them), each granted to its
        functions; ``KEEL_<CONTEXT>_<NAME>_ARN`` holds the name (``GetSecretValue`` takes either)."""
        found: dict[str, secretsmanager.ISecret] = {}
        for owner, name in self.ctx.reads_secrets:
            secret_name = topology.context(owner).resource_name(name)
            found[name] = secretsmanager.Secret.from_secret_name_v2(self, f"Reads-{owner}-{name}", secret_name)
            self._environment[f"{self.ctx.secret_setting(name)}_ARN"] = secret_name
        return found

    def _secret(self, name: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            f"Secret-{name}",
            secret_name=self.ctx.resource_name(name),
            description=f"Keel {self.ctx.name}: {name}, generated at deploy; read by this context's functions only",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=removal(self.deployment),
        )

    def _sources(self) -> bundling.SourceCopy:
        files = [(f, bundling.REPO_ROOT / f.source) for f in self.ctx.asset_files]
        if self.bundling_required:
            for missing, source in ((f, s) for f, s in files if not s.exists()):
                raise FileNotFoundError(f"{source} is missing: run `{missing.made_by}` before synth")
        return bundling.function_sources(self.ctx.name, [(f.name, source) for f, source in files])

    def _function(
        self,
        id: str,
        name: str,
        handler: str,
        timeout_seconds: int,
        memory_mb: int = 512,
        *,
        table_actions: Sequence[str] = permissions.CONTEXT_TABLE,
        released: bool = True,
        environment: Mapping[str, str] | None = None,
    ) -> ContextFunction:
        if not handler.startswith("keel.") and not self.ctx.owns(handler):
            raise ValueError(f"context {self.ctx.name} cannot run {handler}: it belongs to another context")
        function = ContextFunction(
            self,
            id,
            name=name,
            log_group_name=self.topology.log_group_name(name),
            log_retention_days=self.deployment.run.log_retention_days,
            rollout=self.rollout if released else None,
            handler=handler,
            code=self._code,
            layers=self._layers,
            environment={**self._environment, **(environment or {})},
            timeout_seconds=timeout_seconds,
            memory_mb=memory_mb,
        )
        if table_actions and self.table:
            self.table.grant(function.function, *table_actions)
        for secret in (*self.secrets.values(), *self.read_secrets.values()):
            secret.grant_read(function.function)
        if self.mail is not None:
            self.mail.grant_send(function.function)
        return function

    def _grant_idempotency(self, function: ContextFunction, table: dynamodb.ITable) -> None:
        # The table is shared; a context may touch only the records under its own key prefix.
        iam.Grant.add_to_principal(
            grantee=function.function,
            actions=list(permissions.IDEMPOTENCY_RECORDS),
            resource_arns=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{record_prefix(self.ctx.name)}*"]}},
        )


@dataclass(frozen=True)
class Authorizers:
    tenant: apigateway.IAuthorizer
    user: apigateway.IAuthorizer


#: The stage's access log, one JSON object per request: who (tenant, user), what (method, the path
#: asked for and the route it matched), how it went (status, latencies, errors) and its X-Ray trace.
#: Numbers are unquoted (metric filters compare them); anything that can be empty ("-") is quoted.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": '"$context.requestId"',
    "stage": '"$context.stage"',
    "httpMethod": '"$context.httpMethod"',
    "path": '"$context.path"',
    "resourcePath": '"$context.resourcePath"',
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": '"$context.integration.latency"',
    "integrationStatus": '"$context.integration.status"',
    "responseLength": '"$context.responseLength"',
    "tenantId": '"$context.authorizer.tenant_id"',
    "userId": '"$context.authorizer.user_id"',
    "sourceIp": '"$context.identity.sourceIp"',
    "userAgent": '"$context.identity.userAgent"',
    "requestTime": '"$context.requestTime"',
    "errorMessage": '"$context.error.message"',
    "errorType": '"$context.error.responseType"',
    "authorizerError": '"$context.authorizer.error"',
    "xrayTraceId": '"$context.xrayTraceId"',
}


class ApiStack(cdk.Stack):
    """The REST API: one stage, access logs, tracing, throttling, CORS for the configured origins;
    each context's prefixes route to its API function. Public routes get their own method without
    the authorizer; everything else under a prefix needs the authorizer, and with no authorizer it is
    not routed at all (deny by default). Each context's requests are counted in the access log for
    its SLOs."""

    def __init__(
        self, scope: Construct, id: str, *, topology: Topology, deployment: Deployment,
        contexts: Sequence[ContextStack], **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(scope, id, description="Keel REST API", **kwargs)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=topology.access_log_group_name,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        set_retention(self.access_logs, deployment.api.access_log_retention_days)
        origins = list(deployment.api.cors_origins)
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=topology.rest_api_name,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=False,  # an account-wide setting: the account stack owns it
            # Each tenant's requests count against the key the authorizer names for it (its usage plan).
            api_key_source_type=apigateway.ApiKeySourceType.AUTHORIZER,
            min_compression_size=cdk.Size.bytes(MIN_COMPRESSION_BYTES),
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=origins,
                allow_headers=list(cors.ALLOW_HEADERS),
                allow_methods=list(cors.ALLOW_METHODS),
                expose_headers=list(cors.EXPOSE_HEADERS),
                max_age=cdk.Duration.seconds(cors.MAX_AGE_SECONDS),
            )
            if origins
            else None,
            deploy_options=apigateway.StageOptions(
                stage_name=deployment.stage,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(
                    "{" + ", ".join(f'"{name}": {value}' for name, value in ACCESS_LOG_FIELDS.items()) + "}"
                ),
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
            ),
        )
        # `keel smoke --stage` finds the stage's API here.
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="The stage's API")
        self._error_responses(origins)
        self._sampling(topology, deployment)
        authorizers = self._authorizers(topology, deployment, contexts)
        for stack in contexts:
            paths = []
            if stack.api_function:
                function = self._imported(stack.api_function, f"{stack.ctx.name}-api")
                paths += self._route(stack.ctx, function, authorizers)
            for endpoint in stack.ctx.endpoints:
                paths.append(endpoint.route.path)
                own = self._imported(
                    stack.endpoint_functions[endpoint.name], stack.ctx.endpoint_function_name(endpoint)
                )
                # ANY, as on an API prefix: the function answers 405 with Allow to the other methods.
                self.api.root.resource_for_path(endpoint.route.path).add_method(
                    "ANY",
                    apigateway.LambdaIntegration(own, allow_test_invoke=False),
                    authorization_type=apigateway.AuthorizationType.NONE,
                )
            if paths:  # a context's endpoints count towards its API's objectives
                ApiMetricFilters(
                    self,
                    f"Sli-{stack.ctx.name}",
                    log_group=self.access_logs,
                    metrics=ApiMetrics(stack.ctx, deployment.stage),
                    resource_paths=paths,
                )
        if authorizers is not None:
            self._let_flush_authorizer_cache(topology, deployment.stage, contexts)
        protection.EdgeProtection(
            self,
            "Edge",
            topology=topology,
            stage=self.api.deployment_stage,
            settings=deployment.api,
        )
        if authorizers is not None:
            protection.TenantUsagePlans(
                self,
                "UsagePlans",
                topology=topology,
                api=self.api,
                stage=self.api.deployment_stage,
                provisioners=protection.provisioners(topology, contexts),
            )

    def _let_flush_authorizer_cache(self, topology: Topology, stage: str, contexts: Sequence[ContextStack]) -> None:
        """The authorizer's context must flush this stage's cache of authorizer answers at once when it
        suspends a tenant (its API function) and when a tenant's plan features change (its consumers of
        entitlements): those may read this API's id (an SSM parameter: the context stack cannot reference
        this one without a cycle) and make exactly that call on this stage."""
        owner = next((c for c in contexts if c.authorizer_function), None)
        if owner is None or owner.api_function is None:
            return
        parameter = ssm.StringParameter(
            self,
            "ApiId",
            parameter_name=topology.api_id_parameter(stage),
            string_value=self.api.rest_api_id,
            description="The Keel REST API's id: the authorizer's context flushes its authorizer cache",
        )
        # FlushStageAuthorizersCache is DELETE /restapis/<id>/stages/<stage>/cache/authorizers.
        cache = f"arn:{self.partition}:apigateway:{self.region}::/restapis/{self.api.rest_api_id}/stages/{stage}"
        flushing = [owner.api_function.function, *protection.entitlements_consumers(owner)]
        for n, function in enumerate(flushing):
            if function.role is None:  # every ContextFunction has its own role
                raise ValueError(f"{function.node.path} has no role to grant")
            role = iam.Role.from_role_arn(self, f"FlushingRole{n or ''}", function.role.role_arn, mutable=True)
            parameter.grant_read(role)
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["apigateway:DELETE"], resources=[f"{cache}/cache/authorizers"])
            )

    def _sampling(self, topology: Topology, deployment: Deployment) -> None:
        """The stage's share of traced requests: API Gateway decides for each request it receives, and
        the functions it calls follow its decision."""
        xray.CfnSamplingRule(
            self,
            "Sampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=topology.sampling_rule_name,
                priority=SAMPLING_RULE_PRIORITY,
                fixed_rate=deployment.run.tracing_sample_rate,
                reservoir_size=1,
                service_name=f"{topology.rest_api_name}/{deployment.stage}",
                service_type="AWS::ApiGateway::Stage",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def _imported(self, function: ContextFunction, id: str) -> lambda_.IFunction:
        # Imported so that the invoke permissions live here, next to the methods that need them; by its
        # alias, so that API Gateway calls whichever version CodeDeploy has made live.
        return lambda_.Function.from_function_attributes(
            self, id, function_arn=function.live.function_arn, same_environment=True
        )

    def _authorizers(
        self,
        topology: Topology,
        deployment: Deployment,
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
                results_cache_ttl=cdk.Duration.seconds(deployment.run.authorizer_cache_seconds),
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
    ) -> list[str]:
        """Route ``ctx``'s prefixes and routes to ``function``; returns the resource paths it serves."""
        integration = apigateway.LambdaIntegration(function, allow_test_invoke=False)
        served: list[str] = []
        for prefix in ctx.api_prefixes:
            if authorizers is None and not any(is_under(route.path, prefix) for route in ctx.public_routes):
                raise ValueError(
                    f"{ctx.name} routes {prefix} with no public route and the topology has no authorizer: "
                    "nothing under it could be served (set Topology.authorizer_handler)"
                )
            if authorizers is not None:
                # Operators act in no tenant: their prefixes are authorized on the token alone.
                operators = prefix in ctx.operator_prefixes
                authorizer = authorizers.user if operators else authorizers.tenant
                resource = self.api.root.resource_for_path(prefix)
                for catch_all in (resource, resource.add_resource("{proxy+}")):
                    # A tenant's requests are counted against its own usage plan (the authorizer names its key).
                    catch_all.add_method("ANY", integration, authorizer=authorizer, api_key_required=not operators)
                    served.append(catch_all.path)
        for route in (*ctx.public_routes, *ctx.tenantless_routes):
            if ctx.api_prefix_for(route.path) is None:
                raise ValueError(f"{ctx.name}: route {route} is under none of its prefixes")
        for route in ctx.public_routes:
            self.api.root.resource_for_path(route.path).add_method(
                route.method, integration, authorization_type=apigateway.AuthorizationType.NONE
            )
            served.append(route.path)
        for route in ctx.tenantless_routes:
            if authorizers is None:
                raise ValueError(f"{ctx.name}: tenant-less route {route} needs the topology's authorizer")
            self.api.root.resource_for_path(route.path).add_method(
                route.method, integration, authorizer=authorizers.user
            )
            served.append(route.path)
        return served

    def _error_responses(self, origins: Sequence[str]) -> None:
        # API Gateway's own refusals in Keel's error shape, with the headers every Keel response has,
        # readable by the browser pages of the allowed origins.
        headers = {name: f"'{value}'" for name, value in default_headers().items()}  # static values are quoted
        if origins:
            # A gateway response cannot choose among several origins: with more than one it echoes the
            # caller's. These bodies carry no data and Keel takes no cookies, so nothing leaks by it.
            allow = f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin"
            headers |= {
                "Access-Control-Allow-Origin": allow,
                "Access-Control-Expose-Headers": f"'{', '.join(cors.EXPOSE_HEADERS)}'",
                "Vary": "'Origin'",
            }
        for id, response_type, code, message in GATEWAY_ERRORS:
            text = "$context.error.messageString" if message is None else message
            text = text if message in (None, DENIED_FROM_CONTEXT) else json.dumps(message)
            body = f'{{"error": {{"code": "{code}", "message": {text}, "request_id": "$context.requestId"}}}}'
            retry_after = RETRY_AFTER_SECONDS.get(id)
            self.api.add_gateway_response(
                id,
                type=response_type,
                response_headers=headers | ({"Retry-After": f"'{retry_after}'"} if retry_after else {}),
                templates={"application/json": body},
            )
