"""Billing's API (``/v1/billing``): the plan catalog, the tenant's subscription, checkout and the
portal, plan changes and cancellation, invoices, refunds and the subscription's history; and the
operators' overrides of a tenant's entitlements (``/v1/admin/entitlements``).

Each route names the least access it needs; the tenant comes only from the authorizer's context.
Routes that talk to Stripe load it on their first call, not when this module is imported.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator

from functions.billing import wiring
from functions.billing.handlers.views import (
    CancelChoice,
    CancellationView,
    CancelNow,
    CancelPreviewView,
    ChangePreviewView,
    GrantedView,
    HistoryView,
    InvoicePageView,
    InvoiceView,
    NewRefund,
    OverrideBody,
    PlanChoice,
    PlansView,
    RefundView,
    SubscriptionView,
    UrlView,
)
from keel.http import KeelResolver
from keel.idempotency import HEADER, idempotent
from keel.observability import instrumented
from keel.tenancy import Access

app = KeelResolver(service="billing")

InvoiceLimit = Annotated[int, Query(ge=1, le=100)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]


def _iso_day(value: object) -> object:
    # A day is YYYY-MM-DD and nothing else (pydantic would read "0" as 1970-01-01).
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("a day is YYYY-MM-DD")
    return value


Day = Annotated[
    date | None,
    Query(description="YYYY-MM-DD (UTC): the entries in effect during that day"),
    BeforeValidator(_iso_day),
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Required: a retry with the same key is the same refund, never a second one",
    ),
]
#: Routes that call Stripe answer 503 while it is unavailable; those that charge a card, 402 on a decline.
STRIPE = (503,)
TAGS = ["billing"]


def _caller() -> Any:
    from functions.billing.domain.subscriptions import Caller  # noqa: PLC0415 - the domain loads on first use

    tenant = app.tenant()
    return Caller(tenant_id=tenant.tenant_id, user_id=tenant.user_id, email=app.caller.email)


def _interval(name: str) -> Any:
    from functions.billing.domain.plans import Interval  # noqa: PLC0415

    return Interval(name)


# -- the catalog and the subscription ------------------------------------------------------------


@app.get("/v1/billing/plans", access=Access.PUBLIC, tags=TAGS, summary="The plans, their entitlements and prices")
def plans() -> PlansView:
    return PlansView.of(wiring.catalog())


@app.get("/v1/billing/subscription", access=Access.MEMBER, tags=TAGS, summary="The tenant's plan and entitlements")
def subscription() -> SubscriptionView:
    return SubscriptionView.of(wiring.subscriptions().current(app.tenant().tenant_id))


@app.post(
    "/v1/billing/checkout",
    access=Access.ADMIN,
    errors=STRIPE,
    status_code=201,
    tags=TAGS,
    summary="Start Stripe Checkout",
)
@idempotent(app)
def checkout(body: PlanChoice) -> UrlView:
    return UrlView(url=wiring.subscriptions().checkout(_caller(), body.plan, _interval(body.interval)))


@app.post(
    "/v1/billing/portal",
    access=Access.ADMIN,
    errors=STRIPE,
    status_code=201,
    tags=TAGS,
    summary="Open the Stripe portal",
)
def portal() -> UrlView:
    return UrlView(url=wiring.subscriptions().portal(_caller()))


@app.post(
    "/v1/billing/subscription/preview",
    access=Access.ADMIN,
    errors=STRIPE,
    tags=TAGS,
    summary="What a plan change would invoice now, and the next invoice",
)
def preview_change(body: PlanChoice) -> ChangePreviewView:
    tenant = app.tenant().tenant_id
    return ChangePreviewView.of(wiring.subscriptions().preview_change(tenant, body.plan, _interval(body.interval)))


@app.post(
    "/v1/billing/subscription/change",
    access=Access.ADMIN,
    errors=(402, *STRIPE),
    tags=TAGS,
    summary="Change plan or interval now (the difference is invoiced and charged at once)",
)
@idempotent(app, status_code=200)
def change(body: PlanChoice) -> SubscriptionView:
    return SubscriptionView.of(wiring.subscriptions().change(_caller(), body.plan, _interval(body.interval)))


@app.post(
    "/v1/billing/subscription/cancel",
    access=Access.ADMIN,
    errors=STRIPE,
    tags=TAGS,
    summary="Cancel at the period's end, or now with a prorated refund",
)
@idempotent(app, status_code=200)
def cancel(body: Annotated[CancelChoice, Body(discriminator="when")]) -> CancellationView:
    refund = body.refund if isinstance(body, CancelNow) else "none"
    done = wiring.subscriptions().cancel(_caller(), body.when, refund)
    return CancellationView(
        subscription=SubscriptionView.of(done.current), refund=RefundView.of(done.refund) if done.refund else None
    )


@app.get(
    "/v1/billing/subscription/cancel-preview",
    access=Access.ADMIN,
    errors=(409, *STRIPE),
    tags=TAGS,
    summary="The prorated refund if the subscription were cancelled now",
)
def cancel_preview() -> CancelPreviewView:
    return CancelPreviewView.of(wiring.subscriptions().cancel_preview(app.tenant().tenant_id))


@app.get(
    "/v1/billing/subscription/history",
    access=Access.ADMIN,
    tags=TAGS,
    summary="The subscription's history, or what applied on one day",
)
def history(at: Day = None, limit: Limit = 50, cursor: Cursor = None) -> HistoryView:
    page = wiring.subscriptions().history(app.tenant().tenant_id, on=at, limit=limit, cursor=cursor)
    return HistoryView.of(page, day=at is not None)


# -- invoices and refunds ---------------------------------------------------------------------------


@app.get("/v1/billing/invoices", access=Access.ADMIN, tags=TAGS, summary="The tenant's invoices, newest first")
def invoices(limit: InvoiceLimit = 10, cursor: Cursor = None) -> InvoicePageView:
    return InvoicePageView.of(wiring.invoicing().list(app.tenant().tenant_id, limit=limit, cursor=cursor))


@app.get("/v1/billing/invoices/<invoice_id>", access=Access.ADMIN, tags=TAGS, summary="One invoice, with its lines")
def invoice(invoice_id: str) -> InvoiceView:
    return InvoiceView.of(wiring.invoicing().get(app.tenant().tenant_id, invoice_id), with_lines=True)


@app.post(
    "/v1/billing/refunds",
    access=Access.OWNER,
    errors=(404, *STRIPE),
    status_code=201,
    tags=TAGS,
    summary="Refund (part of) a paid invoice: a credit note refunded to the card (Idempotency-Key required)",
)
@idempotent(app)
def refund(body: NewRefund, idempotency_key: IdempotencyKey) -> RefundView:
    tenant = app.tenant()
    done = wiring.invoicing().refund(
        tenant.tenant_id,
        body.invoice_id,
        amount=body.amount,
        reason=body.reason,
        by=tenant.user_id,
        idempotency_key=idempotency_key,
    )
    return RefundView.of(done)


# -- operators: a tenant's entitlements (/v1/admin: operators only, and no tenant's member by being one)

OPERATORS = ["operators"]


@app.get(
    "/v1/admin/entitlements/<tenant_id>",
    access=Access.OPERATOR,
    errors=(404,),
    tags=OPERATORS,
    summary="A tenant's plan entitlements, its override and the effective entitlements (operators)",
)
def operator_entitlements(tenant_id: str) -> GrantedView:
    return GrantedView.of(wiring.entitlements().get(app.caller, tenant_id))


@app.put(
    "/v1/admin/entitlements/<tenant_id>",
    access=Access.OPERATOR,
    errors=(404,),
    tags=OPERATORS,
    summary="Override a tenant's entitlements, for a reason, until a date or for good (operators)",
)
def override_entitlements(tenant_id: str, body: OverrideBody) -> GrantedView:
    granted = wiring.entitlements().override(
        app.caller,
        tenant_id,
        seat_limit=body.seat_limit,
        project_limit=body.project_limit,
        features=body.features,
        until=body.until,
        reason=body.reason,
    )
    return GrantedView.of(granted)


@app.delete(
    "/v1/admin/entitlements/<tenant_id>",
    access=Access.OPERATOR,
    errors=(404,),
    tags=OPERATORS,
    summary="Remove a tenant's override: its plan's entitlements apply again (operators)",
)
def remove_entitlements_override(tenant_id: str) -> GrantedView:
    return GrantedView.of(wiring.entitlements().remove(app.caller, tenant_id))


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
