"""What a subscription's items become, and the invoice lines they make: full periods and prorations.

Line descriptions are Stripe's: ``1 x Pro (at $29.00 / month)`` (with the multiplication sign),
``Unused time on Pro after 16 Jan 2030``, ``Remaining time on Business after 16 Jan 2030``; the
amounts follow the proration formula in ``periods``.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.local.stripe import payments
from infra.local.stripe.account import Account
from infra.local.stripe.errors import invalid, no_such
from infra.local.stripe.invoices import LineSpec
from infra.local.stripe.params import Params
from infra.local.stripe.periods import day_label, next_boundary, prorate
from infra.local.stripe.store import Obj, new_id

TIMES = "\u00d7"  # Stripe's line descriptions use the multiplication sign


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


def interval_of(plans: list[ItemPlan]) -> tuple[str, int]:
    recurring = plans[0].price["recurring"]
    return str(recurring["interval"]), int(recurring["interval_count"])


def next_end(plans: list[ItemPlan], anchor: int, after: int) -> int:
    interval, count = interval_of(plans)
    return next_boundary(anchor, interval, count, after)
