"""Billing's scheduled upkeep: dunning, lapsed overrides, and reconciliation with Stripe.

- Dunning (daily): a tenant whose payment has been late (``past_due``) longer than the grace period
  falls back to the free plan's entitlements, announced by ``billing.entitlements.changed.v1`` with
  ``reason: payment_overdue``. Reads evaluate the grace period on their own; this announces it.
- Lapsed overrides (hourly): an operator's override whose ``until`` passed is dropped and the
  entitlements without it announced (``reason: override_lapsed``).
- Reconciliation: Stripe events still unprocessed 15 minutes after they arrived are processed again;
  and every tenant with a Stripe customer is compared with what Stripe holds and repaired, a page of
  the index of linked tenants at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.ports import Accounts, Changes, Ledger, Page, Stripe, StripeEventInbox
from functions.billing.domain.stripe_events import Outcome, StripeEventProcessor
from keel.clock import Clock, SystemClock

STUCK_AFTER = timedelta(minutes=15)
_BATCH = 100


class Dunning:
    def __init__(self, accounts: Accounts, ledger: Ledger, terms: Terms, *, clock: Clock | None = None) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._terms = terms
        self._clock = clock or SystemClock()

    def run(self) -> list[str]:
        """The tenants that fell back to the free plan's entitlements now."""
        now = self._clock.now()
        fallen = []
        for tenant_id in self._accounts.past_due_since_before(now - self._terms.grace, limit=_BATCH):
            account = self._accounts.get(tenant_id)
            if account is not None and account.refresh_entitlements(self._terms, now, "payment_overdue"):
                self._ledger.commit(Changes(account=account))
                fallen.append(tenant_id)
        return fallen

    def lapse_overrides(self) -> list[str]:
        """The tenants whose override lapsed now."""
        now = self._clock.now()
        lapsed = []
        for tenant_id in self._accounts.overrides_lapsed_by(now, limit=_BATCH):
            account = self._accounts.get(tenant_id)
            if account is not None and account.lapse_override(self._terms, now):
                self._ledger.commit(Changes(account=account))
                lapsed.append(tenant_id)
        return lapsed


@dataclass(frozen=True)
class Repair:
    """What reconciliation changed on one tenant's account to match Stripe."""

    tenant_id: str
    #: ``field: before -> after`` for each field that differed.
    differences: dict[str, tuple[str, str]]
    published: list[str]


def _state(account: BillingAccount) -> dict[str, str]:
    return {
        "plan": account.plan,
        "interval": str(account.interval.value if account.interval else None),
        "status": account.status.value,
        "subscription": str(account.subscription_id),
        "current_period_end": str(account.current_period_end),
        "cancel_at_period_end": str(account.cancel_at_period_end),
        "entitlements": account.entitlements.plan,
    }


class Reconciliation:
    def __init__(
        self,
        *,
        inbox: StripeEventInbox,
        accounts: Accounts,
        ledger: Ledger,
        stripe: Stripe,
        processor: StripeEventProcessor,
        terms: Terms,
        clock: Clock | None = None,
    ) -> None:
        self._inbox = inbox
        self._accounts = accounts
        self._ledger = ledger
        self._stripe = stripe
        self._processor = processor
        self._terms = terms
        self._clock = clock or SystemClock()

    def reprocess_stuck(self, on_failure: Callable[[str, Exception], None] | None = None) -> list[Outcome]:
        """Process again every event received more than 15 minutes ago and still not processed."""
        outcomes = []
        for event in self._inbox.unprocessed(self._clock.now() - STUCK_AFTER, limit=_BATCH):
            try:
                outcomes.append(self._processor.process(event.id))
            except Exception as exc:  # one stuck event must not hold back the others
                if on_failure is not None:
                    on_failure(event.id, exc)
        return outcomes

    def repair(self, tenant_id: str) -> Repair | None:
        """Make the tenant's account what Stripe holds; ``None`` when it already is (or has no customer)."""
        account = self._accounts.get(tenant_id)
        if account is None or account.customer_id is None:
            return None
        now = self._clock.now()
        before = _state(account)
        sub = self._stripe.latest_subscription(account.customer_id)
        if sub is not None:
            account.apply(sub, self._terms, now)
        account.refresh_entitlements(self._terms, now)
        after = _state(account)
        if before == after and not account.events:
            return None
        self._ledger.commit(Changes(account=account))
        differences = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        return Repair(tenant_id, differences, [type(e).TYPE for e in account.events])

    def linked(self, *, limit: int, cursor: str | None) -> Page[str]:
        """A page of the tenants that have a Stripe customer."""
        return self._accounts.linked(limit=limit, cursor=cursor)
