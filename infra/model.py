"""What a topology is made of: contexts, their routes, subscriptions, jobs and asset files.

Every convention both renderers share is defined here once: physical resource names, the path-prefix
rule, the bus rule's pattern, a context's settings and the identity provider's setting names.

Names belong to a stage: ``TOPOLOGY.for_stage("staging")`` renders every stack and physical name with
the stage in it (``Keel-Staging-Identity``, ``keel-staging-identity``), so stages live side by side in
one account. A topology that has no stage yet names nothing (``UnstagedName``): no name is ever
spelled without its stage.
``infra/cloud`` (CDK), ``infra/local`` (moto), the bench and the tests use these, never a copy.
This module imports no CDK and nothing from ``functions``: handlers are named by module path.
"""

from __future__ import annotations

import importlib
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from keel.events import event_source, producer_of
from keel.tenancy import ADMIN_PREFIX, DEFAULT_OPERATORS_GROUP, is_admin_path

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

#: API Gateway caches the authorizer's answer for this long (seconds), keyed on the identity sources.
AUTHORIZER_CACHE_SECONDS = 300
#: A consumer's SQS visibility timeout is this multiple of its Lambda timeout (AWS guidance is >= 6x).
VISIBILITY_TIMEOUT_FACTOR = 6
#: The field EventBridge adds to every event it replays from an archive (its value: the replay's name).
REPLAY_FIELD = "replay-name"
#: The bus AWS services put their events on (SES's bounces and complaints among them).
DEFAULT_BUS = "default"
#: Receives before SQS moves a message to its dead-letter queue.
MAX_RECEIVE_COUNT = 5
#: The first word of every physical name: tables, queues, rules, the alarm topic.
NAME_PREFIX = "keel"
#: A stage's name is the second word of every physical name (``keel-<stage>-...``) and a word of every
#: stack name: lowercase letters and digits only, so that no two (stage, context, resource) triples can
#: render the same name, and short, so that names stay within AWS's limits (an archive's is 48).
STAGE_NAME = re.compile(r"[a-z][a-z0-9]{0,11}")
#: The stage ``keel dev`` renders; no deployment may use it (``keel migrate`` without ``--stage`` is local).
LOCAL_STAGE = "local"
#: The words the platform's own resources take after the stage: no context may be named one of them.
PLATFORM_WORDS = frozenset(
    {"bus", "archive", "idempotency", "alarms", "users", "app", "smoke", "api", "authorizer", "traces", "edge", "tier"}
)
#: A context's name is a Python package under ``functions`` and a word in names and settings.
CONTEXT_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: Where ``make openapi`` writes the merged OpenAPI document, relative to the repository root.
OPENAPI_DOCUMENT = "docs/openapi.json"
#: Browser origins the local runtime's API answers: the usual front-end dev servers on this machine.
LOCAL_CORS_ORIGINS = (
    "http://localhost:3000",
    "http://localhost:5173",
    "http://127.0.0.1:3000",
    "http://127.0.0.1:5173",
)
#: The settings (bare names) that tell the authorizer's context which identity provider to trust.
IDP_ISSUER, IDP_AUDIENCE, IDP_JWKS_URL = "OIDC_ISSUER", "OIDC_AUDIENCE", "JWKS_URL"
#: The settings (bare names) of the authorizer's context that name the REST API whose cache of its
#: answers it flushes: the SSM parameter holding the API's id (the cloud: the API stack writes it), or
#: the id itself (the local runtime, whose gateway stands behind an API on moto).
API_ID_PARAMETER, API_ID = "API_ID_PARAMETER", "API_ID"
#: The setting (bare name) of the authorizer's context naming the SSM parameter that holds API Gateway's
#: usage plans by rate tier (``{tier: id}``), where it keeps each tenant's key.
USAGE_PLANS_PARAMETER = "USAGE_PLANS_PARAMETER"
#: The settings (bare names) of the authorizer's context giving the usage plans' ids themselves (the
#: local runtime's, on moto) and the stage's shared usage key (tenants without a key of their own).
USAGE_PLANS, SHARED_USAGE_KEY = "USAGE_PLANS", "SHARED_USAGE_KEY"
#: The authorizer context's job that gives tenants their usage keys: it may make keys, as sign-up may.
USAGE_KEYS_JOB = "usage-keys"
#: The setting (bare name) of the authorizer's context naming the identity provider group of operators.
OPERATORS_GROUP = "OPERATORS_GROUP"
#: The kernel's settings of tenant isolation (``PlatformSettings.tenant_role_arn``, ``.tenant_keys``).
TENANT_ROLE_SETTING, TENANT_KEYS_SETTING = "KEEL_TENANT_ROLE_ARN", "KEEL_TENANT_KEYS"
#: The settings (bare names) that tell a context using Stripe where Stripe is, its key and its webhook secret.
STRIPE_API_BASE, STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET = "STRIPE_API_BASE", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"
#: The settings (bare names) of a context that sends messages: the API's public URL, and where FCM is.
API_URL_SETTING, FCM_ENDPOINT = "API_URL", "FCM_ENDPOINT"
#: Locally: put each new Stripe customer on a test clock of its own, so ``keel stripe advance`` moves its time.
STRIPE_TEST_CLOCKS = "STRIPE_TEST_CLOCKS"


