"""Test clocks and the billing cycle engine: what falls due, in what order, when time moves.

Advancing a clock to ``T`` (in the background: the clock is ``advancing``, then ``ready``) runs,
earliest first and one at a time, every piece of due work of the clock's customers up to ``T``:

1. ``customer.subscription.trial_will_end``, three days before a trial ends;
2. a trial's end, a period's end (renewal, or the scheduled cancellation), a ``cancel_at``,
   an ``incomplete`` subscription's expiry (23 h);
3. a draft renewal invoice's finalization and first payment attempt (one hour after creation);
4. a payment retry (the dunning schedule, see ``invoices``);
5. a checkout session's expiry.

Customers without a clock live at the wall clock: a ticker runs their due work every second.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.local.stripe import checkout, invoices, lifecycle, objects, subscriptions
from infra.local.stripe.account import Account
from infra.local.stripe.errors import invalid
from infra.local.stripe.params import Params
from infra.local.stripe.periods import add_interval
from infra.local.stripe.store import Obj, new_id

log = logging.getLogger("keel.local.stripe")
MAX_STEPS = 100_000


@dataclass(order=True)
class Due:
    at: int
    rank: int
    order: int
    work: Callable[[], object] = field(compare=False)


def due_work(acct: Account, clock_id: str | None, until: int) -> Due | None:
    """The earliest work due by ``until`` for the customers of ``clock_id`` (``None``: the wall clock)."""
    customers = {c["id"] for c in acct.store.all("customer") if c["test_clock"] == clock_id}
    found: list[Due] = []
    for order, sub in enumerate(acct.store.all("subscription")):
        if sub["customer"] in customers:
            found.extend(_subscription_work(acct, sub, order))
    for order, invoice in enumerate(acct.store.all("invoice")):
        if invoice["customer"] not in customers:
            continue
        if invoice["status"] == "draft" and invoice["auto_advance"] and invoice["automatically_finalizes_at"]:
            work = functools.partial(invoices.finalize_and_collect, acct, invoice)
            found.append(Due(invoice["automatically_finalizes_at"], 3, order, work))
        if invoice["status"] == "open" and invoice["next_payment_attempt"]:
            found.append(
                Due(invoice["next_payment_attempt"], 4, order, functools.partial(invoices.collect, acct, invoice))
            )
    for order, session in enumerate(acct.store.all("checkout.session")):
        mine = session["customer"] in customers or (clock_id is None and session["customer"] is None)
        if mine and session["status"] == "open":
            found.append(Due(session["expires_at"], 5, order, functools.partial(checkout.expire, acct, session)))
    due = [item for item in found if item.at <= until]
    return min(due) if due else None


def _subscription_work(acct: Account, sub: Obj, order: int) -> list[Due]:
    status = sub["status"]
    if status == "trialing":
        end = sub["trial_end"]
        work = [Due(end, 2, order, functools.partial(subscriptions.end_trial, acct, sub, end))]
        if sub["id"] not in acct.trial_notified:
            notice = max(end - acct.settings.trial_will_end_seconds, sub["created"])
            work.append(Due(notice, 1, order, functools.partial(subscriptions.notify_trial_end, acct, sub)))
        return work
    if status in ("active", "past_due", "unpaid"):
        end = lifecycle.period(sub)[1]
        cancel_at = sub["cancel_at"]
        if cancel_at is not None and cancel_at < end:
            cancel = functools.partial(
                lifecycle.mark_canceled, acct, sub, at=cancel_at, reason="cancellation_requested"
            )
            return [Due(cancel_at, 2, order, cancel)]
        return [Due(end, 2, order, functools.partial(subscriptions.renew, acct, sub, end))]
    if status == "incomplete":
        expires = sub["created"] + acct.settings.incomplete_expires_after_seconds
        return [Due(expires, 2, order, functools.partial(subscriptions.expire_incomplete, acct, sub, expires))]
    return []


def run_due(acct: Account, clock_id: str | None, until: int) -> int:
    """Run every piece of work due by ``until``, one at a time, each under the lock; returns how many."""
    for step in range(MAX_STEPS):
        with acct.lock:
            due = due_work(acct, clock_id, until)
            if due is None:
                return step
            if clock_id is not None:
                acct.clock_time[clock_id] = max(due.at, acct.clock_time.get(clock_id, due.at))
            due.work()
            acct.flush()
    raise RuntimeError(f"more than {MAX_STEPS} billing steps without reaching {until}")


# -- the test clock API ---------------------------------------------------------------------------


def create(acct: Account, params: Params) -> Obj:
    params.allow(("frozen_time", "name"))
    clock = acct.store.add(
        objects.test_clock(
            clock_id=new_id("clock"),
            created=acct.now(),
            frozen_time=params.integer("frozen_time", required=True, minimum=0) or 0,
            name=params.text("name", max_length=300),
        )
    )
    acct.emit("test_helpers.test_clock.created", clock)
    return clock


def advance(acct: Account, clock: Obj, params: Params) -> Obj:
    """``POST .../advance``: validate, answer ``advancing`` at once, do the work in the background."""
    params.allow(("frozen_time",))
    target = params.integer("frozen_time", required=True, minimum=0) or 0
    if clock["status"] != "ready":
        raise invalid(f"The test clock {clock['id']} is {clock['status']}; wait until it is ready.")
    if target <= clock["frozen_time"]:
        raise invalid("The frozen_time must be after the test clock's current frozen time.", param="frozen_time")
    limit = advance_limit(acct, clock)
    if target > limit:
        raise invalid(
            "Cannot advance more than two intervals of the shortest subscription on this test clock "
            f"(two years without one): at most {limit}.",
            param="frozen_time",
        )
    clock.update(status="advancing", status_details={"advancing": {"target_frozen_time": target}})
    acct.clock_time[clock["id"]] = clock["frozen_time"]
    acct.emit("test_helpers.test_clock.advancing", clock)
    acct.background(f"advance {clock['id']}", functools.partial(_advance, acct, clock, target))
    return clock


def advance_limit(acct: Account, clock: Obj) -> int:
    """Stripe's limit: two intervals of the clock's shortest live subscription, else two years."""
    now = clock["frozen_time"]
    customers = {c["id"] for c in acct.store.all("customer") if c["test_clock"] == clock["id"]}
    limits = [
        add_interval(now, interval, 2 * count)
        for sub in acct.store.all("subscription")
        if sub["customer"] in customers and sub["status"] in (*lifecycle.LIVE, "incomplete")
        for interval, count in [lifecycle.interval(sub)]
    ]
    return min(limits, default=add_interval(now, "year", 2))


def _advance(acct: Account, clock: Obj, target: int) -> None:
    try:
        run_due(acct, clock["id"], target)
        status = "ready"
    except Exception:
        log.exception("test clock %s failed to advance", clock["id"])
        status = "internal_failure"
    with acct.lock:
        acct.clock_time.pop(clock["id"], None)
        clock.update(status=status, status_details={})
        if status == "ready":
            clock["frozen_time"] = target
            acct.emit("test_helpers.test_clock.ready", clock)
        else:
            acct.emit("test_helpers.test_clock.internal_failure", clock)
        acct.flush()


def delete(acct: Account, clock: Obj) -> Obj:
    """Delete a clock and every customer on it (their objects go with them, as on Stripe)."""
    if clock["status"] == "advancing":
        raise invalid("A test clock cannot be deleted while it advances.")
    for customer in acct.store.all("customer"):
        if customer["test_clock"] == clock["id"]:
            for kind in ("subscription", "invoice", "invoiceitem", "checkout.session"):
                for obj in acct.store.all(kind):
                    if obj["customer"] == customer["id"]:
                        acct.store.discard(obj)
            acct.store.delete(customer, objects.deleted("customer", customer["id"]))
    acct.emit("test_helpers.test_clock.deleted", clock)
    stub = objects.deleted("test_helpers.test_clock", clock["id"])
    acct.store.delete(clock, stub)
    return stub
