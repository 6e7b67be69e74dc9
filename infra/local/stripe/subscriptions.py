"""Subscriptions: start, change (with prorations), cancel, preview, and each turn of the billing cycle.

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

from dataclasses import dataclass

from infra.local.stripe import invoices, lifecycle, objects, payments
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import invalid, no_such
from infra.local.stripe.invoices import LineSpec
from infra.local.stripe.params import Params, merge_metadata
from infra.local.stripe.periods import DAY, day_label, next_boundary, prorate
from infra.local.stripe.store import Obj, new_id

TIMES = "\u00d7"  # Stripe's line descriptions use the multiplication sign
PRORATIONS = ("create_prorations", "always_invoice", "none")
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
MISSING_PM = ("cancel", "create_invoice", "pause")


@dataclass(frozen=True)
class ItemPlan:
    """What an item should be after a create or change (``item_id`` is kept when the item exists)."""

    item_id: str
    price: Obj
    quantity: int


# -- lines ----------------------------------------------------------------------------------------


def _label(acct: Account, price: Obj, quantity: int) -> str:
    name = acct.product_name(price)
    return name if quantity == 1 else f"{quantity} {TIMES} {name}"


def cycle_specs(acct: Account, plans: list[ItemPlan], period: tuple[int, int]) -> list[LineSpec]:
    """One full-price line per item: ``1 x Pro (at $29.00 / month)`` (with Stripe's multiplication sign)."""
    specs = []
    for plan in plans:
        price, recurring = plan.price, plan.price["recurring"]
        every = (
            recurring["interval"]
            if recurring["interval_count"] == 1
            else f"{recurring['interval_count']} " + (f"{recurring['interval']}s")
        )
        unit = payments.money(price["unit_amount"], price["currency"])
        specs.append(
            LineSpec(
                amount=price["unit_amount"] * plan.quantity,
                description=f"{plan.quantity} {TIMES} {acct.product_name(price)} (at {unit} / {every})",
                period=period,
                price=price,
                quantity=plan.quantity,
                subscription_item=plan.item_id,
                proration=False,
            )
        )
    return specs


def credit_specs(acct: Account, old: list[ItemPlan], period: tuple[int, int], at: int) -> list[LineSpec]:
    """``Unused time on Pro after 15 Mar 2026`` for each of ``old``."""
    start, end = period
    specs = []
    for plan in old:
        amount = -prorate(plan.price["unit_amount"] * plan.quantity, start=start, end=end, at=at)
        if amount:
            specs.append(
                LineSpec(
                    amount=amount,
                    description=f"Unused time on {_label(acct, plan.price, plan.quantity)} after {day_label(at)}",
                    period=(at, end),
                    price=plan.price,
                    quantity=plan.quantity,
                    subscription_item=plan.item_id,
                    proration=True,
                )
            )
    return specs


def charge_specs(acct: Account, new: list[ItemPlan], period: tuple[int, int], at: int) -> list[LineSpec]:
    """``Remaining time on Business after 15 Mar 2026`` for each of ``new``."""
    start, end = period
    specs = []
    for plan in new:
        amount = prorate(plan.price["unit_amount"] * plan.quantity, start=start, end=end, at=at)
        if amount:
            specs.append(
                LineSpec(
                    amount=amount,
                    description=f"Remaining time on {_label(acct, plan.price, plan.quantity)} after {day_label(at)}",
                    period=(at, end),
                    price=plan.price,
                    quantity=plan.quantity,
                    subscription_item=plan.item_id,
                    proration=True,
                )
            )
    return specs


def proration_specs(
    acct: Account, old: list[ItemPlan], new: list[ItemPlan], period: tuple[int, int], at: int
) -> list[LineSpec]:
    """Credits for items removed or changed, then charges for items added or changed."""
    new_by_id = {plan.item_id: plan for plan in new}
    old_by_id = {plan.item_id: plan for plan in old}
    changed_old = [p for p in old if p.item_id not in new_by_id or _differs(p, new_by_id[p.item_id])]
    changed_new = [p for p in new if p.item_id not in old_by_id or _differs(old_by_id[p.item_id], p)]
    return credit_specs(acct, changed_old, period, at) + charge_specs(acct, changed_new, period, at)


def _differs(a: ItemPlan, b: ItemPlan) -> bool:
    return a.price["id"] != b.price["id"] or a.quantity != b.quantity


def current_plans(sub: Obj) -> list[ItemPlan]:
    return [ItemPlan(item["id"], item["price"], item["quantity"]) for item in sub["items"]["data"]]


# -- reading items --------------------------------------------------------------------------------


def recurring_price(acct: Account, price_id: str, *, param: str) -> Obj:
    price = acct.store.get(price_id, "price", param=param)
    if price["recurring"] is None:
        raise invalid(
            f"The price specified is set to `type=one_time` but this field only accepts prices with "
            f"`type=recurring`: {price_id}",
            param=param,
        )
    if not price["active"]:
        raise invalid(f"The price specified is inactive: {price_id}", param=param)
    return price


def new_plans(acct: Account, params: Params, key: str = "items") -> list[ItemPlan]:
    """``items[i][price]``, ``items[i][quantity]`` for a new subscription."""
    plans = []
    for item in params.hashes(key):
        item.allow(("price", "quantity", "metadata"))
        price = recurring_price(acct, item.req("price"), param=item.name("price"))
        plans.append(ItemPlan(new_id("si", 14), price, item.integer("quantity", minimum=1) or 1))
    if not plans:
        raise invalid("Missing required param: items.", param=key, code="parameter_missing")
    return _checked(plans, key)


def changed_plans(acct: Account, sub: Obj, params: Params, key: str = "items") -> list[ItemPlan]:
    """The items after ``items[i][id|price|quantity|deleted]`` is applied to ``sub``'s."""
    plans = {plan.item_id: plan for plan in current_plans(sub)}
    for item in params.hashes(key):
        item.allow(("id", "price", "quantity", "deleted", "metadata", "clear_usage"))
        item_id = item.text("id")
        if item_id is not None and item_id not in plans:
            raise no_such("subscription_item", item_id, param=item.name("id"))
        if item_id is not None and item.flag("deleted"):
            del plans[item_id]
            continue
        price_id = item.text("price")
        current = plans.get(item_id) if item_id else None
        if current is None and price_id is None:
            raise invalid("Missing required param: price.", param=item.name("price"), code="parameter_missing")
        price = recurring_price(acct, price_id, param=item.name("price")) if price_id else None
        quantity = item.integer("quantity", minimum=1)
        if current is None:
            assert price is not None
            plans[new_id("si", 14)] = ItemPlan("", price, quantity or 1)
        else:
            plans[current.item_id] = ItemPlan(current.item_id, price or current.price, quantity or current.quantity)
    result = [ItemPlan(item_id, plan.price, plan.quantity) for item_id, plan in plans.items()]
    if not result:
        raise invalid("A subscription must have at least one item.", param=key)
    return _checked(result, key)


def _checked(plans: list[ItemPlan], key: str) -> list[ItemPlan]:
    first = plans[0].price
    for plan in plans[1:]:
        same = (
            plan.price["currency"] == first["currency"]
            and plan.price["recurring"]["interval"] == first["recurring"]["interval"]
            and plan.price["recurring"]["interval_count"] == first["recurring"]["interval_count"]
        )
        if not same:
            raise invalid("Currency and interval fields must match across all plans on this subscription.", param=key)
    return plans


def _interval_of(plans: list[ItemPlan]) -> tuple[str, int]:
    recurring = plans[0].price["recurring"]
    return str(recurring["interval"]), int(recurring["interval_count"])


def _next_end(plans: list[ItemPlan], anchor: int, after: int) -> int:
    interval, count = _interval_of(plans)
    return next_boundary(anchor, interval, count, after)


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
    period = (now, trial_end) if trial_end else (now, _next_end(plans, now, now))
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
        lifecycle.set_period(sub, now, _next_end(plans, now, now))
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
    acct: Account, sub: Obj, plans: list[ItemPlan], *, behavior: str, proration_date: int | None, reset_anchor: bool
) -> tuple[list[LineSpec], bool, bool]:
    """The proration lines of a change, whether it restarts the period, whether it invoices now."""
    at = proration_date or acct.now(sub["customer"])
    period = lifecycle.period(sub)
    old = current_plans(sub)
    reset = reset_anchor or _interval_of(plans) != _interval_of(old)
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
    end = _next_end(plans, sub["billing_cycle_anchor"], at)
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
    end = _next_end(plans, at, at)
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


# -- preview --------------------------------------------------------------------------------------


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
        period = (now, _next_end(plans, now, now))
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
    reset = details.choice("billing_cycle_anchor", ("now", "unchanged")) == "now" or _interval_of(plans) != (
        _interval_of(old)
    )
    if reset and not trialing:
        new_period = (now, _next_end(plans, now, now))
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
    next_end = _next_end(plans, end if trialing else sub["billing_cycle_anchor"], end)
    specs = prorations + cycle_specs(acct, plans, (end, next_end))
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