def dead_letter_queue_name(queue: str) -> str:
    """The dead-letter queue of ``queue``: a consumer's queue, a job's rule or the outbox relay."""
    return f"{queue}-dlq"


def is_under(path: str, prefix: str) -> bool:
    """Whether ``prefix`` routes ``path``: itself or anything below it (``/v1/members/x``, not ``/v1/membersx``)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def is_stage_name(name: str) -> bool:
    """Whether ``name`` can name a stage (``STAGE_NAME``)."""
    return bool(STAGE_NAME.fullmatch(name))


class UnstagedName(LookupError):
    """A name was asked of a topology (or context) that has no stage: every name belongs to one."""


def _check_stage(stage: str | None) -> None:
    if stage is not None and not is_stage_name(stage):
        raise ValueError(f"stage {stage!r}: a lowercase letter, then up to 11 lowercase letters or digits")


def is_context_name(name: str) -> bool:
    """Whether ``name`` can name a context: the pattern, and not a Python keyword."""
    return bool(CONTEXT_NAME.fullmatch(name)) and not keyword.iskeyword(name) and not keyword.issoftkeyword(name)


def _title(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@dataclass(frozen=True)
class Route:
    """One method on one path, as API Gateway and the local gateway see it."""

    method: HttpMethod
    path: str


@dataclass(frozen=True)
class Subscription:
    """Event types one consumer Lambda receives through its own rule -> queue -> DLQ.

    ``name`` is unique in its context and does not repeat it: it becomes ``keel-<context>-<name>``.
    With no event types it is a work queue the context feeds itself (no bus rule): its functions
    find the queue's name in ``KEEL_<CONTEXT>_<NAME>_QUEUE`` and may send to it.
    """

    name: str
    handler: str  # module path; the module exposes ``handler``
    event_types: tuple[str, ...]
    timeout_seconds: int = 30
    batch_size: int = 10
    #: Only events replayed from the bus archive reach it, never live ones (a read model's rebuild).
    replays_only: bool = False
    #: An AWS service's events instead of Keel's (``aws.ses``): ``event_types`` are then its detail-types,
    #: and the rule is on the account's default bus, the only one AWS services put their events on.
    aws_source: str | None = None

    def __post_init__(self) -> None:
        if self.aws_source is not None and not (self.aws_source.startswith("aws.") and self.event_types):
            raise ValueError(f"subscription {self.name}: aws_source is an AWS source (aws.<service>) with detail-types")

    @property
    def visibility_timeout_seconds(self) -> int:
        return self.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR

    @property
    def on_default_bus(self) -> bool:
        """Its rule is on the account's default bus (an AWS service's events), not on Keel's."""
        return self.aws_source is not None

    @property
    def is_work_queue(self) -> bool:
        """Fed by the context itself, not by a bus rule."""
        return not self.event_types

    @property
    def event_pattern(self) -> dict[str, Any]:
        """The bus rule's pattern: exact types, ``billing.*`` families, or ``*`` for every Keel event
        (only those replayed from the archive when ``replays_only``).

        It names the producers' ``source`` too: each relay may only put its own context's source, so an
        outbox item typed as another context's event can never match this rule."""
        if self.aws_source is not None:
            return {"source": [self.aws_source], "detail-type": list(self.event_types)}
        replays: dict[str, Any] = {REPLAY_FIELD: [{"exists": True}]} if self.replays_only else {}
        if "*" in self.event_types:
            return {"source": [{"prefix": f"{NAME_PREFIX}."}], **replays}
        sources = sorted({event_source(producer_of(t)) for t in self.event_types})
        detail_types = [{"wildcard": t} if "*" in t else t for t in self.event_types]
        return {"source": sources, "detail-type": detail_types, **replays}


