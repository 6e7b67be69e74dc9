"""What a tenant does with its subscription: look at it, check out, open the portal, preview and
change its plan, cancel (with a prorated refund), and read its history.

Every refusal (a second checkout, a change to the current plan, cancelling what is canceled) is
raised before Stripe is called, so it never leaves a Stripe object behind. Every Stripe write carries
an idempotency key derived from the operation: ``<tenant>:<operation>:<id>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from functions.billing.domain.account import BillingAccount, HistoryEntry, Terms
from functions.billing.domain.errors import (
    AlreadyCanceled,
    ConcurrentChange,
    NoPaidSubscription,
    NoStripeCustomer,
    NotAPaidPlan,
    SamePlan,
    SubscriptionExists,
)
from functions.billing.domain.invoices import Refund
from functions.billing.domain.invoicing import ATTEMPTS, InvoiceService, RefundRequest
from functions.billing.domain.money import prorated_refund
from functions.billing.domain.plans import Entitlements, Interval, Plan
from functions.billing.domain.ports import Accounts, Changes, History, Invoices, Ledger, Page, Stripe
from functions.billing.domain.snapshots import InvoicePreview, InvoiceSnapshot, SubscriptionSnapshot
from keel.clock import Clock, SystemClock

CancelWhen = Literal["period_end", "now"]
CancelRefund = Literal["prorated", "none"]


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    email: str | None = None


@dataclass(frozen=True)
class Current:
    """A tenant's subscription and what it may use, right now."""

    account: BillingAccount
    entitlements: Entitlements
    entitled_plan: str
    overridden: bool


@dataclass(frozen=True)
class ChangePreview:
    plan: str
    interval: Interval
    #: What the change invoices now (negative: a credit kept for the next invoices).
    preview: InvoicePreview
    next_invoice_amount: int
    next_invoice_at: datetime | None


@dataclass(frozen=True)
class CancelPreview:
    invoice_id: str
    currency: str
    refund: int
    at: datetime
    period_end: datetime | None


@dataclass(frozen=True)
class Cancellation:
    current: Current
    refund: Refund | None


