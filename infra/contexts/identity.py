"""Identity: tenants, members, invitations, API keys, the operators' tenants (``/v1/admin/tenants``),
and the authorizer every other route relies on."""

from __future__ import annotations

from infra.model import USAGE_KEYS_JOB, Context, Job, Route, Subscription

_TENANTLESS = (
    Route("POST", "/v1/tenants"),
    Route("GET", "/v1/me"),
    Route("POST", "/v1/invitations/accept"),
)

CONTEXT = Context(
    name="identity",
    api_handler="functions.identity.handlers.api",
    api_prefixes=(
        "/v1/tenants",
        "/v1/me",
        "/v1/tenant",
        "/v1/members",
        "/v1/invitations",
        "/v1/api-keys",
        "/v1/admin/tenants",
    ),
    public_routes=(),
    tenantless_routes=_TENANTLESS,
    keys_module="functions.identity.adapters.keys",
    uses_idempotency=True,  # sign-up, invitations and API keys honour Idempotency-Key
    subscriptions=(
        Subscription(
            name="entitlements",
            handler="functions.identity.handlers.on_entitlements_changed",
            event_types=("billing.entitlements.changed.v1",),
        ),
    ),
    jobs=(
        Job(name="expire-invitations", handler="functions.identity.handlers.jobs", schedule="rate(1 hour)"),
        # Tenants without an API Gateway key of their plan's tier get one (keel.rate_tiers).
        Job(name=USAGE_KEYS_JOB, handler="functions.identity.handlers.usage_keys", schedule="cron(30 * * * ? *)"),
    ),
    # Signs invitation links (keel.contracts.identity): the mailer, when it exists, is granted it too.
    secrets=("invitation-key",),
    # The OIDC issuer, audience (app client id) and JWKS URL depend on the user pool: the renderers set
    # them per deployment (Topology.identity_provider_settings), and _INVITE_URL_TEMPLATE comes from keel:settings.
    settings={
        "TOKEN_USE": "id,access",
        "CLOCK_SKEW_SECONDS": "60",
        # The authorizer ignores X-Tenant-Id on these: their authorizer's cache key does not hold it.
        "TENANTLESS_ROUTES": ",".join(f"{r.method} {r.path}" for r in _TENANTLESS),
    },
)
