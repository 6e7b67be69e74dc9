"""Billing: plans and entitlements (with operators' overrides), subscriptions and their history,
invoices, refunds, the Stripe customer link and the Stripe event inbox. The only context that talks
to Stripe."""

from __future__ import annotations

from infra.model import Context, Endpoint, Job, Route, Subscription

CONTEXT = Context(
    name="billing",
    api_handler="functions.billing.handlers.api",
    api_prefixes=("/v1/billing", "/v1/admin/entitlements"),
    public_routes=(Route("GET", "/v1/billing/plans"),),
    keys_module="functions.billing.adapters.items",
    uses_stripe=True,
    uses_idempotency=True,  # checkout, plan changes, cancellations and refunds honour Idempotency-Key
    # Stripe's deliveries get a function of their own: an API handler's cold start (it never loads
    # stripe), no Stripe key, and a burst of webhooks never queues behind the API.
    endpoints=(
        Endpoint(
            name="stripe-webhook",
            route=Route("POST", "/webhooks/stripe"),
            handler="functions.billing.handlers.stripe_webhook",
            caller="stripe",
        ),
    ),
    subscriptions=(
        Subscription(
            name="tenants",
            handler="functions.billing.handlers.on_tenant_created",
            event_types=("identity.tenant.created.v1",),
        ),
        # A work queue: the receiver asks for each stored Stripe event to be processed here.
        Subscription(name="stripe-events", handler="functions.billing.handlers.stripe_events", event_types=()),
    ),
    jobs=(
        Job(name="dunning", handler="functions.billing.handlers.dunning", schedule="cron(0 6 * * ? *)"),
        Job(name="lapse-overrides", handler="functions.billing.handlers.lapse_overrides", schedule="rate(1 hour)"),
        Job(name="reconcile", handler="functions.billing.handlers.reconcile", schedule="rate(15 minutes)"),
    ),
    # In the cloud, Secrets Manager secrets (fill them: see the README); locally, the Stripe emulator's.
    secrets=("stripe-api-key", "stripe-webhook-secret"),
    # The Stripe price ids (PRICE_<PLAN>_<INTERVAL>), the checkout and portal URLs come from
    # keel:settings per deployment; the defaults match the local Stripe emulator.
    settings={},
)
