"""A topology that exercises every construct the real one does not use yet: tables, an authorizer,
public and private routes sharing a parent path, operator areas of two contexts under /v1/admin,
consumers with different timeouts, a job."""

from __future__ import annotations

from infra.contexts.platform import CONTEXT as PLATFORM
from infra.model import USAGE_KEYS_JOB
from infra.topology import Context, Job, Route, Subscription, Topology

IDENTITY = Context(
    name="identity",
    api_handler="functions.identity.handlers.api",
    api_prefixes=("/v1/tenants", "/v1/members", "/v1/signup", "/v1/admin/tenants"),
    public_routes=(Route("POST", "/v1/signup"),),
    tenantless_routes=(Route("POST", "/v1/tenants"), Route("GET", "/v1/members/me")),
    uses_idempotency=True,
    subscriptions=(
        Subscription(
            name="seat_limit",
            handler="functions.identity.handlers.on_entitlements_changed",
            event_types=("billing.entitlements.changed.v1",),
            timeout_seconds=20,
        ),
    ),
    jobs=(Job(name=USAGE_KEYS_JOB, handler="functions.identity.handlers.usage_keys", schedule="cron(30 * * * ? *)"),),
    settings={"KEEL_IDENTITY_ISSUER": "https://issuer.example", "audience": "keel"},
)

BILLING = Context(
    name="billing",
    api_handler="functions.billing.handlers.api",
    api_prefixes=("/v1/billing", "/webhooks/stripe", "/v1/admin/entitlements"),
    public_routes=(Route("GET", "/v1/billing/plans"), Route("POST", "/webhooks/stripe")),
    uses_stripe=True,
    subscriptions=(
        Subscription(
            name="provision_free_tier",
            handler="functions.billing.handlers.on_tenant_created",
            event_types=("identity.tenant.created.v1",),
            timeout_seconds=60,
            batch_size=5,
        ),
        Subscription(
            name="audit_everything",
            handler="functions.billing.handlers.on_any_identity_event",
            event_types=("identity.*", "billing.refund.issued.v1"),
        ),
    ),
    jobs=(Job(name="reconcile", handler="functions.billing.handlers.jobs", schedule="rate(15 minutes)"),),
)

SAMPLE = Topology(
    authorizer_handler="functions.identity.handlers.authorizer",
    outbox_relay_handler="keel.outbox_relay",
    contexts=(PLATFORM, IDENTITY, BILLING),
)