@dataclass(frozen=True)
class Endpoint:
    """A public route served by a function of its own, not by the context's API function: a webhook
    receiver, whose cold start, concurrency and permissions must not be the API's. The function is
    ``keel-<context>-<name>``; its module exposes ``handler`` (and ``app``, its resolver, for the
    OpenAPI document). ``caller`` names who calls it: ``stripe`` points the local Stripe emulator's
    webhooks at it."""

    name: str
    route: Route
    handler: str
    caller: str | None = None
    timeout_seconds: int = 10


@dataclass(frozen=True)
class Job:
    """A scheduled handler. ``schedule`` is an EventBridge expression: ``rate(...)`` or ``cron(...)``."""

    name: str
    handler: str
    schedule: str
    timeout_seconds: int = 300
    #: The context's work queues (subscription names) it sends to: only these may it feed.
    feeds: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssetFile:
    """A file a context's functions read at run time, beyond its own package: shipped at the root of
    its code asset in the cloud, read from the repository locally."""

    #: Its name at the root of the asset (``/var/task/<name>`` in Lambda).
    name: str
    #: Where it is in the repository, relative to the root.
    source: str
    #: The context's setting that holds its path (a bare name, as in ``Context.settings``).
    setting: str
    #: The command that writes it, for the error when it is missing.
    made_by: str


