"""Operators' overrides of a tenant's entitlements (``/v1/admin/entitlements/{tenant_id}``).

Every change is announced by ``billing.entitlements.changed.v1`` (``reason: override``) when it
changes the effective entitlements, and names the operator who made it and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from functions.billing.domain.account import BillingAccount, Terms
from functions.billing.domain.errors import InvalidOverride, NoBillingAccount, NoOverride
from functions.billing.domain.overrides import Override
from functions.billing.domain.plans import FEATURES, Entitlements
from functions.billing.domain.ports import Accounts, Changes, Ledger
from keel.clock import Clock, SystemClock

MAX_REASON = 500


@dataclass(frozen=True)
class Granted:
    tenant_id: str
    plan: str
    override: Override | None
    effective: Entitlements


class EntitlementsService:
    def __init__(self, accounts: Accounts, ledger: Ledger, terms: Terms, *, clock: Clock | None = None) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._terms = terms
        self._clock = clock or SystemClock()

    def get(self, tenant_id: str) -> Granted:
        """The tenant's plan, its override (if it still applies) and the effective entitlements."""
        return self._granted(self._account(tenant_id), self._clock.now())

    def override(
        self,
        tenant_id: str,
        *,
        seat_limit: int | None,
        project_limit: int | None,
        features: Mapping[str, bool],
        until: datetime | None,
        reason: str,
        by: str,
    ) -> Granted:
        """Set (replace) the tenant's override."""
        now = self._clock.now()
        unknown = sorted(set(features) - set(FEATURES))
        if unknown:
            raise InvalidOverride(f"unknown features: {', '.join(unknown)}", details={"features": list(FEATURES)})
        if seat_limit is None and project_limit is None and not features:
            raise InvalidOverride("an override needs a seat_limit, a project_limit or features")
        if until is not None and until <= now:
            raise InvalidOverride("until must be in the future")
        # The announcement's contract: a tenant has at least its owner's seat, and no negative projects.
        if seat_limit is not None and seat_limit < 1:
            raise InvalidOverride("seat_limit must be at least 1")
        if project_limit is not None and project_limit < 0:
            raise InvalidOverride("project_limit must not be negative")
        if not 0 < len(reason.strip()) <= MAX_REASON:
            raise InvalidOverride(f"an override needs a reason of 1 to {MAX_REASON} characters")
        account = self._account(tenant_id)
        override = Override(seat_limit, project_limit, dict(features), until, reason, by, now)
        account.set_override(override, self._terms, now)
        self._ledger.commit(Changes(account=account))
        return self._granted(account, now)

    def remove(self, tenant_id: str) -> Granted:
        """Remove the tenant's override; the plan's entitlements apply again."""
        now = self._clock.now()
        account = self._account(tenant_id)
        if account.override is None or not account.override.applies_at(now):
            raise NoOverride("the tenant's entitlements are not overridden")
        account.remove_override(self._terms, now)
        self._ledger.commit(Changes(account=account))
        return self._granted(account, now)

    def _account(self, tenant_id: str) -> BillingAccount:
        account = self._accounts.get(tenant_id)
        if account is None:
            raise NoBillingAccount("no such tenant")
        return account

    def _granted(self, account: BillingAccount, now: datetime) -> Granted:
        override = account.override if account.override and account.override.applies_at(now) else None
        return Granted(account.tenant_id, account.plan, override, account.effective_entitlements(self._terms, now))
