"""Billing's settings (``KEEL_BILLING_*``), imported by ``wiring`` on first use."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.billing.domain.plans import PLANS, Interval, price_setting


class BillingSettings(BaseSettings):
    """``KEEL_BILLING_*``: what the topology sets for the context, in the cloud and locally
    (``infra/contexts/billing.py``), and per deployment (``keel:settings``)."""

    model_config = SettingsConfigDict(env_prefix="KEEL_BILLING_", extra="ignore", frozen=True)

    #: The context's own table, as the topology names it for the stage (set by CDK and the local runtime).
    table: str
    #: The queue the webhook receiver asks the processor through (named by the topology, likewise).
    stripe_events_queue: str
    #: Stripe's API; the local runtime points it at the Stripe emulator. Empty: Stripe itself.
    stripe_api_base: str = ""
    #: The Stripe secret key: a Secrets Manager secret in the cloud (its ARN), the key itself locally.
    stripe_api_key_arn: str = ""
    stripe_api_key: SecretStr = SecretStr("")
    #: The webhook endpoint's signing secret(s), comma-separated while rolling one: the same two ways.
    stripe_webhook_secret_arn: str = ""
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_timeout_seconds: float = 8.0
    #: The SDK's own retries of a failed call (same idempotency key), before billing sees the failure.
    stripe_max_network_retries: int = 2
    #: Locally only: each new Stripe customer gets a test clock of its own (``keel stripe advance``).
    stripe_test_clocks: bool = False
    #: How far a webhook's signature timestamp may be from now, either way.
    webhook_tolerance_seconds: int = 300
    #: The Stripe price of each paid plan and interval (defaults: the local emulator's seeded prices).
    price_free_monthly: str = "price_free_monthly"
    price_free_annual: str = "price_free_annual"
    price_pro_monthly: str = "price_pro_monthly"
    price_pro_annual: str = "price_pro_annual"
    price_business_monthly: str = "price_business_monthly"
    price_business_annual: str = "price_business_annual"
    #: Days a late payment keeps the plan's entitlements before the free plan's apply.
    grace_days: int = 7
    #: Where Stripe Checkout and the portal send the payer back to (your app).
    checkout_success_url: str = "https://app.keel.local/billing?checkout=done&session={CHECKOUT_SESSION_ID}"
    checkout_cancel_url: str = "https://app.keel.local/billing?checkout=canceled"
    portal_return_url: str = "https://app.keel.local/billing"
    #: Tenants compared with Stripe per run of the reconciliation job.
    reconcile_page_size: int = 100

    @property
    def price_ids(self) -> dict[str, str]:
        names = [price_setting(plan.name, interval) for plan in PLANS for interval in Interval]
        return {name: str(getattr(self, name)) for name in names}
