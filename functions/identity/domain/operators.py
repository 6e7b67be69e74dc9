"""The deployment's operators and the tenants: the directory of every tenant, one tenant's record,
suspension and reactivation.

An operator is a member of no tenant by being one: here they see the directory and a tenant's
record (name, slug, status, plan, seats, when it was created, its owners' emails), and nothing of
what its members keep in it.

Suspending a tenant stops it at once: one write marks the tenant and its API keys' lookups (so the
authorizer denies its members and its keys, 403 ``tenant_suspended``), and API Gateway's cached
authorizer answers are flushed. Every write of the tenant re-checks its status in its own
transaction besides, so an answer cached a moment before the flush cannot write. Nothing is
deleted; reactivating lifts it all. Changing a tenant to the status it has already changes nothing
and publishes nothing (a 200 all the same), but flushes the cache again, so that repeating a call
whose flush failed completes it.

Every call is logged with the operator's id; each change publishes its event
(``identity.tenant.suspended.v1``, ``identity.tenant.reactivated.v1``) carrying the operator's id
and reason.
"""

from __future__ import annotations

from dataclasses import replace

from functions.identity.domain import instants
from functions.identity.domain.errors import TenantChangedMeanwhile, TenantNotFound
from functions.identity.domain.ports import AuthorizerCache, Page, TenantDetails, TenantDirectory
from functions.identity.domain.tenant import Tenant, TenantStatus, TenantSummary
from keel import ids, metrics, observability
from keel.clock import Clock, SystemClock
from keel.contracts.identity import TenantReactivated
from keel.contracts.identity import TenantSuspended as TenantSuspendedEvent
from keel.events import Envelope, envelope
from keel.tenancy import Access, Caller

#: How often a status change is tried when the tenant changes under it (a key issued meanwhile).
STATUS_CHANGE_ATTEMPTS = 3
#: The service name the operators' log lines go out under (the identity API's).
SERVICE = "identity"


class OperatorService:
    def __init__(
        self,
        directory: TenantDirectory,
        authorizer_cache: AuthorizerCache,
        *,
        clock: Clock | None = None,
        attempts: int = STATUS_CHANGE_ATTEMPTS,
    ) -> None:
        self._directory = directory
        self._authorizer_cache = authorizer_cache
        self._clock = clock or SystemClock()
        self._attempts = attempts

    def tenants(
        self, operator: Caller, *, status: TenantStatus | None, limit: int, cursor: str | None
    ) -> Page[TenantSummary]:
        """One page of every tenant (or of those in ``status``), newest first."""
        _require_operator(operator)
        page = self._directory.page(status, limit=limit, cursor=cursor)
        _log(operator, "list_tenants", status=status.value if status else None, count=len(page.items))
        return page

    def tenant(self, operator: Caller, tenant_id: str) -> TenantDetails:
        """One tenant's record, its seat ledger and its owners' emails (404 for an unknown id)."""
        _require_operator(operator)
        details = self._read(tenant_id)
        _log(operator, "view_tenant", tenant_id=tenant_id)
        return details

    def suspend(self, operator: Caller, tenant_id: str, reason: str) -> TenantDetails:
        """Suspend the tenant for ``reason`` (see the module docstring). Publishes
        ``identity.tenant.suspended.v1`` unless it was suspended already."""
        _require_operator(operator)
        return self._change(operator, tenant_id, to=TenantStatus.SUSPENDED, reason=reason)

    def reactivate(self, operator: Caller, tenant_id: str, reason: str) -> TenantDetails:
        """Lift the tenant's suspension. Publishes ``identity.tenant.reactivated.v1`` unless it was
        active already."""
        _require_operator(operator)
        return self._change(operator, tenant_id, to=TenantStatus.ACTIVE, reason=reason)

    def _read(self, tenant_id: str) -> TenantDetails:
        details = self._directory.details(tenant_id) if ids.is_id("ten", tenant_id) else None
        if details is None:
            raise TenantNotFound("no such tenant")
        return details

    def _change(self, operator: Caller, tenant_id: str, *, to: TenantStatus, reason: str) -> TenantDetails:
        for attempt in range(1, self._attempts + 1):
            read = self._read(tenant_id)
            if read.tenant.status is to:
                result, changed = read, False
                break
            tenant, event = self._changed(operator, read, to=to, reason=reason)
            try:
                self._directory.change_status(read, tenant, event)
            except TenantChangedMeanwhile:
                if attempt == self._attempts:
                    raise
                continue
            result, changed = replace(read, tenant=replace(tenant, version=read.tenant.version + 1)), True
            fact = "TenantSuspended" if to is TenantStatus.SUSPENDED else "TenantReactivated"
            metrics.business(fact, tenant_id=tenant_id, operator_id=operator.user_id)
            break
        # Also when nothing changed: a repeated call completes one whose flush failed.
        self._authorizer_cache.flush()
        action = "suspend_tenant" if to is TenantStatus.SUSPENDED else "reactivate_tenant"
        _log(operator, action, tenant_id=tenant_id, reason=reason, changed=changed)
        return result

    def _changed(
        self, operator: Caller, read: TenantDetails, *, to: TenantStatus, reason: str
    ) -> tuple[Tenant, Envelope]:
        """The tenant in status ``to``, and the event that says who did it and why."""
        tenant = read.tenant
        event: TenantSuspendedEvent | TenantReactivated
        if to is TenantStatus.SUSPENDED:
            changed = tenant.suspended(by=operator.user_id, reason=reason, at=instants.now(self._clock))
            event = TenantSuspendedEvent(tenant_id=tenant.id, operator_id=operator.user_id, reason=reason)
        else:
            changed = tenant.reactivated()
            was = tenant.suspension.reason if tenant.suspension else ""
            event = TenantReactivated(
                tenant_id=tenant.id, operator_id=operator.user_id, reason=reason, suspension_reason=was
            )
        return changed, envelope(event, tenant_id=tenant.id, aggregate_id=tenant.id, clock=self._clock)


def _require_operator(caller: Caller) -> None:
    # The route already required it; a service that changes every tenant checks it once more.
    caller.require(Access.OPERATOR)


def _log(operator: Caller, action: str, **details: object) -> None:
    observability.for_service(SERVICE).logger.info(
        "operator action", extra={"action": action, "operator_id": operator.user_id, **details}
    )
