"""What the emulator is told at construction: the price catalogue, dunning rules, webhook targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: The Stripe API version the emulator speaks: the one ``stripe==16.1.0`` pins (``stripe.api_version``).
API_VERSION = "2026-10-28.endive"

Interval = Literal["day", "week", "month", "year"]
FinalFailure = Literal["cancel", "unpaid", "past_due"]
ProrationBehavior = Literal["create_prorations", "always_invoice", "none"]


@dataclass(frozen=True)
class PlanPrice:
    """One seeded recurring price: a plan's product at one billing interval."""

    plan: str
    product_name: str
    price_id: str
    lookup_key: str
    unit_amount: int
    interval: Interval
    currency: str = "usd"
    interval_count: int = 1

    @property
    def product_id(self) -> str:
        return f"prod_{self.plan}"


def _plan(plan: str, name: str, monthly: int, annual: int) -> tuple[PlanPrice, PlanPrice]:
    return (
        PlanPrice(plan, name, f"price_{plan}_monthly", f"{plan}_monthly", monthly, "month"),
        PlanPrice(plan, name, f"price_{plan}_annual", f"{plan}_annual", annual, "year"),
    )


#: Free, Pro and Business, monthly and annual (annual = ten months), in US cents.
DEFAULT_CATALOG: tuple[PlanPrice, ...] = (
    *_plan("free", "Free", 0, 0),
    *_plan("pro", "Pro", 2900, 29000),
    *_plan("business", "Business", 9900, 99000),
)


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook endpoint registered when the emulator starts (as if made in the Dashboard)."""

    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How webhook deliveries are retried: Stripe's exponential backoff, in seconds instead of hours."""

    first_retry_seconds: float = 1.0
    backoff_factor: float = 2.0
    max_attempts: int = 6
    timeout_seconds: float = 5.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before delivery attempt number ``attempt`` (2, 3, ...)."""
        return self.first_retry_seconds * self.backoff_factor ** (attempt - 2)


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything the emulator can be told; every default is what a fresh Stripe test account does."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    catalog: tuple[PlanPrice, ...] = DEFAULT_CATALOG
    webhooks: tuple[WebhookTarget, ...] = ()
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    #: Days after the previous attempt at which a failed renewal is retried (Stripe's custom schedule).
    retry_schedule_days: tuple[int, ...] = (3, 5, 7)
    #: What happens to the subscription when the last retry fails.
    after_final_failure: FinalFailure = "cancel"
    #: A renewal invoice stays a draft this long before it is finalized and charged (Stripe: one hour).
    finalize_after_seconds: int = 3600
    #: An ``incomplete`` subscription expires this long after creation (Stripe: 23 hours).
    incomplete_expires_after_seconds: int = 23 * 3600
    #: ``customer.subscription.trial_will_end`` is sent this long before a trial ends (Stripe: 3 days).
    trial_will_end_seconds: int = 3 * 86400
    #: A checkout session expires this long after creation (Stripe's default: 24 hours).
    checkout_expires_after_seconds: int = 24 * 3600
    #: How the portal page cancels (Stripe's portal default: at the end of the period).
    portal_cancel_at_period_end: bool = True
    portal_proration_behavior: ProrationBehavior = "create_prorations"
    #: Deliver every event twice, in a shuffled order.
    chaos: bool = False
    chaos_seed: int | None = None
    #: How often the wall-clock time domain (customers without a test clock) is checked for due work.
    tick_seconds: float = 1.0
