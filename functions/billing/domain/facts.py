"""Billing's business metrics: one per business fact, counted where its ``billing.*`` event is written.

``count`` runs right after the transaction that wrote the events succeeded, so a fact is counted
once: a duplicate Stripe delivery or a retry writes no event again (nothing changed), and a write
that failed counted nothing. The metrics (``keel.metrics.business``: the ``service`` dimension only,
the tenant id a property):

    SubscriptionStarted      a paid plan started (the free plan at sign-up is identity's TenantCreated)
    SubscriptionPlanChanged  ``direction``: upgrade, downgrade, or interval (same plan, other interval)
    SubscriptionCanceled     a paid subscription ended (``reason``)
    PaymentFailed            a payment of an invoice failed (``attempt_count``)
    RefundIssued             money went back to the card (``amount``, ``currency``)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from functions.billing.domain.plans import FREE, PLANS
from keel import metrics
from keel.contracts.billing import (
    PaymentFailed,
    RefundIssued,
    SubscriptionCanceled,
    SubscriptionPlanChanged,
    SubscriptionStarted,
)
from keel.events import Contract

_RANK = {plan.name: rank for rank, plan in enumerate(PLANS)}


def count(tenant_id: str, events: Iterable[Contract]) -> None:
    """Emit the business metric of each fact among ``events`` (written for ``tenant_id`` just now)."""
    for event in events:
        fact = _fact(event)
        if fact is not None:
            name, properties = fact
            metrics.business(name, tenant_id=tenant_id, **properties)


def direction(previous_plan: str, plan: str) -> str:
    """``upgrade`` to a dearer plan, ``downgrade`` to a cheaper one, ``interval`` for the same plan."""
    before, after = _RANK.get(previous_plan, -1), _RANK.get(plan, -1)
    return "upgrade" if after > before else "downgrade" if after < before else "interval"


def _fact(event: Contract) -> tuple[str, dict[str, Any]] | None:
    if isinstance(event, SubscriptionStarted) and event.plan != FREE:
        trial = event.trial_end is not None
        return "SubscriptionStarted", {"plan": event.plan, "interval": event.interval, "trial": trial}
    if isinstance(event, SubscriptionPlanChanged):
        return "SubscriptionPlanChanged", {
            "direction": direction(event.previous_plan, event.plan),
            "previous_plan": event.previous_plan,
            "previous_interval": event.previous_interval,
            "plan": event.plan,
            "interval": event.interval,
        }
    if isinstance(event, SubscriptionCanceled):
        return "SubscriptionCanceled", {"plan": event.plan, "interval": event.interval, "reason": event.reason}
    if isinstance(event, PaymentFailed):
        return "PaymentFailed", {
            "invoice_id": event.invoice_id,
            "attempt_count": event.attempt_count,
            "amount_due": event.amount_due,
            "currency": event.currency,
            "reason": event.reason,
        }
    if isinstance(event, RefundIssued):
        return "RefundIssued", {
            "refund_id": event.refund_id,
            "invoice_id": event.invoice_id,
            "amount": event.amount,
            "currency": event.currency,
            "reason": event.reason,
        }
    return None
