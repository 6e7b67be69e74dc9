"""Operators' overrides of a tenant's entitlements (``/v1/admin/entitlements/{tenant_id}``).

Every change is announced by ``billing.entitlements.changed.v1`` (``reason: override``) when it
changes the effective entitlements, and names the operator who made it and why (``operator_id``,
``operator_reason``). Every call is logged with the operator's id. A tenant billing does not know (or
a malformed id) is not found, as an unknown tenant.
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
from keel import ids, observability
from keel.clock import Clock, SystemClock
from keel.tenancy import Access, Caller

MAX_REASON = 500
#: The service name the operators' log lines go out under (the billing API's).
SERVICE = "billing"


@dataclass(frozen=True)
class Granted:
    tenant_id: str
    plan: str
    #: The entitlements of the plan that applies now (the free plan's while a payment is overdue).
    plan_entitlements: Entitlements
    override: Override | None
    effective: Entitlements


class EntitlementsService:
    def __init__(self, accounts: Accounts, ledger: Ledger, terms: Terms, *, clock: Clock | None = None) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._terms = terms
        self._clock = clock or SystemClock()

    def get(self, operator: Caller, tenant_id: str) -> Granted:
        """The tenant's plan, its override (if it still applies) and the effective entitlements."""
        operator.require(Access.OPERATOR)
        granted = self._granted(self._account(tenant_id), self._clock.now())
        _log(operator, "view_entitlements", tenant_id=tenant_id)
        return granted

    def override(
        self,
        operator: Caller,
        tenant_id: str,
        *,
        seat_limit: int | None,
        project_limit: int | None,
        features: Mapping[str, bool],
        until: datetime | None,
        reason: str,
    ) -> Granted:
        """Set (replace) the tenant's override, in the operator's name."""
        operator.require(Access.OPERATOR)
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
        override = Override(seat_limit, project_limit, dict(features), until, reason, operator.user_id, now)
        announced = account.set_override(override, self._terms, now)
        self._ledger.commit(Changes(account=account))
        _log(operator, "override_entitlements", tenant_id=tenant_id, reason=reason, changed=announced)
        return self._granted(account, now)

    def remove(self, operator: Caller, tenant_id: str) -> Granted:
        """Remove the tenant's override, in the operator's name; the plan's entitlements apply again."""
        operator.require(Access.OPERATOR)
        now = self._clock.now()
        account = self._account(tenant_id)
        if account.override is None or not account.override.applies_at(now):
            raise NoOverride("the tenant's entitlements are not overridden")
        announced = account.remove_override(self._terms, now, by=operator.user_id)
        self._ledger.commit(Changes(account=account))
        _log(operator, "remove_entitlements_override", tenant_id=tenant_id, changed=announced)
        return self._granted(account, now)

    def _account(self, tenant_id: str) -> BillingAccount:
        account = self._accounts.get(tenant_id) if ids.is_id("ten", tenant_id) else None
        if account is None:
            raise NoBillingAccount("no such tenant")
        return account

    def _granted(self, account: BillingAccount, now: datetime) -> Granted:
        override = account.override if account.override and account.override.applies_at(now) else None
        base = self._terms.catalog.get(account.entitled_plan(self._terms, now)).entitlements
        return Granted(
            account.tenant_id, account.plan, base, override, account.effective_entitlements(self._terms, now)
        )


def _log(operator: Caller, action: str, **details: object) -> None:
    observability.for_service(SERVICE).logger.info(
        "operator action", extra={"action": action, "operator_id": operator.user_id, **details}
    )
