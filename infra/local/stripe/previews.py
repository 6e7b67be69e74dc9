"""``POST /v1/invoices/create_preview``: the invoice a change, a cancellation or the next renewal would make.

Nothing changes: the lines are computed as the change itself computes them (``plans``), and
``proration_date`` pins the proration time so that a preview and the change agree to the cent.
"""

from __future__ import annotations

from infra.local.stripe import invoices, lifecycle, objects
from infra.local.stripe.account import Account
from infra.local.stripe.errors import invalid
from infra.local.stripe.invoices import LineSpec
from infra.local.stripe.params import Params
from infra.local.stripe.plans import (
    changed_plans,
    credit_specs,
    current_plans,
    cycle_specs,
    interval_of,
    new_plans,
    next_end,
    proration_specs,
)
from infra.local.stripe.store import Obj, new_id
from infra.local.stripe.subscriptions import PRORATIONS


def preview(acct: Account, params: Params) -> Obj:
    """``POST /v1/invoices/create_preview``: the invoice a change (or the next renewal) would make."""
    params.allow(("customer", "subscription", "subscription_details", "preview_mode", "automatic_tax", "currency"))
    sub_id = params.text("subscription")
    details = params.nested("subscription_details") or Params({}, "subscription_details")
    details.allow(
        (
            "items",
            "proration_behavior",
            "proration_date",
            "cancel_now",
            "cancel_at_period_end",
            "billing_cycle_anchor",
            "trial_end",
        )
    )
    if sub_id is None:
        customer = acct.store.get(params.req("customer"), "customer", param="customer")
        now = acct.now(customer["id"])
        plans = new_plans(acct, details)
        period = (now, next_end(plans, now, now))
        return _preview_invoice(
            acct,
            customer=customer,
            sub=None,
            specs=cycle_specs(acct, plans, period),
            period=(now, now),
            at=now,
            pending=[],
        )
    sub = acct.store.get(sub_id, "subscription", param="subscription")
    customer = acct.store.get(sub["customer"], "customer")
    if params.text("customer") not in (None, customer["id"]):
        raise invalid("The subscription does not belong to this customer.", param="customer")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid("No upcoming invoices for customer: the subscription is canceled.", code="invoice_upcoming_none")
    now = acct.now(customer["id"])
    at = details.integer("proration_date", minimum=0) or now
    behavior = details.choice("proration_behavior", PRORATIONS) or "create_prorations"
    start, end = lifecycle.period(sub)
    pending = invoices.pending_items(acct, customer["id"], sub["id"])
    old = current_plans(sub)
    trialing = sub["status"] == "trialing"
    if details.flag("cancel_now"):
        specs = credit_specs(acct, old, (start, end), at) if behavior != "none" and not trialing else []
        return _preview_invoice(
            acct, customer=customer, sub=sub, specs=specs, period=(now, now), at=now, pending=pending
        )
    plans = changed_plans(acct, sub, details) if "items" in details else old
    reset = details.choice("billing_cycle_anchor", ("now", "unchanged")) == "now" or interval_of(plans) != (
        interval_of(old)
    )
    if reset and not trialing:
        new_period = (now, next_end(plans, now, now))
        specs = credit_specs(acct, old, (start, end), at) if behavior != "none" else []
        specs += cycle_specs(acct, plans, new_period)
        return _preview_invoice(
            acct, customer=customer, sub=sub, specs=specs, period=(now, now), at=now, pending=pending
        )
    prorations = proration_specs(acct, old, plans, (start, end), at) if behavior != "none" and not trialing else []
    if behavior == "always_invoice" and not trialing:
        return _preview_invoice(
            acct, customer=customer, sub=sub, specs=prorations, period=(now, now), at=now, pending=pending
        )
    if sub["cancel_at_period_end"] or details.flag("cancel_at_period_end"):
        raise invalid("No upcoming invoices for customer: the subscription ends.", code="invoice_upcoming_none")
    renews_at = next_end(plans, end if trialing else sub["billing_cycle_anchor"], end)
    specs = prorations + cycle_specs(acct, plans, (end, renews_at))
    return _preview_invoice(acct, customer=customer, sub=sub, specs=specs, period=(start, end), at=end, pending=pending)


def _preview_invoice(
    acct: Account,
    *,
    customer: Obj,
    sub: Obj | None,
    specs: list[LineSpec],
    period: tuple[int, int],
    at: int,
    pending: list[Obj],
) -> Obj:
    lines = invoices.preview_lines(acct, pending, specs, invoice_id=None, subscription_id=sub["id"] if sub else "")
    if sub is None:
        for line in lines:
            line["subscription"] = None
            line["parent"]["subscription_item_details"]["subscription"] = None
    invoice = objects.invoice(
        invoice_id=new_id("upcoming_in"),
        customer=customer,
        subscription_id=sub["id"] if sub else None,
        subscription_metadata=dict(sub["metadata"]) if sub else None,
        currency=sub["currency"] if sub else (specs[0].price["currency"] if specs else "usd"),
        lines=lines,
        billing_reason="upcoming",
        created=at,
        period=period,
        auto_advance=False,
        finalizes_at=None,
    )
    due = invoice["total"] + customer["balance"]
    invoice.update(
        amount_due=max(due, 0),
        amount_remaining=max(due, 0),
        starting_balance=customer["balance"],
        ending_balance=min(due, 0),
        next_payment_attempt=at if max(due, 0) > 0 else None,
    )
    invoice["lines"]["url"] = "/v1/invoices/upcoming/lines"
    return invoice
