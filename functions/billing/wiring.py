"""Builds billing's services from settings, once per container (nothing is read or opened at import).

Each builder imports what it builds, so a handler's cold start pays only for what its first request
uses: the webhook receiver never loads ``stripe`` (nor the domain it does not need), and the API
loads it on the first request that talks to Stripe. Each is cached per settings object, so when
the kernel forgets its settings (``keel.reset_caches()``: tests, the local runtime) the services are
rebuilt from the new ones.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.billing.adapters.inbox import StripeEventTable
    from functions.billing.adapters.store import AccountTable, BillingLedger, HistoryTable, InvoiceTable, RefundTable
    from functions.billing.adapters.stripe_gateway import StripeClient
    from functions.billing.domain.account import Terms
    from functions.billing.domain.entitlements import EntitlementsService
    from functions.billing.domain.invoicing import InvoiceService
    from functions.billing.domain.plans import Catalog
    from functions.billing.domain.provisioning import FreeTier
    from functions.billing.domain.stripe_events import StripeEventProcessor, WebhookReceiver
    from functions.billing.domain.subscriptions import SubscriptionService
    from functions.billing.domain.upkeep import Dunning, Reconciliation
    from functions.billing.settings import BillingSettings
    from keel.store import Transaction

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> BillingSettings:
    from functions.billing.settings import BillingSettings

    return settings.load(BillingSettings)


def table_name() -> str:
    return config().table


# -- the plan catalog (no I/O) -------------------------------------------------------------------


@cache
def _catalog(cfg: BillingSettings) -> Catalog:
    from functions.billing.domain.plans import Catalog

    return Catalog.with_prices(cfg.price_ids)


def catalog() -> Catalog:
    return _catalog(config())


@cache
def _terms(cfg: BillingSettings) -> Terms:
    from datetime import timedelta

    from functions.billing.domain.account import Terms

    return Terms(_catalog(cfg), grace=timedelta(days=cfg.grace_days))


# -- adapters -----------------------------------------------------------------------------------


@cache
def _accounts(cfg: BillingSettings) -> AccountTable:
    from functions.billing.adapters.store import AccountTable

    return AccountTable(cfg.table)


@cache
def _invoices(cfg: BillingSettings) -> InvoiceTable:
    from functions.billing.adapters.store import InvoiceTable

    return InvoiceTable(cfg.table)


@cache
def _refund_table(cfg: BillingSettings) -> RefundTable:
    from functions.billing.adapters.store import RefundTable

    return RefundTable(cfg.table)


@cache
def _history(cfg: BillingSettings) -> HistoryTable:
    from functions.billing.adapters.store import HistoryTable

    return HistoryTable(cfg.table)


@cache
def _ledger(cfg: BillingSettings) -> BillingLedger:
    from functions.billing.adapters.store import BillingLedger

    return BillingLedger(cfg.table)


def ledger() -> BillingLedger:
    return _ledger(config())


@cache
def _inbox(cfg: BillingSettings) -> StripeEventTable:
    from functions.billing.adapters.inbox import StripeEventTable

    return StripeEventTable(cfg.table, cfg.stripe_events_queue)


@cache
def _stripe(cfg: BillingSettings) -> StripeClient:
    from functions.billing.adapters.secrets import read_secret
    from functions.billing.adapters.stripe_gateway import StripeClient

    return StripeClient(
        api_key=lambda: read_secret(cfg.stripe_api_key_arn, cfg.stripe_api_key),
        api_base=cfg.stripe_api_base or None,
        timeout_seconds=cfg.stripe_timeout_seconds,
        max_network_retries=cfg.stripe_max_network_retries,
        test_clocks=cfg.stripe_test_clocks,
    )


# -- services -----------------------------------------------------------------------------------


def webhook_receiver() -> WebhookReceiver:
    return _webhook_receiver(config())


@cache
def _webhook_receiver(cfg: BillingSettings) -> WebhookReceiver:
    from functions.billing.adapters.secrets import read_secret, secret_list
    from functions.billing.adapters.stripe_webhook import StripeWebhook
    from functions.billing.domain.stripe_events import WebhookReceiver

    webhook = StripeWebhook(
        lambda: secret_list(read_secret(cfg.stripe_webhook_secret_arn, cfg.stripe_webhook_secret)),
        tolerance=cfg.webhook_tolerance_seconds,
    )
    return WebhookReceiver(webhook, _inbox(cfg))


def stripe_events() -> StripeEventProcessor:
    return _stripe_events(config())


@cache
def _stripe_events(cfg: BillingSettings) -> StripeEventProcessor:
    from functions.billing.adapters.stripe_gateway import API_VERSION
    from functions.billing.domain.stripe_events import StripeEventProcessor

    return StripeEventProcessor(
        inbox=_inbox(cfg),
        accounts=_accounts(cfg),
        invoices=_invoices(cfg),
        refunds=_refund_table(cfg),
        ledger=_ledger(cfg),
        stripe=_stripe(cfg),
        terms=_terms(cfg),
        api_version=API_VERSION,
    )


def _invoicing(cfg: BillingSettings) -> InvoiceService:
    from functions.billing.domain.invoicing import InvoiceService

    return InvoiceService(_invoices(cfg), _refund_table(cfg), _ledger(cfg), _stripe(cfg))


def invoicing() -> InvoiceService:
    return _invoicing(config())


def subscriptions() -> SubscriptionService:
    from functions.billing.domain.subscriptions import SubscriptionService

    cfg = config()
    return SubscriptionService(
        accounts=_accounts(cfg),
        invoices=_invoices(cfg),
        history=_history(cfg),
        ledger=_ledger(cfg),
        stripe=_stripe(cfg),
        refunds=_invoicing(cfg),
        terms=_terms(cfg),
        success_url=cfg.checkout_success_url,
        cancel_url=cfg.checkout_cancel_url,
        return_url=cfg.portal_return_url,
    )


def free_tier() -> FreeTier:
    from functions.billing.domain.provisioning import FreeTier

    cfg = config()
    return FreeTier(_accounts(cfg), _terms(cfg))


def entitlements() -> EntitlementsService:
    from functions.billing.domain.entitlements import EntitlementsService

    cfg = config()
    return EntitlementsService(_accounts(cfg), _ledger(cfg), _terms(cfg))


def dunning() -> Dunning:
    from functions.billing.domain.upkeep import Dunning

    cfg = config()
    return Dunning(_accounts(cfg), _ledger(cfg), _terms(cfg))


def reconciliation() -> Reconciliation:
    from functions.billing.domain.upkeep import Reconciliation

    cfg = config()
    return Reconciliation(
        inbox=_inbox(cfg),
        accounts=_accounts(cfg),
        ledger=_ledger(cfg),
        stripe=_stripe(cfg),
        processor=_stripe_events(cfg),
        terms=_terms(cfg),
    )


def accounts() -> AccountTable:
    return _accounts(config())


def provision_free_tier(tenant_id: str, occurred_at: str, tx: Transaction) -> None:
    """Add the tenant's free-plan account to ``tx`` (the consumer's, with its inbox marker)."""
    from datetime import datetime

    from functions.billing.domain.ports import Changes

    account = free_tier().provision(tenant_id, datetime.fromisoformat(occurred_at.replace("Z", "+00:00")))
    if account is not None:
        ledger().write(Changes(account=account), tx)