class SubscriptionService:
    def __init__(
        self,
        *,
        accounts: Accounts,
        invoices: Invoices,
        history: History,
        ledger: Ledger,
        stripe: Stripe,
        refunds: InvoiceService,
        terms: Terms,
        success_url: str,
        cancel_url: str,
        return_url: str,
        clock: Clock | None = None,
    ) -> None:
        self._accounts = accounts
        self._invoices = invoices
        self._history = history
        self._ledger = ledger
        self._stripe = stripe
        self._refunds = refunds
        self._terms = terms
        self._urls = (success_url, cancel_url, return_url)
        self._clock = clock or SystemClock()

    # -- reading --------------------------------------------------------------------------------

    def current(self, tenant_id: str) -> Current:
        """The tenant's plan, status and effective entitlements (an override that lapsed no longer counts)."""
        now = self._clock.now()
        return self._current(self._account(tenant_id, now), now)

    def _current(self, account: BillingAccount, now: datetime) -> Current:
        override = account.override
        return Current(
            account=account,
            entitlements=account.effective_entitlements(self._terms, now),
            entitled_plan=account.entitled_plan(self._terms, now),
            overridden=override is not None and override.applies_at(now),
        )

    def history(self, tenant_id: str, *, on: date | None, limit: int, cursor: str | None) -> Page[HistoryEntry]:
        """The entries in effect on ``on`` (UTC), or the whole history a page at a time, newest first."""
        if on is not None:
            return Page(self._history.on(tenant_id, on), None)
        return self._history.list(tenant_id, limit=limit, cursor=cursor)

    # -- checkout and portal --------------------------------------------------------------------

    def checkout(self, caller: Caller, plan_name: str, interval: Interval) -> str:
        """A Stripe Checkout URL for ``plan`` (the Stripe customer is made on first need)."""
        plan = self._paid_plan(plan_name)
        now = self._clock.now()
        account = self._account(caller.tenant_id, now)
        if account.has_live_subscription:
            raise SubscriptionExists(
                f"the tenant already has a {account.plan} subscription ({account.status.value}): "
                "change its plan instead"
            )
        account = self._ensure_customer(account, caller)
        return self._stripe.create_checkout(
            tenant_id=caller.tenant_id,
            customer_id=str(account.customer_id),
            price_id=plan.price(interval).stripe_price_id,
            success_url=self._urls[0],
            cancel_url=self._urls[1],
            idempotency_key=f"{caller.tenant_id}:checkout:{plan.name}-{interval.value}:v{account.version}",
        )

    def portal(self, caller: Caller) -> str:
        """A Stripe billing portal URL for the tenant's customer."""
        now = self._clock.now()
        account = self._account(caller.tenant_id, now)
        if account.customer_id is None:
            raise NoStripeCustomer("the tenant has no Stripe customer yet: check out a plan first")
        return self._stripe.create_portal(
            customer_id=account.customer_id,
            return_url=self._urls[2],
            idempotency_key=f"{caller.tenant_id}:portal:{now:%Y%m%dT%H%M}",
        )

    # -- plan changes ---------------------------------------------------------------------------

    def preview_change(self, tenant_id: str, plan_name: str, interval: Interval) -> ChangePreview:
        """What changing to ``plan`` / ``interval`` would invoice now, and the next invoice after it."""
        plan = self._paid_plan(plan_name)
        account = self._changeable(tenant_id, plan, interval, self._clock.now())
        now = self._stripe.now_for(str(account.customer_id))
        preview = self._stripe.preview_change(
            subscription_id=str(account.subscription_id),
            item_id=str(account.subscription_item_id),
            price_id=plan.price(interval).stripe_price_id,
            at=now,
        )
        same_cycle = interval == account.interval
        return ChangePreview(
            plan=plan.name,
            interval=interval,
            preview=preview,
            next_invoice_amount=plan.price(interval).amount,
            next_invoice_at=account.current_period_end if same_cycle else None,
        )

    def change(self, caller: Caller, plan_name: str, interval: Interval) -> Current:
        """Move to another plan or interval now; the difference is prorated and invoiced at once."""
        plan = self._paid_plan(plan_name)
        account = self._changeable(caller.tenant_id, plan, interval, self._clock.now())
        now = self._stripe.now_for(str(account.customer_id))
        sub = self._stripe.change_plan(
            subscription_id=str(account.subscription_id),
            item_id=str(account.subscription_item_id),
            price_id=plan.price(interval).stripe_price_id,
            at=now,
            idempotency_key=f"{caller.tenant_id}:change-plan:{account.subscription_id}:{plan.name}-{interval.value}"
            f":v{account.version}",
        )
        account = self._saved(caller.tenant_id, account, self._applying(sub, now, caller.user_id))[0]
        return self._current(account, self._clock.now())

    # -- cancelling -----------------------------------------------------------------------------

    def cancel_preview(self, tenant_id: str) -> CancelPreview:
        """If the subscription were cancelled now: the prorated refund of its latest invoice."""
        account = self._cancellable(tenant_id, self._clock.now())
        invoice = self._latest_invoice(account)
        now = self._stripe.now_for(str(account.customer_id))
        return CancelPreview(
            invoice_id=invoice.id,
            currency=invoice.currency,
            refund=self._unused(account, invoice, now),
            at=now,
            period_end=account.current_period_end,
        )

    def cancel(self, caller: Caller, when: CancelWhen, refund: CancelRefund) -> Cancellation:
        """Cancel at the period's end, or now (optionally refunding the unused time, prorated)."""
        now = self._clock.now()
        account = self._cancellable(caller.tenant_id, now)
        sub_id = str(account.subscription_id)
        if when == "period_end":
            if account.cancel_at_period_end:
                raise AlreadyCanceled("the subscription is already set to end with its period")
            sub = self._stripe.cancel_at_period_end(
                subscription_id=sub_id, idempotency_key=f"{caller.tenant_id}:cancel-at-period-end:{sub_id}"
            )
            account = self._saved(caller.tenant_id, account, self._applying(sub, now, caller.user_id))[0]
            return Cancellation(self._current(account, self._clock.now()), None)
        latest = self._latest_invoice(account) if refund == "prorated" and account.latest_invoice_id else None
        ended = self._stripe.cancel_now(subscription_id=sub_id, idempotency_key=f"{caller.tenant_id}:cancel:{sub_id}")
        # Prorate to the moment Stripe ended it, so that a retry (replayed by Stripe) asks the same refund.
        at = ended.ended_at or ended.canceled_at or now
        amount = _prorated(latest, (account.current_period_start, account.current_period_end), at) if latest else 0
        made: Refund | None = None
        refund_changes = Changes()
        if latest is not None and amount > 0:
            request = RefundRequest(
                caller.tenant_id, latest.id, amount, "order_change", caller.user_id, f"cancel-{sub_id}"
            )
            # Billing's copy of the invoice catches up from Stripe's charge.refunded (one read less here).
            made, refund_changes = self._refunds.prepare(request, None)
        apply = self._applying(ended, now, caller.user_id)

        def cancel_and_refund(fresh: BillingAccount) -> Changes:
            return Changes(account=apply(fresh).account, refunds=list(refund_changes.refunds))

        account, recorded = self._saved(caller.tenant_id, account, cancel_and_refund)
        return Cancellation(self._current(account, self._clock.now()), recorded or made)

    def _applying(self, sub: SubscriptionSnapshot, now: datetime, by: str) -> Callable[[BillingAccount], Changes]:
        def apply(account: BillingAccount) -> Changes:
            account.apply(sub, self._terms, now, by=by)
            return Changes(account=account)

        return apply

    # -- helpers --------------------------------------------------------------------------------

    def _account(self, tenant_id: str, now: datetime) -> BillingAccount:
        # Provisioning at sign-up is asynchronous: a tenant that asks first is put on the free plan
        # here (the provisioning consumer then finds it and does nothing).
        return self._accounts.get(tenant_id) or BillingAccount.on_free_plan(tenant_id, self._terms, now)

    def _ensure_customer(self, account: BillingAccount, caller: Caller) -> BillingAccount:
        if account.customer_id is not None:
            return account
        customer = self._stripe.create_customer(
            tenant_id=caller.tenant_id,
            email=caller.email,
            idempotency_key=f"{caller.tenant_id}:create-customer:{caller.tenant_id}",
        )

        def link(fresh: BillingAccount) -> Changes:
            if fresh.customer_id is None:
                fresh.link_customer(customer)
            return Changes(account=fresh)

        return self._saved(caller.tenant_id, account, link)[0]

    def _saved(
        self, tenant_id: str, account: BillingAccount, update: Callable[[BillingAccount], Changes]
    ) -> tuple[BillingAccount, Refund | None]:
        """``update`` the account and write what it returns (with its refund, if any: the one recorded
        is returned); when a webhook changed the account at the same moment, read it again and update
        that (Stripe is not called again: ``update`` only applies what Stripe answered)."""
        for attempt in range(ATTEMPTS):
            changes = update(account)
            try:
                if changes.refunds:
                    return account, self._refunds.record(changes.refunds[0], changes)
                self._ledger.commit(changes)
                return account, None
            except ConcurrentChange:
                if attempt == ATTEMPTS - 1:
                    raise
                account = self._account(tenant_id, self._clock.now())
        raise AssertionError("unreachable")

    def _paid_plan(self, name: str) -> Plan:
        catalog = self._terms.catalog
        if name not in catalog or catalog.get(name).is_free:
            raise NotAPaidPlan(
                f"{name!r} is not a paid plan: choose one of "
                + ", ".join(p.name for p in catalog.plans if not p.is_free)
            )
        plan = catalog.get(name)
        if not all(price.stripe_price_id for price in plan.prices.values()):
            raise NotAPaidPlan(f"the {name} plan has no Stripe price configured")
        return plan

    def _changeable(self, tenant_id: str, plan: Plan, interval: Interval, now: datetime) -> BillingAccount:
        account = self._account(tenant_id, now)
        if not account.has_live_subscription:
            raise NoPaidSubscription("the tenant is on the free plan: check out a paid plan instead")
        if (account.plan, account.interval) == (plan.name, interval):
            raise SamePlan(f"the tenant is already on {plan.name} ({interval.value})")
        return account

    def _cancellable(self, tenant_id: str, now: datetime) -> BillingAccount:
        account = self._account(tenant_id, now)
        if not account.has_live_subscription:
            if account.ended_subscription_id is not None:
                raise AlreadyCanceled("the subscription is already canceled: the tenant is on the free plan")
            raise NoPaidSubscription("the tenant is on the free plan: there is nothing to cancel")
        return account

    def _latest_invoice(self, account: BillingAccount) -> InvoiceSnapshot:
        if account.latest_invoice_id is None:
            raise NoPaidSubscription("the subscription has no invoice yet")
        return self._stripe.invoice(account.latest_invoice_id)

    def _unused(self, account: BillingAccount, invoice: InvoiceSnapshot, at: datetime) -> int:
        return _prorated(invoice, (account.current_period_start, account.current_period_end), at)


def _prorated(invoice: InvoiceSnapshot, period: tuple[datetime | None, datetime | None], at: datetime) -> int:
    start, end = period
    if invoice.status != "paid" or start is None or end is None:
        return 0
    return prorated_refund(
        paid=invoice.amount_paid,
        refunded=invoice.post_payment_credit_notes_amount,
        period_start=int(start.timestamp()),
        period_end=int(end.timestamp()),
        at=int(at.timestamp()),
    )
