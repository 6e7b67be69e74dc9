"""Events billing publishes: the business facts of a tenant's plan, invoices, payments and refunds.

Payloads carry facts, never Stripe's objects: who (the envelope's ``tenant_id``, and the member who
asked where a person did), which plan, money as integer minor units with an ISO 4217 currency in
lower case (``2900`` + ``usd`` is $29.00), and when (UTC). Invoice ids are Stripe's (``in_...``): they
are the ids the billing API answers with. Intervals are ``monthly`` or ``annual``; the free plan has
none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from keel.events import Contract, contract

Interval = Literal["monthly", "annual"]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern="^[a-z]{3}$", examples=["usd"])]
MinorUnits = Annotated[int, Field(ge=0, examples=[2900])]


class PlanGrant(BaseModel):
    """What one plan of the catalogue grants: a consumer names the plan that raises a limit, or grants
    a feature, from these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: str = Field(min_length=1, examples=["pro"])
    #: ``None`` means no limit.
    project_limit: int | None = Field(ge=0)
    #: ``None`` means no limit.
    task_limit: int | None = Field(ge=0)
    #: The features the plan grants.
    features: list[str] = Field(default_factory=list)


@contract
class EntitlementsChanged(Contract):
    """What a tenant may use from ``effective_at`` on. Consumers keep their own copy of the limits
    they enforce and ignore an event whose ``effective_at`` is not newer than the one they hold
    (delivery is unordered)."""

    TYPE = "billing.entitlements.changed.v1"

    tenant_id: str
    plan: str = Field(min_length=1, examples=["free", "pro"])
    #: Members plus pending invitations the tenant may have; ``None`` means no limit.
    seat_limit: int | None = Field(ge=1)
    #: Projects the tenant may have; ``None`` means no limit.
    project_limit: int | None = Field(ge=0)
    #: Feature flags by name.
    features: dict[str, bool] = Field(default_factory=dict)
    effective_at: datetime
    #: The API rate tier of the plan (``free``, ``pro``, ``business``).
    rate_tier: str | None = None
    #: Why they changed: the plan, an operator's override (set, removed or lapsed), or a payment
    #: overdue past its grace period (the tenant falls back to the free plan's entitlements).
    reason: Literal["plan", "override", "override_lapsed", "payment_overdue"] | None = None
    #: With ``reason: override``: the operator who set or removed the override, and the reason they
    #: gave for it (``None`` when the override was removed).
    operator_id: str | None = None
    operator_reason: str | None = Field(default=None, max_length=500)
    #: Tasks one project may have; ``None`` means no limit (and is what events before it carried).
    task_limit: int | None = Field(default=None, ge=0)
    #: Every plan of the catalogue and what it grants, cheapest first.
    plans: list[PlanGrant] = Field(default_factory=list)


@contract
class SubscriptionStarted(Contract):
    """A tenant's plan started: the free plan at sign-up, or a paid plan once Stripe holds it as
    trialing or active."""

    TYPE = "billing.subscription.started.v1"

    plan: str = Field(examples=["pro"])
    interval: Interval | None
    #: The list price of one period.
    amount: MinorUnits
    currency: Currency
    started_at: datetime
    current_period_end: datetime | None
    trial_end: datetime | None = None


@contract
class SubscriptionRenewed(Contract):
    """A paid plan entered a new billing period."""

    TYPE = "billing.subscription.renewed.v1"

    plan: str
    interval: Interval
    amount: MinorUnits
    currency: Currency
    current_period_start: datetime
    current_period_end: datetime


@contract
class SubscriptionPlanChanged(Contract):
    """A tenant moved to another plan or billing interval."""

    TYPE = "billing.subscription.plan_changed.v1"

    previous_plan: str
    previous_interval: Interval | None
    plan: str
    interval: Interval
    amount: MinorUnits
    currency: Currency
    changed_at: datetime
    #: The member who asked for it; ``None`` when it came from Stripe (the portal, the dashboard).
    changed_by: str | None = None


@contract
class SubscriptionCanceled(Contract):
    """A paid plan ended; the tenant is back on the free plan."""

    TYPE = "billing.subscription.canceled.v1"

    plan: str
    interval: Interval | None
    canceled_at: datetime
    reason: Literal["requested", "payment_failed", "incomplete_expired", "other"]
    requested_by: str | None = None


@contract
class InvoiceIssued(Contract):
    """An invoice was finalized: it is due (or already settled by credit)."""

    TYPE = "billing.invoice.issued.v1"

    invoice_id: str
    number: str | None
    total: int
    amount_due: MinorUnits
    currency: Currency
    period_start: datetime
    period_end: datetime
    hosted_invoice_url: str | None
    issued_at: datetime


@contract
class PaymentSucceeded(Contract):
    """An invoice was paid."""

    TYPE = "billing.payment.succeeded.v1"

    invoice_id: str
    number: str | None
    amount_paid: MinorUnits
    currency: Currency
    paid_at: datetime


@contract
class PaymentFailed(Contract):
    """An attempt to pay an invoice failed (or needs the payer to authenticate)."""

    TYPE = "billing.payment.failed.v1"

    invoice_id: str
    number: str | None
    amount_due: MinorUnits
    currency: Currency
    attempt_count: int = Field(ge=0)
    #: When Stripe tries again; ``None`` after the last attempt.
    next_retry_at: datetime | None
    #: Where the payer can pay it by hand.
    hosted_invoice_url: str | None
    reason: Literal["declined", "authentication_required"]
    failed_at: datetime


@contract
class RefundIssued(Contract):
    """Money went back to the tenant's card, through a credit note on an invoice."""

    TYPE = "billing.refund.issued.v1"

    refund_id: str
    invoice_id: str
    amount: int = Field(gt=0, examples=[1450])
    currency: Currency
    reason: str
    issued_at: datetime
    #: The owner who asked for it; ``None`` when it was made in Stripe.
    issued_by: str | None = None


@contract
class TrialEnding(Contract):
    """A trial ends soon (Stripe says so three days before)."""

    TYPE = "billing.trial.ending.v1"

    plan: str
    trial_end: datetime
