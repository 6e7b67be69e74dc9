"""A tenant's billing account: its plan and subscription as Stripe holds them, an operator's override,
and the entitlements last announced. The subscription state machine lives here.

Stripe is the source of truth for a paid subscription: ``apply`` makes the account what a freshly
fetched snapshot says, whatever order the events came in, and records the business events the
change means. Statuses, and what each entitles the tenant to:

    trialing, active            the plan
    past_due                    the plan during the grace period (``Terms.grace``), then the free plan
    incomplete                  the free plan: not paid yet
    unpaid, paused              the free plan, while the subscription still exists at Stripe
    canceled, incomplete_expired  the subscription is over: the account is back on the free plan

Every write of the account carries the events it recorded and the history entries it added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from functions.billing.domain.errors import UnknownPrice
from functions.billing.domain.overrides import Override
from functions.billing.domain.plans import FREE, PLANS, Catalog, Entitlements, Interval
from functions.billing.domain.snapshots import SubscriptionSnapshot
from keel import ids
from keel.contracts.billing import (
    EntitlementsChanged,
    SubscriptionCanceled,
    SubscriptionPlanChanged,
    SubscriptionRenewed,
    SubscriptionStarted,
    TrialEnding,
)
from keel.events import Contract

DEFAULT_GRACE = timedelta(days=7)
_TICK = timedelta(milliseconds=1)


class Status(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


#: The plan applies in full.
ENTITLED = frozenset({Status.TRIALING, Status.ACTIVE})
#: The subscription has started and is billed (past_due: a payment is late, the plan still applies for a while).
STARTED = frozenset({Status.TRIALING, Status.ACTIVE, Status.PAST_DUE})
#: The subscription is over at Stripe.
ENDED = frozenset({Status.CANCELED, Status.INCOMPLETE_EXPIRED})

_CANCEL_REASONS = {"cancellation_requested": "requested", "payment_failed": "payment_failed"}


@dataclass(frozen=True)
class Terms:
    """The rules an account is judged by: the catalog and how long a late payment is tolerated."""

    catalog: Catalog
    grace: timedelta = DEFAULT_GRACE


@dataclass(frozen=True)
class Operator:
    """The operator behind a change of the entitlements, and the reason they gave (if any)."""

    id: str
    reason: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """From ``effective_from`` on (until the next entry), the tenant was on ``plan`` in ``status``."""

    id: str
    effective_from: datetime
    plan: str
    interval: Interval | None
    status: Status
    #: The plan whose entitlements the status grants (past_due counts as the plan: its grace).
    entitled_plan: str


@dataclass
class BillingAccount:
    tenant_id: str
    plan: str
    interval: Interval | None
    status: Status
    #: The entitlements last announced, and when they took effect.
    entitlements: Entitlements
    entitlements_at: datetime
    #: When the last history entry took effect (entries never go back in time).
    changed_at: datetime
    customer_id: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    subscription_created: datetime | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    latest_invoice_id: str | None = None
    #: The last subscription that ended (so that cancelling it again is answered as such).
    ended_subscription_id: str | None = None
    past_due_since: datetime | None = None
    #: Whether ``billing.subscription.started.v1`` went out for the current subscription.
    start_announced: bool = False
    #: The trial end ``billing.trial.ending.v1`` was sent for.
    trial_notice_for: datetime | None = None
    override: Override | None = None
    #: 0 for an account not stored yet.
    version: int = 0
    #: What the store read (its index entries), so that a write can move them; opaque here.
    stored_as: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    events: list[Contract] = field(default_factory=list)
    new_history: list[HistoryEntry] = field(default_factory=list)

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    def on_free_plan(cls, tenant_id: str, terms: Terms, at: datetime) -> BillingAccount:
        """A new tenant's account: the free plan, announced with its entitlements."""
        free = terms.catalog.free
        account = cls(
            tenant_id=tenant_id,
            plan=FREE,
            interval=None,
            status=Status.ACTIVE,
            entitlements=free.entitlements,
            entitlements_at=at,
            changed_at=at,
        )
        price = free.prices.get(Interval.MONTHLY)
        account.events.append(
            SubscriptionStarted(
                plan=FREE,
                interval=None,
                amount=0,
                currency=price.currency if price else "usd",
                started_at=at,
                current_period_end=None,
            )
        )
        account._add_history(at)
        account._announce(free.entitlements, at, "plan", first=True)
        return account

    # -- what it is -----------------------------------------------------------------------------

    @property
    def has_live_subscription(self) -> bool:
        """A Stripe subscription exists and is not over: another checkout would make a second one."""
        return self.subscription_id is not None and self.status not in ENDED

    def entitled_plan(self, terms: Terms, now: datetime) -> str:
        """The plan whose entitlements apply at ``now``."""
        if self.subscription_id is None:
            return FREE
        if self.status in ENTITLED:
            return self.plan
        if self.status is Status.PAST_DUE and self.in_grace(terms, now):
            return self.plan
        return FREE

    def in_grace(self, terms: Terms, now: datetime) -> bool:
        return self.past_due_since is not None and now < self.past_due_since + terms.grace

    def effective_entitlements(self, terms: Terms, now: datetime) -> Entitlements:
        """The plan's entitlements, with the operator's override while it applies."""
        base = terms.catalog.get(self.entitled_plan(terms, now)).entitlements
        if self.override is not None and self.override.applies_at(now):
            return self.override.over(base)
        return base

    # -- Stripe's word ---------------------------------------------------------------------------

    def link_customer(self, customer_id: str) -> None:
        self.customer_id = customer_id

    def apply(self, sub: SubscriptionSnapshot, terms: Terms, at: datetime, *, by: str | None = None) -> bool:
        """Make the account what Stripe holds for ``sub`` (fetched just now); ``at`` is when Stripe says
        it happened. Returns ``False`` when ``sub`` is not this account's subscription (a late word
        about an older one) and nothing changed."""
        status = Status(sub.status)
        if not self._concerns(sub, status):
            return False
        priced = terms.catalog.of_price(sub.price_id)
        if priced is None:
            raise UnknownPrice(f"Stripe price {sub.price_id} is not in the plan catalog")
        plan, interval = priced[0].name, priced[1]
        before = (self.plan, self.interval, self.status)
        is_new = sub.id != self.subscription_id
        previous_start = None if is_new else self.current_period_start
        if is_new:
            self.start_announced = False
            self.trial_notice_for = None
        self.customer_id = sub.customer_id
        self.subscription_id = sub.id
        self.subscription_item_id = sub.item_id
        self.subscription_created = sub.created
        self.current_period_start = sub.current_period_start
        self.current_period_end = sub.current_period_end
        self.trial_end = sub.trial_end
        self.cancel_at_period_end = sub.cancel_at_period_end
        self.latest_invoice_id = sub.latest_invoice_id or self.latest_invoice_id
        self.past_due_since = (self.past_due_since or at) if status is Status.PAST_DUE else None

        if status in ENDED:
            self._end(sub, status=status, plan=plan, interval=interval, terms=terms, at=at, by=by)
            return True
        price = terms.catalog.get(plan).price(interval)
        if status in STARTED and not self.start_announced:
            self.start_announced = True
            self.events.append(
                SubscriptionStarted(
                    plan=plan,
                    interval=interval.value,
                    amount=price.amount,
                    currency=price.currency,
                    started_at=sub.current_period_start,
                    current_period_end=sub.current_period_end,
                    trial_end=sub.trial_end,
                )
            )
        elif self.start_announced and (plan, interval) != (self.plan, self.interval):
            self.events.append(
                SubscriptionPlanChanged(
                    previous_plan=self.plan,
                    previous_interval=self.interval.value if self.interval else None,
                    plan=plan,
                    interval=interval.value,
                    amount=price.amount,
                    currency=price.currency,
                    changed_at=at,
                    changed_by=by,
                )
            )
        elif (
            self.start_announced
            and status in STARTED
            and previous_start is not None
            and sub.current_period_start > previous_start
        ):
            self.events.append(
                SubscriptionRenewed(
                    plan=plan,
                    interval=interval.value,
                    amount=price.amount,
                    currency=price.currency,
                    current_period_start=sub.current_period_start,
                    current_period_end=sub.current_period_end,
                )
            )
        self.plan, self.interval, self.status = plan, interval, status
        if is_new or before != (self.plan, self.interval, self.status):
            self._add_history(at)
        self.refresh_entitlements(terms, at)
        return True

    def _concerns(self, sub: SubscriptionSnapshot, status: Status) -> bool:
        if sub.id == self.subscription_id or self.subscription_id is None:
            return status not in ENDED or sub.id == self.subscription_id
        # Another subscription than ours: only a newer, live one replaces it (never a late word on an old one).
        newer = self.subscription_created is None or sub.created > self.subscription_created
        return status not in ENDED and (self.status in ENDED or newer)

    def _end(
        self,
        sub: SubscriptionSnapshot,
        *,
        status: Status,
        plan: str,
        interval: Interval,
        terms: Terms,
        at: datetime,
        by: str | None,
    ) -> None:
        ended_at = sub.ended_at or sub.canceled_at or at
        if self.start_announced:
            reason = (
                "incomplete_expired"
                if status is Status.INCOMPLETE_EXPIRED
                else _CANCEL_REASONS.get(sub.cancellation_reason or "", "other")
            )
            self.events.append(
                SubscriptionCanceled(
                    plan=plan,
                    interval=interval.value,
                    canceled_at=ended_at,
                    reason=reason,
                    requested_by=by,
                )
            )
        self.plan, self.interval, self.status = plan, interval, status
        self._add_history(ended_at)
        # Back on the free plan: the ended subscription is history.
        self.ended_subscription_id = self.subscription_id
        self.plan, self.interval, self.status = FREE, None, Status.ACTIVE
        self.subscription_id = self.subscription_item_id = None
        self.subscription_created = self.current_period_start = self.current_period_end = None
        self.trial_end = self.past_due_since = self.trial_notice_for = None
        self.cancel_at_period_end = self.start_announced = False
        self.refresh_entitlements(terms, ended_at)

    def note_trial_ending(self, sub: SubscriptionSnapshot) -> bool:
        """Announce that the trial of ``sub`` ends soon, once per trial end."""
        if sub.id != self.subscription_id or sub.status != Status.TRIALING or sub.trial_end is None:
            return False
        if self.trial_notice_for == sub.trial_end:
            return False
        self.trial_notice_for = sub.trial_end
        self.events.append(TrialEnding(plan=self.plan, trial_end=sub.trial_end))
        return True

    # -- entitlements ----------------------------------------------------------------------------

    def refresh_entitlements(
        self, terms: Terms, now: datetime, reason: str | None = None, *, operator: Operator | None = None
    ) -> bool:
        """Announce the effective entitlements if they differ from the ones last announced (an
        operator's change names the operator and their reason)."""
        effective = self.effective_entitlements(terms, now)
        if effective == self.entitlements:
            return False
        if reason is None:
            reason = "payment_overdue" if self._overdue(terms, now) else "plan"
        self._announce(effective, now, reason, operator=operator)
        return True

    def _overdue(self, terms: Terms, now: datetime) -> bool:
        return self.status is Status.PAST_DUE and not self.in_grace(terms, now)

    def set_override(self, override: Override, terms: Terms, now: datetime) -> bool:
        """Apply ``override``; whether the effective entitlements changed (and were announced)."""
        self.override = override
        return self.refresh_entitlements(terms, now, "override", operator=Operator(override.set_by, override.reason))

    def remove_override(self, terms: Terms, now: datetime, *, by: str) -> bool:
        """Drop the override; whether the effective entitlements changed (and were announced)."""
        if self.override is None:
            return False
        self.override = None
        return self.refresh_entitlements(terms, now, "override", operator=Operator(by, None))

    def lapse_override(self, terms: Terms, now: datetime) -> bool:
        """Drop an override whose ``until`` has passed, announcing the entitlements without it."""
        if self.override is None or self.override.applies_at(now):
            return False
        self.override = None
        self.refresh_entitlements(terms, now, "override_lapsed")
        return True

    # -- recording -------------------------------------------------------------------------------

    def _announce(
        self,
        entitlements: Entitlements,
        at: datetime,
        reason: str,
        *,
        first: bool = False,
        operator: Operator | None = None,
    ) -> None:
        # Consumers ignore an announcement not newer than the one they hold: keep them increasing.
        effective_at = at if first else max(at, self.entitlements_at + _TICK)
        self.entitlements = entitlements
        self.entitlements_at = effective_at
        self.events.append(
            EntitlementsChanged(
                tenant_id=self.tenant_id,
                plan=entitlements.plan,
                seat_limit=entitlements.seat_limit,
                project_limit=entitlements.project_limit,
                features=dict(entitlements.features),
                effective_at=effective_at,
                rate_tier=entitlements.rate_tier,
                reason=reason,
                operator_id=operator.id if operator else None,
                operator_reason=operator.reason if operator else None,
                task_limit=entitlements.task_limit,
                plans=[plan.grant for plan in PLANS],
            )
        )

    def _add_history(self, at: datetime) -> None:
        effective_from = max(at, self.changed_at + _TICK) if self.new_history or self.version else at
        self.changed_at = effective_from
        entitled = self.plan if self.status in STARTED else FREE
        if self.subscription_id is None and self.status is Status.ACTIVE:
            entitled = self.plan
        self.new_history.append(
            HistoryEntry(
                id=ids.new_id("hist", effective_from),
                effective_from=effective_from,
                plan=self.plan,
                interval=self.interval,
                status=self.status,
                entitled_plan=entitled,
            )
        )

    def loaded(self) -> BillingAccount:
        """A copy without the recorded events and history (what a store returns)."""
        return replace(self, events=[], new_history=[], stored_as=dict(self.stored_as))
