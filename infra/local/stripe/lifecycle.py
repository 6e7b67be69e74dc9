"""Subscription status changes shared by the API, the billing cycle and dunning."""

from __future__ import annotations

from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.store import Obj

LIVE = ("trialing", "active", "past_due", "unpaid", "paused")


def period(sub: Obj) -> tuple[int, int]:
    """The current period, which (in this API version) each subscription item carries."""
    item = sub["items"]["data"][0]
    return int(item["current_period_start"]), int(item["current_period_end"])


def set_period(sub: Obj, start: int, end: int) -> None:
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end


def interval(sub: Obj) -> tuple[str, int]:
    recurring = sub["items"]["data"][0]["price"]["recurring"]
    return str(recurring["interval"]), int(recurring["interval_count"])


def set_status(acct: Account, sub: Obj, status: str) -> None:
    """Move to ``status`` with ``customer.subscription.updated`` (nothing when already there)."""
    if sub["status"] == status:
        return
    before = snapshot(sub)
    sub["status"] = status
    acct.emit_changes("customer.subscription.updated", sub, before)


def mark_canceled(acct: Account, sub: Obj, *, at: int, reason: str) -> None:
    """End the subscription now (``customer.subscription.deleted``)."""
    sub.update(status="canceled", ended_at=at, cancel_at_period_end=False)
    sub["canceled_at"] = sub["canceled_at"] or at
    sub["cancellation_details"]["reason"] = reason
    acct.emit("customer.subscription.deleted", sub)
