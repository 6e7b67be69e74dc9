"""What the billing API reads and answers. Bodies forbid unknown fields (a tenant id slipped into one
is a 422); money is integer minor units with a currency; times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AwareDatetime, Field

from keel.text import HumanText
from keel.views import Body, View

if TYPE_CHECKING:  # the domain loads on the first request (through wiring), not when the handler does
    from functions.billing.domain.account import HistoryEntry
    from functions.billing.domain.entitlements import Granted
    from functions.billing.domain.invoices import Invoice, Refund
    from functions.billing.domain.plans import Catalog, Entitlements, Plan
    from functions.billing.domain.ports import Page
    from functions.billing.domain.subscriptions import CancelPreview, ChangePreview, Current

IntervalName = Literal["monthly", "annual"]
#: The plans sold through Stripe (the catalog's paid plans; a test holds them together).
PaidPlanName = Literal["pro", "business"]
FeatureName = Annotated[str, Field(min_length=1, max_length=64)]
REFUND_REASONS = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]


# -- plans and entitlements -----------------------------------------------------------------------


class PriceView(View):
    amount: int = Field(examples=[2900])
    currency: str = Field(examples=["usd"])


class PlanView(View):
    name: str
    title: str
    seat_limit: int | None
    project_limit: int | None
    features: dict[str, bool]
    rate_tier: str
    prices: dict[IntervalName, PriceView]

    @classmethod
    def of(cls, plan: Plan) -> PlanView:
        e = plan.entitlements
        return cls(
            name=plan.name,
            title=plan.title,
            seat_limit=e.seat_limit,
            project_limit=e.project_limit,
            features=dict(e.features),
            rate_tier=e.rate_tier,
            prices={i.value: PriceView(amount=p.amount, currency=p.currency) for i, p in plan.prices.items()},
        )


class PlansView(View):
    items: list[PlanView]

    @classmethod
    def of(cls, catalog: Catalog) -> PlansView:
        return cls(items=[PlanView.of(plan) for plan in catalog.plans])


class EntitlementsView(View):
    plan: str
    seat_limit: int | None
    project_limit: int | None
    features: dict[str, bool]
    rate_tier: str

    @classmethod
    def of(cls, e: Entitlements) -> EntitlementsView:
        return cls(
            plan=e.plan,
            seat_limit=e.seat_limit,
            project_limit=e.project_limit,
            features=dict(e.features),
            rate_tier=e.rate_tier,
        )


# -- the subscription -----------------------------------------------------------------------------


class SubscriptionView(View):
    plan: str = Field(examples=["pro"])
    interval: IntervalName | None
    status: str = Field(examples=["active"])
    #: The plan whose entitlements apply now (the free plan while a payment is overdue, say).
    entitled_plan: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    entitlements: EntitlementsView
    #: Whether an operator's override changes the entitlements.
    overridden: bool

    @classmethod
    def of(cls, current: Current) -> SubscriptionView:
        account = current.account
        return cls(
            plan=account.plan,
            interval=account.interval.value if account.interval else None,
            status=account.status.value,
            entitled_plan=current.entitled_plan,
            current_period_start=account.current_period_start,
            current_period_end=account.current_period_end,
            trial_end=account.trial_end,
            cancel_at_period_end=account.cancel_at_period_end,
            entitlements=EntitlementsView.of(current.entitlements),
            overridden=current.overridden,
        )


class PlanChoice(Body):
    plan: PaidPlanName = Field(examples=["pro"])
    interval: IntervalName = "monthly"


class UrlView(View):
    url: str


class PreviewLineView(View):
    description: str
    amount: int
    proration: bool


class NextInvoiceView(View):
    amount: int
    currency: str
    #: ``None`` when the change starts a new billing period now (a new interval).
    at: datetime | None


class ChangePreviewView(View):
    plan: str
    interval: IntervalName
    currency: str
    #: Invoiced and charged when the change is made (negative: a credit for the next invoices).
    amount_due_now: int
    total: int
    lines: list[PreviewLineView]
    next_invoice: NextInvoiceView

    @classmethod
    def of(cls, change: ChangePreview) -> ChangePreviewView:
        preview = change.preview
        return cls(
            plan=change.plan,
            interval=change.interval.value,
            currency=preview.currency,
            amount_due_now=preview.amount_due,
            total=preview.total,
            lines=[
                PreviewLineView(description=x.description, amount=x.amount, proration=x.proration)
                for x in preview.lines
            ],
            next_invoice=NextInvoiceView(
                amount=change.next_invoice_amount, currency=preview.currency, at=change.next_invoice_at
            ),
        )


class CancelAtPeriodEnd(Body):
    """End with the current period (nothing is unused, so nothing is refunded)."""

    when: Literal["period_end"]


class CancelNow(Body):
    """End now; ``prorated`` refunds the unused part of the latest invoice to the card."""

    when: Literal["now"]
    refund: Literal["prorated", "none"] = "none"


#: The body of a cancellation: one of the two, told apart by ``when``.
CancelChoice = CancelAtPeriodEnd | CancelNow


class CancelPreviewView(View):
    invoice_id: str
    #: The prorated refund of the unused time, if cancelled now.
    refund: int
    currency: str
    at: datetime
    current_period_end: datetime | None

    @classmethod
    def of(cls, preview: CancelPreview) -> CancelPreviewView:
        return cls(
            invoice_id=preview.invoice_id,
            refund=preview.refund,
            currency=preview.currency,
            at=preview.at,
            current_period_end=preview.period_end,
        )


# -- invoices and refunds ---------------------------------------------------------------------------


class InvoiceLineView(View):
    id: str
    description: str
    amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    proration: bool


class InvoiceView(View):
    id: str = Field(examples=["in_1QxYz"])
    number: str | None
    status: str
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    #: Refunded or credited after payment.
    amount_refunded: int
    period_start: datetime
    period_end: datetime
    created: datetime
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    lines: list[InvoiceLineView] | None = None

    @classmethod
    def of(cls, invoice: Invoice, *, with_lines: bool = False) -> InvoiceView:
        lines = (
            [
                InvoiceLineView(
                    id=x.id,
                    description=x.description,
                    amount=x.amount,
                    currency=x.currency,
                    period_start=x.period_start,
                    period_end=x.period_end,
                    proration=x.proration,
                )
                for x in invoice.lines
            ]
            if with_lines
            else None
        )
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            currency=invoice.currency,
            subtotal=invoice.subtotal,
            total=invoice.total,
            amount_due=invoice.amount_due,
            amount_paid=invoice.amount_paid,
            amount_remaining=invoice.amount_remaining,
            amount_refunded=invoice.refunded,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            created=invoice.created,
            hosted_invoice_url=invoice.hosted_invoice_url,
            invoice_pdf=invoice.invoice_pdf,
            lines=lines,
        )


class InvoicePageView(View):
    items: list[InvoiceView]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None

    @classmethod
    def of(cls, page: Page[Invoice]) -> InvoicePageView:
        return cls(items=[InvoiceView.of(i) for i in page.items], cursor=page.cursor)


class NewRefund(Body):
    invoice_id: str = Field(min_length=4, max_length=255, pattern="^in_[A-Za-z0-9_]+$")
    #: Minor units; omitted: all that is left to refund.
    amount: int | None = Field(default=None, ge=1, le=100_000_000)
    reason: REFUND_REASONS


class RefundView(View):
    id: str
    invoice_id: str
    amount: int
    currency: str
    reason: str
    issued_at: datetime
    credit_note_id: str | None

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        return cls(
            id=refund.id,
            invoice_id=refund.invoice_id,
            amount=refund.amount,
            currency=refund.currency,
            reason=refund.reason,
            issued_at=refund.issued_at,
            credit_note_id=refund.credit_note_id,
        )


class CancellationView(View):
    subscription: SubscriptionView
    refund: RefundView | None


# -- history ----------------------------------------------------------------------------------------


class HistoryEntryView(View):
    effective_from: datetime
    plan: str
    interval: IntervalName | None
    status: str
    entitled_plan: str

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryView:
        return cls(
            effective_from=entry.effective_from,
            plan=entry.plan,
            interval=entry.interval.value if entry.interval else None,
            status=entry.status.value,
            entitled_plan=entry.entitled_plan,
        )


class HistoryView(View):
    #: With ``?at=``: the entries in effect during that day (UTC), oldest first; else newest first.
    items: list[HistoryEntryView]
    cursor: str | None
    #: With ``?at=``: whether a paid plan applied at some moment of that day.
    paid_that_day: bool | None = None

    @classmethod
    def of(cls, page: Page[HistoryEntry], *, day: bool) -> HistoryView:
        items = [HistoryEntryView.of(e) for e in page.items]
        paid = any(e.entitled_plan != "free" for e in page.items) if day else None
        return cls(items=items, cursor=page.cursor, paid_that_day=paid)


# -- operators: overrides ---------------------------------------------------------------------------


class OverrideBody(Body):
    seat_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    project_limit: int | None = Field(default=None, ge=0, le=1_000_000)
    #: Features switched on (or off) by name, over the plan's.
    features: dict[FeatureName, bool] = Field(default_factory=dict, max_length=20)
    #: When the override lapses by itself (with its offset; in the future); omitted: until removed.
    until: AwareDatetime | None = None
    reason: HumanText = Field(min_length=1, max_length=500)


class OverrideView(View):
    seat_limit: int | None
    project_limit: int | None
    features: dict[str, bool]
    until: datetime | None
    reason: str
    set_by: str
    set_at: datetime


class GrantedView(View):
    tenant_id: str
    plan: str
    #: What the plan that applies now grants, without the override.
    plan_entitlements: EntitlementsView
    override: OverrideView | None
    #: What applies: the plan's, with the override while it applies.
    entitlements: EntitlementsView

    @classmethod
    def of(cls, granted: Granted) -> GrantedView:
        o = granted.override
        override = (
            OverrideView(
                seat_limit=o.seat_limit,
                project_limit=o.project_limit,
                features=dict(o.features),
                until=o.until,
                reason=o.reason,
                set_by=o.set_by,
                set_at=o.set_at,
            )
            if o
            else None
        )
        return cls(
            tenant_id=granted.tenant_id,
            plan=granted.plan,
            plan_entitlements=EntitlementsView.of(granted.plan_entitlements),
            override=override,
            entitlements=EntitlementsView.of(granted.effective),
        )


# -- the webhook receiver ---------------------------------------------------------------------------


class ReceiptView(View):
    received: bool = True
    event_id: str
    #: ``stored``, ``duplicate`` (nothing done) or ``ignored`` (a type billing does not handle).
    outcome: str
