"""Keeps the tenant's plan from billing's announcements: the newest ``effective_at`` wins, whatever
order they arrive in (an older one arriving late is ignored)."""

from __future__ import annotations

from typing import Protocol

from functions.projects.domain.plan import Plan


class PlanCopy(Protocol):
    def get(self, tenant_id: str) -> Plan | None: ...

    def replace(self, tenant_id: str, plan: Plan, *, held: Plan | None) -> None:
        """Store ``plan`` in place of ``held`` (still the stored one), keeping the tenant's counters."""
        ...


class EntitlementsCopy:
    def __init__(self, plans: PlanCopy) -> None:
        self._plans = plans

    def apply(self, tenant_id: str, plan: Plan) -> bool:
        """Hold ``plan`` if it is newer than the one held; whether it was."""
        held = self._plans.get(tenant_id)
        if not plan.is_newer_than(held):
            return False
        self._plans.replace(tenant_id, plan, held=held)
        return True
