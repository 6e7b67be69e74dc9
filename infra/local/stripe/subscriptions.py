"""Subscriptions: start, change (with prorations), cancel, and each turn of the billing cycle.

Plan changes (``proration_behavior``, default ``create_prorations``):

- same interval, ``create_prorations``: an ``Unused time on ...`` credit and a ``Remaining time on ...``
  charge (see ``periods``) become pending invoice items, billed on the next renewal invoice;
- same interval, ``always_invoice``: the same items are invoiced and charged at once;
- ``none``: the new price applies from the next renewal, nothing is prorated;
- another interval (monthly <-> annual) or ``billing_cycle_anchor=now``: the period restarts now,
  and an invoice is made at once with the unused-time credit (unless ``none``) and the new price in full;
- while trialing: prices switch, nothing is prorated or invoiced.
"""

from __future__ import annotations

from infra.local.stripe import invoices, lifecycle, objects, payments
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import invalid, no_such
from infra.local.stripe.invoices import LineSpec
from infra.local.stripe.params import Params, merge_metadata
from infra.local.stripe.periods import DAY
from infra.local.stripe.plans import (
    ItemPlan,
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

PRORATIONS = ("create_prorations", "always_invoice", "none")
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
MISSING_PM = ("cancel", "create_invoice", "pause")


def _apply_items(sub: Obj, plans: list[ItemPlan], created: int) -> None:
    start, end = lifecycle.period(sub) if sub["items"]["data"] else (created, created)
    existing = {item["id"]: item for item in sub["items"]["data"]}
    items = []
    for plan in plans:
        item = existing.get(plan.item_id)
        if item is None:
            item = objects.subscription_item(
                item_id=plan.item_id,
                subscription_id=sub["id"],
                price_obj=plan.price,
                quantity=plan.quantity,
                created=created,
                period=(start, end),
            )
        elif item["price"]["id"] != plan.price["id"] or item["quantity"] != plan.quantity:
            item.update(price=snapshot(plan.price), plan=objects.plan_of(plan.price), quantity=plan.quantity)
        items.append(item)
    sub["items"]["data"] = items


# -- start ----------------------------------------------------------------------------------------


def start(
    acct: Account,
    customer: Obj,
    plans: list[ItemPlan],
    *,
    trial_end: int | None,
    default_payment_method: str | None,
    metadata: dict[str, str],
    payment_behavior: str,
    missing_payment_method: str = "create_invoice",
    on_session: bool = False,
) -> Obj:
    """A new subscription and its first invoice, paid at once unless trialing or ``default_incomplete``."""
    now = acct.now(customer["id"])
    if trial_end is not None and trial_end <= now:
        raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", param="trial_end")
    plans = [ItemPlan(plan.item_id or new_id("si", 14), plan.price, plan.quantity) for plan in plans]
    total = sum(plan.price["unit_amount"] * plan.quantity for plan in plans)
    payer = default_payment_method or customer["invoice_settings"]["default_payment_method"]
    if trial_end is None and total > 0 and payment_behavior in ("error_if_incomplete", "pending_if_incomplete"):
        problem = payments.would_decline(acct, customer["id"], payer)
        if problem:
            raise payments.raise_for(problem, None, None)
    period = (now, trial_end) if trial_end else (now, next_end(plans, now, now))
    sub = objects.subscription(
        subscription_id=new_id("sub"),
        customer_id=customer["id"],
        created=now,
        currency=plans[0].price["currency"],
        items=[],
        anchor=trial_end or now,
        status="trialing" if trial_end else "incomplete",
        default_payment_method=default_payment_method,
        metadata=metadata,
        trial=(now, trial_end) if trial_end else None,
        test_clock=customer["test_clock"],
        missing_payment_method=missing_payment_method,
    )
    _apply_items(sub, plans, now)
    lifecycle.set_period(sub, *period)
    acct.store.add(sub)
    acct.emit("customer.subscription.created", sub)
    if trial_end:
        trial = [
            LineSpec(0, f"Trial period for {acct.product_name(p.price)}", period, p.price, p.quantity, p.item_id, False)
            for p in plans
        ]
        invoices.finalize_and_collect(
            acct, invoices.create(acct, sub, trial, billing_reason="subscription_create", period=(now, now))
        )
        return sub
    invoice = invoices.create(
        acct, sub, cycle_specs(acct, plans, period), billing_reason="subscription_create", period=(now, now)
    )
    if payment_behavior == "default_incomplete":
        invoices.finalize(acct, invoice)
    else:
        invoices.finalize_and_collect(acct, invoice, on_session=on_session)
    return sub


def create(acct: Account, params: Params) -> Obj:
    """``POST /v1/subscriptions``."""
    params.allow(
        (
            "customer",
            "items",
            "default_payment_method",
            "payment_behavior",
            "trial_period_days",
            "trial_end",
            "metadata",
            "proration_behavior",
            "collection_method",
            "cancel_at_period_end",
            "description",
            "off_session",
            "trial_settings",
            "payment_settings",
        )
    )
    customer = acct.store.get(params.req("customer"), "customer", param="customer")
    plans = new_plans(acct, params)
    if params.choice("collection_method", ("charge_automatically", "send_invoice")) == "send_invoice":
        raise invalid("The local Stripe emulator only supports collection_method=charge_automatically.")
    behavior = params.choice("payment_behavior", PAYMENT_BEHAVIORS) or "allow_incomplete"
    now = acct.now(customer["id"])
    trial_end = _trial_end(params, now)
    pm = params.text("default_payment_method")
    pm_id = (
        payments.resolve_payment_method(acct, pm, customer_id=customer["id"], param="default_payment_method")["id"]
        if pm
        else None
    )
    missing = "create_invoice"
    settings = params.nested("trial_settings")
    if settings is not None:
        end_behavior = settings.allow(("end_behavior",)).nested("end_behavior")
        if end_behavior is not None:
            missing = (
                end_behavior.allow(("missing_payment_method",)).choice(
                    "missing_payment_method", MISSING_PM, required=True
                )
                or missing
            )
    sub = start(
        acct,
        customer,
        plans,
        trial_end=trial_end,
        default_payment_method=pm_id,
        metadata=params.metadata() or {},
        payment_behavior=behavior,
        missing_payment_method=missing,
    )
    if params.flag("cancel_at_period_end"):
        _schedule_cancel(acct, sub, at_period_end=True)
    return sub


def _trial_end(params: Params, now: int) -> int | None:
    days = params.integer("trial_period_days", minimum=1, maximum=730)
    end = params.timestamp_or_now("trial_end")
    if days is not None and end is not None:
        raise invalid("You may only specify one of these parameters: trial_end, trial_period_days.")
    if days is not None:
        return now + days * DAY
    if end == "now" or end is None:
        return None
    assert isinstance(end, int)
    return end


# -- change ---------------------------------------------------------------------------------------


def change(
    acct: Account,
    sub: Obj,
    plans: list[ItemPlan],
    *,
    proration_behavior: str = "create_prorations",
    proration_date: int | None = None,
    payment_behavior: str = "allow_incomplete",
    reset_anchor: bool = False,
    before: Obj | None = None,
) -> None:
    """Switch ``sub`` to ``plans``, prorating and invoicing as ``proration_behavior`` says."""
    before = before or snapshot(sub)
    now = acct.now(sub["customer"])
    specs, reset, invoice_now = _change_lines(
        acct, sub, plans, behavior=proration_behavior, proration_date=proration_date, reset_anchor=reset_anchor
    )
    if invoice_now and payment_behavior in ("error_if_incomplete", "pending_if_incomplete"):
        _refuse_if_unpayable(acct, sub, specs, plans, reset)
    _apply_items(sub, plans, now)
    if reset and sub["status"] != "trialing":
        sub["billing_cycle_anchor"] = now
        lifecycle.set_period(sub, now, next_end(plans, now, now))
    for spec in specs:
        invoices.add_invoice_item(acct, sub, spec)
    invoice = None
    if invoice_now and (reset or invoices.pending_items(acct, sub["customer"], sub["id"])):
        cycle = cycle_specs(acct, plans, lifecycle.period(sub)) if reset else []
        invoice = invoices.create(acct, sub, cycle, billing_reason="subscription_update", period=(now, now))
    acct.emit_changes("customer.subscription.updated", sub, before)
    if invoice is not None:
        invoices.finalize_and_collect(acct, invoice)


def _change_lines(
    acct: Account,
    sub: Obj,
    plans: list[ItemPlan],
    *,
    behavior: str,
    proration_date: int | None,
    reset_anchor: bool,
) -> tuple[list[LineSpec], bool, bool]:
    """The proration lines of a change, whether it restarts the period, whether it invoices now."""
    at = proration_date or acct.now(sub["customer"])
    period = lifecycle.period(sub)
    old = current_plans(sub)
    reset = reset_anchor or interval_of(plans) != interval_of(old)
    trialing = sub["status"] == "trialing"
    invoice_now = not trialing and (reset or behavior == "always_invoice")
    if trialing or behavior == "none":
        return [], reset, invoice_now
    if reset:
        return credit_specs(acct, old, period, at), reset, invoice_now
    return proration_specs(acct, old, plans, period, at), reset, invoice_now


def _refuse_if_unpayable(acct: Account, sub: Obj, specs: list[LineSpec], plans: list[ItemPlan], reset: bool) -> None:
    """``error_if_incomplete``: Stripe's 402 before anything changes when the card would be declined."""
    due = _estimate_due(acct, sub, specs, plans, reset)
    problem = payments.would_decline(acct, sub["customer"], payments.default_payment_method(acct, _as_invoice(sub)))
    if due > 0 and problem:
        raise payments.raise_for(problem, None, None)


def _as_invoice(sub: Obj) -> Obj:
    return {"default_payment_method": None, "subscription": sub["id"], "customer": sub["customer"]}


def _estimate_due(acct: Account, sub: Obj, specs: list[LineSpec], plans: list[ItemPlan], reset: bool) -> int:
    customer = acct.store.get(sub["customer"], "customer")
    pending = sum(int(item["amount"]) for item in invoices.pending_items(acct, customer["id"], sub["id"]))
    full = sum(plan.price["unit_amount"] * plan.quantity for plan in plans) if reset else 0
    return pending + sum(spec.amount for spec in specs) + full + int(customer["balance"])


def update(acct: Account, sub: Obj, params: Params) -> Obj:
    """``POST /v1/subscriptions/{id}``."""
    params.allow(
        (
            "items",
            "proration_behavior",
            "proration_date",
            "payment_behavior",
            "cancel_at_period_end",
            "cancel_at",
            "metadata",
            "default_payment_method",
            "cancellation_details",
            "billing_cycle_anchor",
            "trial_end",
            "description",
            "off_session",
        )
    )
    only_notes = set(params.raw) <= {"metadata", "cancellation_details", "expand"}
    if sub["status"] in ("canceled", "incomplete_expired") and not only_notes:
        raise invalid("A canceled subscription can only update its cancellation_details and metadata.")
    if sub["status"] == "incomplete" and not set(params.raw) <= {
        "metadata",
        "cancellation_details",
        "default_payment_method",
        "expand",
    }:
        raise invalid(
            "An incomplete subscription can only update its metadata and default_payment_method.",
            code="subscription_incomplete",
        )
    anchor = params.choice("billing_cycle_anchor", ("now", "unchanged"))
    changing = "items" in params or anchor == "now"
    plans = changed_plans(acct, sub, params) if "items" in params else current_plans(sub)
    proration = params.choice("proration_behavior", PRORATIONS) or "create_prorations"
    proration_date = params.integer("proration_date", minimum=0)
    payment_behavior = params.choice("payment_behavior", PAYMENT_BEHAVIORS) or "allow_incomplete"
    if changing and payment_behavior in ("error_if_incomplete", "pending_if_incomplete"):
        specs, reset, invoice_now = _change_lines(
            acct, sub, plans, behavior=proration, proration_date=proration_date, reset_anchor=anchor == "now"
        )
        if invoice_now:
            _refuse_if_unpayable(acct, sub, specs, plans, reset)  # before anything changes
    before = snapshot(sub)
    sub["metadata"] = merge_metadata(sub["metadata"], params.metadata())
    _cancellation_details(sub, params)
    pm = params.text("default_payment_method")
    if pm:
        found = payments.resolve_payment_method(acct, pm, customer_id=sub["customer"], param="default_payment_method")
        sub["default_payment_method"] = found["id"]
    if "cancel_at_period_end" in params:
        _schedule_cancel(acct, sub, at_period_end=bool(params.flag("cancel_at_period_end")))
    if "cancel_at" in params:
        cancel_at = params.integer("cancel_at", minimum=0)
        _schedule_cancel(acct, sub, at_period_end=False, at=cancel_at)
    if params.timestamp_or_now("trial_end") == "now" and sub["status"] == "trialing":
        end_trial(acct, sub, acct.now(sub["customer"]), before=before)
        latest = acct.store.find(sub["latest_invoice"]) if sub["status"] == "active" else None
        if latest is not None and latest["status"] == "draft":
            invoices.finalize_and_collect(acct, latest)  # ending a trial now bills now, not in an hour
        return sub
    if changing:
        change(
            acct,
            sub,
            plans,
            proration_behavior=proration,
            proration_date=proration_date,
            payment_behavior=payment_behavior,
            reset_anchor=anchor == "now",
            before=before,
        )
        return sub
    acct.emit_changes("customer.subscription.updated", sub, before)
    return sub


def _cancellation_details(sub: Obj, params: Params) -> None:
    details = params.nested("cancellation_details")
    if details is not None:
        details.allow(("comment", "feedback"))
        sub["cancellation_details"]["comment"] = details.text("comment", max_length=5000)
        feedback = ("customer_service", "low_quality", "missing_features", "other", "switched_service")
        sub["cancellation_details"]["feedback"] = details.choice(
            "feedback", (*feedback, "too_complex", "too_expensive", "unused")
        )


def _schedule_cancel(acct: Account, sub: Obj, *, at_period_end: bool, at: int | None = None) -> None:
    now = acct.now(sub["customer"])
    if at_period_end or at is not None:
        sub.update(
            cancel_at_period_end=at_period_end,
            cancel_at=lifecycle.period(sub)[1] if at_period_end else at,
            canceled_at=now,
        )
        sub["cancellation_details"]["reason"] = "cancellation_requested"
    else:
        sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
        sub["cancellation_details"]["reason"] = None


# -- cancel ---------------------------------------------------------------------------------------


def cancel(acct: Account, sub: Obj, params: Params) -> Obj:
    """``DELETE /v1/subscriptions/{id}`` (``prorate``, ``invoice_now``)."""
    params.allow(("prorate", "invoice_now", "cancellation_details"))
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise no_such("subscription", sub["id"])  # what Stripe answers for a canceled subscription
    _cancellation_details(sub, params)
    cancel_now(acct, sub, prorate=bool(params.flag("prorate")), invoice_now=bool(params.flag("invoice_now")))
    return sub


def cancel_now(acct: Account, sub: Obj, *, prorate: bool, invoice_now: bool) -> None:
    """End ``sub`` now; ``prorate`` credits the unused time, ``invoice_now`` bills pending items at once."""
    now = acct.now(sub["customer"])
    if prorate and sub["status"] in ("active", "past_due", "unpaid"):
        for spec in credit_specs(acct, current_plans(sub), lifecycle.period(sub), now):
            invoices.add_invoice_item(acct, sub, spec)
    was_incomplete = sub["status"] == "incomplete"
    lifecycle.mark_canceled(acct, sub, at=now, reason="cancellation_requested")
    latest = acct.store.find(sub["latest_invoice"]) if sub["latest_invoice"] else None
    if was_incomplete and latest is not None and latest["status"] == "open":
        invoices.void(acct, latest)
    if invoice_now and invoices.pending_items(acct, sub["customer"], sub["id"]):
        invoice = invoices.create(acct, sub, [], billing_reason="subscription_update", period=(now, now))
        invoices.finalize_and_collect(acct, invoice)


# -- the billing cycle (called by the clock) -------------------------------------------------------


def renew(acct: Account, sub: Obj, at: int) -> None:
    """The period ended: cancel if scheduled, else start the next period with a draft invoice."""
    if sub["cancel_at_period_end"] or (sub["cancel_at"] is not None and sub["cancel_at"] <= at):
        lifecycle.mark_canceled(acct, sub, at=at, reason="cancellation_requested")
        return
    before = snapshot(sub)
    previous = lifecycle.period(sub)
    plans = current_plans(sub)
    end = next_end(plans, sub["billing_cycle_anchor"], at)
    lifecycle.set_period(sub, at, end)
    invoices.create(
        acct,
        sub,
        cycle_specs(acct, plans, (at, end)),
        billing_reason="subscription_cycle",
        period=previous,
        auto_advance=sub["status"] != "unpaid",  # an unpaid subscription's invoices stay drafts
        finalize_delay=acct.settings.finalize_after_seconds,
    )
    acct.emit_changes("customer.subscription.updated", sub, before)


def end_trial(acct: Account, sub: Obj, at: int, *, before: Obj | None = None) -> None:
    """The trial is over: the first paid period starts (or the trial settings cancel or pause)."""
    before = before or snapshot(sub)
    payer = payments.default_payment_method(acct, _as_invoice(sub))
    behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if payer is None and behavior == "cancel":
        lifecycle.mark_canceled(acct, sub, at=at, reason="cancellation_requested")
        return
    if payer is None and behavior == "pause":
        sub.update(status="paused", pause_collection=None)
        acct.emit_changes("customer.subscription.updated", sub, before)
        acct.emit("customer.subscription.paused", sub)
        return
    plans = current_plans(sub)
    trial_start = sub["trial_start"] or sub["created"]
    end = next_end(plans, at, at)
    sub.update(status="active", billing_cycle_anchor=at, trial_end=at)
    lifecycle.set_period(sub, at, end)
    invoices.create(
        acct,
        sub,
        cycle_specs(acct, plans, (at, end)),
        billing_reason="subscription_cycle",
        period=(trial_start, at),
        finalize_delay=acct.settings.finalize_after_seconds,
    )
    acct.emit_changes("customer.subscription.updated", sub, before)


def notify_trial_end(acct: Account, sub: Obj) -> None:
    acct.trial_notified.add(sub["id"])
    acct.emit("customer.subscription.trial_will_end", sub)


def expire_incomplete(acct: Account, sub: Obj, at: int) -> None:
    """23 hours without a paid first invoice: ``incomplete_expired``, the invoice voided."""
    before = snapshot(sub)
    sub.update(status="incomplete_expired", ended_at=at, canceled_at=at)
    latest = acct.store.find(sub["latest_invoice"]) if sub["latest_invoice"] else None
    if latest is not None and latest["status"] == "open":
        invoices.void(acct, latest)
    acct.emit_changes("customer.subscription.updated", sub, before)