@dataclass(frozen=True)
class Context:
    """A bounded context: its table, its API, what it consumes and what it runs on a schedule."""

    name: str
    api_handler: str | None = None
    #: Path prefixes routed to ``api_handler`` (``/v1/members`` also routes ``/v1/members/...``). A
    #: prefix under ``ADMIN_PREFIX`` (``/v1/admin/<area>``, one area per context) holds operator routes:
    #: both renderers serve it with the authorizer cached on ``Authorization`` alone.
    api_prefixes: tuple[str, ...] = ()
    #: Routes served without the authorizer. Everything else under the prefixes is authorized.
    public_routes: tuple[Route, ...] = ()
    #: Routes for a signed-in user who has no tenant yet (sign-up, "who am I", accepting an invitation).
    #: They get an authorizer cached on ``Authorization`` alone; every other authorized route is
    #: tenant-scoped and cached on ``Authorization`` + ``X-Tenant-Id``, which callers must then send.
    tenantless_routes: tuple[Route, ...] = ()
    #: Whether the context owns a DynamoDB table (and publishes events through its outbox stream).
    table: bool = True
    #: Whether the context needs Stripe (only then does its function import ``stripe``).
    uses_stripe: bool = False
    #: Public routes with a function of their own (webhook receivers).
    endpoints: tuple[Endpoint, ...] = ()
    #: Whether its API honours ``Idempotency-Key`` on some route (``keel.idempotency``): only then may
    #: its API function use the idempotency table, and only for records under its own key prefix.
    uses_idempotency: bool = False
    subscriptions: tuple[Subscription, ...] = ()
    jobs: tuple[Job, ...] = ()
    #: Extra plain settings the context reads, as ``KEEL_<CONTEXT>_<NAME>`` -> value.
    settings: dict[str, str] = field(default_factory=dict)
    #: Files beyond ``functions/<context>`` its functions read.
    asset_files: tuple[AssetFile, ...] = ()
    #: Secrets the context reads once per container, by name (``invitation-key``): in the cloud a
    #: generated Secrets Manager secret only this context's functions may read, its ARN in
    #: ``KEEL_<CONTEXT>_<NAME>_ARN``; locally a fixed, development-only value in ``KEEL_<CONTEXT>_<NAME>``.
    secrets: tuple[str, ...] = ()
    #: Other contexts' secrets it reads, as ``(owner context, secret name)``: the owner generates it; this
    #: context is granted read and finds it under ``KEEL_<CONTEXT>_<NAME>`` as its own secrets (identity's
    #: ``invitation-key`` for the mailer, which makes invitation links).
    reads_secrets: tuple[tuple[str, str], ...] = ()
    #: Whether it sends email through SES: the renderers give it a configuration set
    #: (``KEEL_<CONTEXT>_CONFIGURATION_SET``) and, in the cloud, the sender's identity.
    sends_email: bool = False
    #: The module of its Lambda code whose ``LEADING_KEYS`` lists every partition a tenant's credentials
    #: may touch in its table (``dynamodb:LeadingKeys`` patterns, ``keel.isolation``): the tenant's own
    #: and the global lookups its tenant-scoped transactions need. ``None``: the tenant's own only.
    keys_module: str | None = None
    #: The stage its names belong to; set by ``Topology.for_stage`` (or ``for_stage``), never by hand.
    stage: str | None = None

    def __post_init__(self) -> None:
        if not is_context_name(self.name):
            raise ValueError(f"context name {self.name!r}: lowercase letters, digits and underscores, not a keyword")
        _check_stage(self.stage)
        for prefix in self.api_prefixes:
            if prefix.rstrip("/") == ADMIN_PREFIX:
                raise ValueError(f"{self.name}: route an area of its own under {ADMIN_PREFIX} ({ADMIN_PREFIX}/<area>)")
        for route in self.public_routes:
            if is_admin_path(route.path):
                raise ValueError(f"{self.name}: {route} is under {ADMIN_PREFIX}, which only operators reach")
        work_queues = {sub.name for sub in self.subscriptions if sub.is_work_queue}
        for job in self.jobs:
            if set(job.feeds) - work_queues:
                raise ValueError(
                    f"{self.name}: job {job.name!r} feeds {sorted(set(job.feeds) - work_queues)}: no such work queue"
                )
        named: tuple[Subscription | Job | Endpoint, ...] = (*self.subscriptions, *self.jobs, *self.endpoints)
        for item in named:
            if item.name == self.name or item.name.startswith((f"{self.name}-", f"{self.name}_")):
                short = item.name[len(self.name) + 1 :] or "another name"
                raise ValueError(
                    f"{self.name}: {item.name!r} repeats the context in its name "
                    f"({NAME_PREFIX}-<stage>-{self.name}-{item.name}); call it {short!r}"
                )

    def for_stage(self, stage: str) -> Context:
        """This context with every name rendered for ``stage``."""
        return replace(self, stage=stage)

    # -- code ---------------------------------------------------------------------------------------

    def tenant_leading_keys(self) -> tuple[str, ...]:
        """The partitions (``dynamodb:LeadingKeys`` patterns, the tenant as IAM's session-tag variable)
        that its API and consumers may touch while they act for a tenant: read from ``keys_module``
        when it names one (its Lambda code is imported then, not when the topology is read)."""
        if self.keys_module is None:
            from keel.store import tenant_partitions  # noqa: PLC0415 - only the renderers ask

            return tenant_partitions()
        keys = importlib.import_module(self.keys_module).LEADING_KEYS
        if not isinstance(keys, tuple) or not all(isinstance(k, str) for k in keys):
            raise TypeError(f"{self.keys_module}.LEADING_KEYS must be a tuple of strings")
        return keys

    @property
    def acts_for_tenants(self) -> bool:
        """Whether some of its functions act for a tenant on its table (its API, its consumers): only
        then does it get a tenant-access role."""
        return self.table and bool(self.api_handler or self.subscriptions)

    @property
    def package(self) -> str:
        """The Python package of its Lambda code."""
        return f"functions.{self.name}"

    def owns(self, handler: str) -> bool:
        return handler.startswith(f"{self.package}.")

    # -- names --------------------------------------------------------------------------------------

    @property
    def _stage(self) -> str:
        if self.stage is None:
            raise UnstagedName(f"the {self.name} context names nothing until it has a stage: topology.for_stage(...)")
        return self.stage

    def resource_name(self, name: str) -> str:
        """The physical name of one of this context's resources, the same in the cloud and locally."""
        return f"{self.table_name}-{name}"

    @property
    def table_name(self) -> str:
        return f"{NAME_PREFIX}-{self._stage}-{self.name}"

    @property
    def stack_name(self) -> str:
        return f"{_title(NAME_PREFIX)}-{_title(self._stage)}-{_title(self.name)}"

    @property
    def tenant_role_name(self) -> str:
        """The role its API and consumers assume, with the tenant as a session tag (``keel.isolation``)."""
        return self.resource_name("tenant")

    @property
    def api_function_name(self) -> str:
        return self.resource_name("api")

    def function_name(self, item: Subscription | Job) -> str:
        """The function of a consumer or a job (named as its queue or its schedule)."""
        return self.resource_name(item.name)

    @property
    def migrations_function_name(self) -> str:
        """The function that runs this context's data migrations (``keel.migrations``)."""
        return self.resource_name("migrate")

    @property
    def migrations_package(self) -> str:
        """Where its data migrations are: ``functions/<context>/migrations/NNNN_name.py``."""
        return f"{self.package}.migrations"

    @property
    def event_source(self) -> str:
        """The ``source`` of the events this context's outbox relay publishes."""
        return event_source(self.name)

    @property
    def dashboard_name(self) -> str:
        return self.resource_name("health")

    @property
    def email_configuration_set(self) -> str:
        """The SES configuration set its emails go through (``sends_email``)."""
        return self.resource_name("email")

    @property
    def outbox_name(self) -> str:
        """The outbox relay's name (its DLQ is ``outbox_dlq_name``)."""
        return self.resource_name("outbox")

    @property
    def outbox_dlq_name(self) -> str:
        return dead_letter_queue_name(self.outbox_name)

    def queue_name(self, sub: Subscription) -> str:
        return self.resource_name(sub.name)

    def endpoint_function_name(self, endpoint: Endpoint) -> str:
        return self.resource_name(endpoint.name)

    def queue_setting(self, sub: Subscription) -> str:
        """Where a work queue's name is given to the context's functions: ``KEEL_<CONTEXT>_<NAME>_QUEUE``."""
        return self.setting_name(f"{sub.name.replace('-', '_')}_queue")

    def rule_name(self, item: Subscription | Job) -> str:
        """A subscription's bus rule, or a job's schedule (and its function, locally)."""
        return self.resource_name(item.name)

    def dlq_name(self, item: Subscription | Job) -> str:
        return dead_letter_queue_name(self.resource_name(item.name))

    # -- routes -------------------------------------------------------------------------------------

    def api_prefix_for(self, path: str) -> str | None:
        """The longest of its API prefixes that routes ``path``, if any."""
        return max((p for p in self.api_prefixes if is_under(path, p)), key=len, default=None)

    @property
    def operator_prefixes(self) -> tuple[str, ...]:
        """Its prefixes under ``ADMIN_PREFIX``: operator routes, authorized on the token alone."""
        return tuple(p for p in self.api_prefixes if is_admin_path(p))

    # -- settings -----------------------------------------------------------------------------------

    @property
    def setting_prefix(self) -> str:
        return f"{NAME_PREFIX.upper()}_{self.name.upper()}_"

    def setting_name(self, name: str) -> str:
        """``KEEL_<CONTEXT>_<NAME>`` for a bare name; a full name is kept as it is."""
        return name if name.startswith(self.setting_prefix) else f"{self.setting_prefix}{name.upper()}"

    def secret_setting(self, name: str) -> str:
        """``KEEL_<CONTEXT>_<NAME>`` of a secret (its ARN's setting adds ``_ARN``)."""
        return self.setting_name(name.replace("-", "_"))

    @property
    def environment(self) -> dict[str, str]:
        """The context's own settings as environment variables (its table and its ``settings``)."""
        values = {self.setting_name(name): value for name, value in self.settings.items()}
        if self.table:
            values[self.setting_name("TABLE")] = self.table_name
        for sub in self.subscriptions:
            if sub.is_work_queue:
                values[self.queue_setting(sub)] = self.queue_name(sub)
        if self.sends_email:
            values[self.setting_name("CONFIGURATION_SET")] = self.email_configuration_set
        return values


