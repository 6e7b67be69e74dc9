"""The free tier, provisioned when a tenant is created (``identity.tenant.created.v1``): no Stripe call."""

from __future__ import annotations

from datetime import datetime

from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.ports import Accounts


class FreeTier:
    def __init__(self, accounts: Accounts, terms: Terms) -> None:
        self._accounts = accounts
        self._terms = terms

    def provision(self, tenant_id: str, at: datetime) -> BillingAccount | None:
        """A new account on the free plan, with ``billing.subscription.started.v1`` and
        ``billing.entitlements.changed.v1``; ``None`` if the tenant has one already (a checkout may
        have been first)."""
        if self._accounts.get(tenant_id) is not None:
            return None
        return BillingAccount.on_free_plan(tenant_id, self._terms, at)
