"""The one catalog of what Keel deploys.

Both renderers read this module: ``infra/cloud`` turns it into CloudFormation with CDK and
``infra/local`` provisions the moto server and runs the handlers in-process. It imports no CDK
and nothing from ``functions``: handlers are named by module path so that reading the topology
never loads Lambda code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

#: API Gateway caches the authorizer's answer for this long (seconds), keyed on the identity sources.
AUTHORIZER_CACHE_SECONDS = 300
#: A consumer's SQS visibility timeout is this multiple of its Lambda timeout (AWS guidance is >= 6x).
VISIBILITY_TIMEOUT_FACTOR = 6
#: Receives before SQS moves a message to its dead-letter queue.
MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Route:
    """One method on one path, as API Gateway and the local gateway see it."""

    method: HttpMethod
    path: str


@dataclass(frozen=True)
class Subscription:
    """Event types one consumer Lambda receives through its own rule -> queue -> DLQ."""

    name: str
    handler: str  # module path; the module exposes ``handler``
    event_types: tuple[str, ...]
    timeout_seconds: int = 30
    batch_size: int = 10

    @property
    def visibility_timeout_seconds(self) -> int:
        return self.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR

    @property
    def event_pattern(self) -> dict[str, Any]:
        """The bus rule's pattern: exact types, ``billing.*`` families, or ``*`` for every Keel event."""
        if "*" in self.event_types:
            return {"source": [{"prefix": "keel."}]}
        return {"detail-type": [{"wildcard": t} if "*" in t else t for t in self.event_types]}


@dataclass(frozen=True)
class Job:
    """A scheduled handler. ``schedule`` is an EventBridge expression: ``rate(...)`` or ``cron(...)``."""

    name: str
    handler: str
    schedule: str
    timeout_seconds: int = 300


@dataclass(frozen=True)
class Context:
    """A bounded context: its table, its API, what it consumes and what it runs on a schedule."""

    name: str
    api_handler: str | None = None
    #: Path prefixes routed to ``api_handler`` (``/v1/members`` also routes ``/v1/members/...``).
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
    subscriptions: tuple[Subscription, ...] = ()
    jobs: tuple[Job, ...] = ()
    #: Extra plain settings the context reads, as ``KEEL_<CONTEXT>_<NAME>`` -> value.
    settings: dict[str, str] = field(default_factory=dict)
    #: Secrets the context reads once per container, by name (``invitation-key``): in the cloud a
    #: generated Secrets Manager secret only this context's functions may read, its ARN in
    #: ``KEEL_<CONTEXT>_<NAME>_ARN``; locally a fixed, development-only value in ``KEEL_<CONTEXT>_<NAME>``.
    secrets: tuple[str, ...] = ()

    @property
    def table_name(self) -> str:
        return f"keel-{self.name}"

    @property
    def setting_prefix(self) -> str:
        return f"KEEL_{self.name.upper()}_"

    def resource_name(self, name: str) -> str:
        """The physical name of one of this context's resources, the same in the cloud and locally."""
        return f"keel-{self.name}-{name}"

    def queue_name(self, sub: Subscription) -> str:
        return self.resource_name(sub.name)

    def dlq_name(self, sub: Subscription) -> str:
        return f"{self.queue_name(sub)}-dlq"

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
            values[f"{self.setting_prefix}TABLE"] = self.table_name
        return values


@dataclass(frozen=True)
class Topology:
    bus_name: str
    archive_retention_days: int
    idempotency_table: str
    authorizer_handler: str | None
    outbox_relay_handler: str
    contexts: tuple[Context, ...]

    def context(self, name: str) -> Context:
        for ctx in self.contexts:
            if ctx.name == name:
                return ctx
        raise KeyError(name)

    @property
    def subscriptions(self) -> list[tuple[Context, Subscription]]:
        return [(ctx, sub) for ctx in self.contexts for sub in ctx.subscriptions]

    @property
    def jobs(self) -> list[tuple[Context, Job]]:
        return [(ctx, job) for ctx in self.contexts for job in ctx.jobs]

    @property
    def public_routes(self) -> list[Route]:
        return [route for ctx in self.contexts for route in ctx.public_routes]

    @property
    def tenantless_routes(self) -> list[Route]:
        return [route for ctx in self.contexts for route in ctx.tenantless_routes]

    def api_context_for(self, path: str) -> Context | None:
        """The context whose API prefix matches ``path`` (longest prefix wins)."""
        best: tuple[int, Context] | None = None
        for ctx in self.contexts:
            for prefix in ctx.api_prefixes:
                matches = path == prefix or path.startswith(prefix.rstrip("/") + "/")
                if matches and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), ctx)
        return best[1] if best else None

    def is_public(self, method: str, path: str) -> bool:
        return any(r.method == method and r.path == path for r in self.public_routes)

    def is_tenantless(self, method: str, path: str) -> bool:
        return any(r.method == method and r.path == path for r in self.tenantless_routes)


PLATFORM = Context(
    name="platform",
    api_handler="functions.platform.handlers.api",
    api_prefixes=("/health", "/openapi.json", "/docs"),
    public_routes=(
        Route("GET", "/health"),
        Route("GET", "/openapi.json"),
        Route("GET", "/docs"),
        Route("GET", "/docs/swagger-ui-bundle.min.js"),
        Route("GET", "/docs/swagger-ui.min.css"),
    ),
    table=False,
)

_IDENTITY_TENANTLESS = (
    Route("POST", "/v1/tenants"),
    Route("GET", "/v1/me"),
    Route("POST", "/v1/invitations/accept"),
)

IDENTITY = Context(
    name="identity",
    api_handler="functions.identity.handlers.api",
    api_prefixes=("/v1/tenants", "/v1/me", "/v1/tenant", "/v1/members", "/v1/invitations", "/v1/api-keys"),
    public_routes=(),
    tenantless_routes=_IDENTITY_TENANTLESS,
    subscriptions=(
        Subscription(
            name="identity-entitlements",
            handler="functions.identity.handlers.on_entitlements_changed",
            event_types=("billing.entitlements.changed.v1",),
        ),
    ),
    jobs=(
        Job(name="identity-expire-invitations", handler="functions.identity.handlers.jobs", schedule="rate(1 hour)"),
    ),
    # Signs invitation links (keel.contracts.identity): the mailer, when it exists, is granted it too.
    secrets=("invitation-key",),
    # The OIDC issuer, audience (app client id) and JWKS URL depend on the user pool: the renderers
    # set KEEL_IDENTITY_OIDC_ISSUER / _OIDC_AUDIENCE / _JWKS_URL (and _INVITE_URL_TEMPLATE) per deployment.
    settings={
        "TOKEN_USE": "id,access",
        "CLOCK_SKEW_SECONDS": "60",
        # The authorizer ignores X-Tenant-Id on these: their authorizer's cache key does not hold it.
        "TENANTLESS_ROUTES": ",".join(f"{r.method} {r.path}" for r in _IDENTITY_TENANTLESS),
    },
)

TOPOLOGY = Topology(
    bus_name="keel",
    archive_retention_days=30,
    idempotency_table="keel-idempotency",
    authorizer_handler="functions.identity.handlers.authorizer",
    outbox_relay_handler="keel.outbox_relay",
    contexts=(PLATFORM, IDENTITY),
)