@dataclass(frozen=True, kw_only=True)
class Topology:
    """What Keel deploys; ``for_stage`` renders it for one stage, whose names it then gives."""

    authorizer_handler: str | None
    outbox_relay_handler: str
    contexts: tuple[Context, ...]
    #: The stage its names belong to (``for_stage``); ``None`` for the catalog itself.
    stage: str | None = None

    def __post_init__(self) -> None:
        names = [ctx.name for ctx in self.contexts]
        if len(set(names)) != len(names):
            raise ValueError(f"context names must be unique: {', '.join(names)}")
        taken = sorted(PLATFORM_WORDS.intersection(names))
        if taken:
            raise ValueError(f"context {', '.join(taken)}: the platform's own resources are named so")
        _check_stage(self.stage)
        if self.stage is not None:  # a staged topology's contexts name things for its stage too
            object.__setattr__(self, "contexts", tuple(ctx.for_stage(self.stage) for ctx in self.contexts))

    def for_stage(self, stage: str) -> Topology:
        """This topology with every stack and physical name rendered for ``stage``."""
        return replace(self, stage=stage)

    def context(self, name: str) -> Context:
        for ctx in self.contexts:
            if ctx.name == name:
                return ctx
        raise KeyError(name)

    # -- names --------------------------------------------------------------------------------------

    @property
    def _stage(self) -> str:
        if self.stage is None:
            raise UnstagedName("a topology names nothing until it has a stage: topology.for_stage(...)")
        return self.stage

    def resource_name(self, name: str) -> str:
        """The physical name of one of the platform's own resources: ``keel-<stage>-<name>``."""
        return f"{NAME_PREFIX}-{self._stage}-{name}"

    def _stack(self, name: str) -> str:
        return f"{_title(NAME_PREFIX)}-{_title(self._stage)}-{name}"

    @property
    def bus_name(self) -> str:
        return self.resource_name("bus")

    @property
    def archive_name(self) -> str:
        return self.resource_name("archive")

    @property
    def idempotency_table(self) -> str:
        return self.resource_name("idempotency")

    @property
    def alarm_topic_name(self) -> str:
        return self.resource_name("alarms")

    @property
    def authorizer_name(self) -> str:
        return self.resource_name("authorizer")

    @property
    def user_pool_name(self) -> str:
        return self.resource_name("users")

    @property
    def app_client_name(self) -> str:
        return self.resource_name("app")

    @property
    def smoke_client_name(self) -> str:
        """The user pool client ``keel smoke`` signs its throwaway users in with (admin flow only)."""
        return self.resource_name("smoke")

    @property
    def rest_api_name(self) -> str:
        return self.resource_name("api")

    @property
    def sampling_rule_name(self) -> str:
        """The X-Ray sampling rule of the stage (at most 32 characters: the stage name is short)."""
        return self.resource_name("traces")

    def parameter_name(self, name: str) -> str:
        """An SSM parameter of the stage: ``/keel/<stage>/<name>``."""
        return f"/{NAME_PREFIX}/{self._stage}/{name}"

    def log_group_name(self, function_name: str) -> str:
        """Where a function of the stage logs (Lambda's own convention, for the console and the CLI)."""
        return f"/aws/lambda/{function_name}"

    @property
    def access_log_group_name(self) -> str:
        return f"/aws/apigateway/{self.rest_api_name}/access"

    @property
    def foundation_stack_name(self) -> str:
        return self._stack("Foundation")

    @property
    def api_stack_name(self) -> str:
        return self._stack("Api")

    @property
    def stack_names(self) -> tuple[str, ...]:
        """Every stack of the stage, in deploy order (the account's stack is no stage's)."""
        return (self.foundation_stack_name, *(ctx.stack_name for ctx in self.contexts), self.api_stack_name)

    @property
    def account_stack_name(self) -> str:
        """Settings of the account and region, not of a stage: every stage shares this one stack."""
        return f"{_title(NAME_PREFIX)}-Account"

    def platform_environment(self, *, cors_origins: Sequence[str] = ()) -> dict[str, str]:
        """The settings every function reads whatever its context (the kernel's ``PlatformSettings``);
        ``cors_origins`` are the browser origins the API answers (``keel.cors``)."""
        return {
            "KEEL_STAGE": self._stage,
            "KEEL_BUS_NAME": self.bus_name,
            "KEEL_IDEMPOTENCY_TABLE": self.idempotency_table,
            "POWERTOOLS_METRICS_NAMESPACE": _title(NAME_PREFIX),
        } | ({"KEEL_CORS_ORIGINS": ",".join(cors_origins)} if cors_origins else {})

    def tenant_isolation_environment(self, role_arn: str, contexts: Sequence[Context] | None = None) -> dict[str, str]:
        """What makes ``keel.aws.dynamodb()`` act with a tenant's credentials while a request or event acts
        for one: the role to assume (``role_arn``) and, per table of ``contexts`` (all by default), the
        partitions those credentials may touch, as the role's policy grants them."""
        chosen = self.contexts if contexts is None else contexts
        keys = {ctx.table_name: list(ctx.tenant_leading_keys()) for ctx in chosen if ctx.table}
        return {TENANT_ROLE_SETTING: role_arn, TENANT_KEYS_SETTING: json.dumps(keys, sort_keys=True)}

    # -- what the contexts hold ---------------------------------------------------------------------

    @property
    def subscriptions(self) -> list[tuple[Context, Subscription]]:
        return [(ctx, sub) for ctx in self.contexts for sub in ctx.subscriptions]

    @property
    def jobs(self) -> list[tuple[Context, Job]]:
        return [(ctx, job) for ctx in self.contexts for job in ctx.jobs]

    @property
    def public_routes(self) -> list[Route]:
        """Routes served without the authorizer: the contexts' own, and their endpoints'."""
        own = [route for ctx in self.contexts for route in ctx.public_routes]
        return own + [endpoint.route for ctx in self.contexts for endpoint in ctx.endpoints]

    @property
    def endpoints(self) -> list[tuple[Context, Endpoint]]:
        return [(ctx, endpoint) for ctx in self.contexts for endpoint in ctx.endpoints]

    def endpoint_for(self, path: str) -> tuple[Context, Endpoint] | None:
        """The endpoint whose route is exactly ``path``, if any (it wins over any API prefix). Every
        method reaches it, as ``ANY`` on an API prefix does: its function answers 405 to the others."""
        return next(((c, e) for c, e in self.endpoints if e.route.path == path), None)

    def endpoint_called_by(self, caller: str) -> tuple[Context, Endpoint] | None:
        """The endpoint ``caller`` (``stripe``) delivers to."""
        return next(((c, e) for c, e in self.endpoints if e.caller == caller), None)

    def stripe_settings(
        self, *, api_base: str, api_key: str, webhook_secret: str, test_clocks: bool = False
    ) -> dict[str, str]:
        """Where Stripe is, its key and the webhook secret, under the setting names of every context
        that uses Stripe (the local runtime gives them its Stripe emulator)."""
        values: dict[str, str] = {}
        for ctx in self.contexts:
            if ctx.uses_stripe:
                values[ctx.setting_name(STRIPE_API_BASE)] = api_base
                values[ctx.setting_name(STRIPE_API_KEY)] = api_key
                values[ctx.setting_name(STRIPE_WEBHOOK_SECRET)] = webhook_secret
                values[ctx.setting_name(STRIPE_TEST_CLOCKS)] = "true" if test_clocks else "false"
        return values

    def local_messaging_settings(self, api_url: str, *, fcm_endpoint: str) -> dict[str, str]:
        """For every context that sends messages, under its setting names: the API's public URL (the
        links its emails carry) and where FCM is (the local runtime gives its own gateway and emulator)."""
        values: dict[str, str] = {}
        for ctx in self.contexts:
            if ctx.sends_email:
                values[ctx.setting_name(API_URL_SETTING)] = api_url
                values[ctx.setting_name(FCM_ENDPOINT)] = fcm_endpoint
        return values

    @property
    def tenantless_routes(self) -> list[Route]:
        return [route for ctx in self.contexts for route in ctx.tenantless_routes]

    def owner_of(self, handler: str) -> Context | None:
        """The context whose package holds ``handler`` (``None`` for the kernel's, e.g. the relay)."""
        return next((ctx for ctx in self.contexts if ctx.owns(handler)), None)

    @property
    def authorizer_context(self) -> Context | None:
        """The context that owns the authorizer, and so reads the identity provider's settings."""
        return self.owner_of(self.authorizer_handler) if self.authorizer_handler else None

    def api_id_parameter(self, stage: str) -> str:
        """The SSM parameter the API stack writes its REST API's id to (per stage)."""
        return self.for_stage(stage).parameter_name("api-id")

    def authorizer_cache_settings(self, stage: str, *, api_id: str | None = None) -> dict[str, str]:
        """Where the authorizer's context finds the API whose cache of authorizer answers it flushes
        (on suspending or reactivating a tenant), under its context's setting name: the parameter of
        ``stage``, or ``api_id`` itself when given."""
        ctx = self.authorizer_context
        if ctx is None:
            return {}
        if api_id is not None:
            return {ctx.setting_name(API_ID): api_id}
        return {ctx.setting_name(API_ID_PARAMETER): self.api_id_parameter(stage)}

    @property
    def usage_plans_parameter(self) -> str:
        """The SSM parameter the API stack writes its usage plans' ids to, by rate tier."""
        return self.parameter_name("usage-plans")

    def usage_plan_name(self, tier: str) -> str:
        """The usage plan of rate tier ``tier`` on the stage."""
        return self.resource_name(f"tier-{tier}")

    @property
    def web_acl_name(self) -> str:
        """The web ACL in front of the stage."""
        return self.resource_name("edge")

    def usage_plan_settings(self, *, plans: Mapping[str, str] | None = None) -> dict[str, str]:
        """Where the authorizer's context finds the usage plans it keeps tenants' keys in (the stage's
        parameter, or ``plans`` themselves when given), and the stage's shared usage key."""
        ctx = self.authorizer_context
        if ctx is None:
            return {}
        where = (
            {ctx.setting_name(USAGE_PLANS): json.dumps(dict(plans), sort_keys=True)}
            if plans is not None
            else {ctx.setting_name(USAGE_PLANS_PARAMETER): self.usage_plans_parameter}
        )
        return where | {ctx.setting_name(SHARED_USAGE_KEY): self.shared_usage_key}

    @property
    def shared_usage_key(self) -> str:
        """The value of the stage's shared API Gateway key: what a tenant without a key of its own counts
        against. Unique per stage (API Gateway wants values unique in a region); not a secret (the API
        takes keys from the authorizer only)."""
        return "".join(c for c in self.resource_name("shared-api-usage-key") if c.isalnum())

    @property
    def abuse_prone_routes(self) -> list[Route]:
        """The writes anyone may send without a tenant: public and tenant-less routes that are not
        reads (sign-up, accepting an invitation, webhooks). The edge holds them to a tighter rate."""
        routes = [*self.public_routes, *self.tenantless_routes]
        return sorted({r for r in routes if r.method != "GET"}, key=lambda r: (r.path, r.method))

    def operators_group(self, deployment_settings: Mapping[str, str]) -> str:
        """The operators' group: ``DEFAULT_OPERATORS_GROUP``, unless the deployment names another
        under the authorizer context's ``OPERATORS_GROUP`` setting."""
        ctx = self.authorizer_context
        named = deployment_settings.get(ctx.setting_name(OPERATORS_GROUP)) if ctx else None
        return named or DEFAULT_OPERATORS_GROUP

    def identity_provider_settings(self, *, issuer: str, audience: str, jwks_url: str | None = None) -> dict[str, str]:
        """The issuer the authorizer trusts, under its context's setting names; without ``jwks_url``
        the authorizer finds the keys at ``<issuer>/.well-known/jwks.json``."""
        ctx = self.authorizer_context
        if ctx is None:
            return {}
        values = {ctx.setting_name(IDP_ISSUER): issuer, ctx.setting_name(IDP_AUDIENCE): audience}
        return values | ({ctx.setting_name(IDP_JWKS_URL): jwks_url} if jwks_url else {})

    def api_context_for(self, path: str) -> Context | None:
        """The context whose API prefix routes ``path`` (the longest prefix wins)."""
        best: tuple[int, Context] | None = None
        for ctx in self.contexts:
            prefix = ctx.api_prefix_for(path)
            if prefix is not None and (best is None or len(prefix) > best[0]):
                best = (len(prefix), ctx)
        return best[1] if best else None

    def is_public(self, method: str, path: str) -> bool:
        return any(r.method == method and r.path == path for r in self.public_routes)

    def is_tenantless(self, method: str, path: str) -> bool:
        """Whether the route is authorized on the token alone: a tenant-less route, or any route under
        ``ADMIN_PREFIX`` (operators act in no tenant)."""
        return is_admin_path(path) or any(r.method == method and r.path == path for r in self.tenantless_routes)
