"""Events as the producers publish them, for reporting's tests (payloads of their contracts' shape)."""

from __future__ import annotations

from typing import Any

import keel.contracts.projects  # noqa: F401 - registers the contracts built here
from functions.reporting.domain.facts import Fact
from keel.events import REGISTRY
from tests.unit.reporting.fakes import fact, when

__all__ = ["fact"]


def started(
    plan: str,
    amount: int,
    *,
    days: float,
    interval: str = "monthly",
    currency: str = "usd",
    tenant: str = "ten_a",
    trial_days: float | None = None,
) -> Fact:
    payload: dict[str, Any] = {
        "plan": plan,
        "interval": interval,
        "amount": amount,
        "currency": currency,
        "started_at": when(days),
        "current_period_end": None,
        "trial_end": when(days + trial_days) if trial_days else None,
    }
    return fact("billing.subscription.started.v1", payload, tenant=tenant, days=days)


def changed(
    plan: str,
    amount: int,
    *,
    days: float,
    previous: str = "pro",
    interval: str = "monthly",
    currency: str = "usd",
    tenant: str = "ten_a",
) -> Fact:
    payload = {
        "previous_plan": previous,
        "previous_interval": "monthly",
        "plan": plan,
        "interval": interval,
        "amount": amount,
        "currency": currency,
        "changed_at": when(days),
        "changed_by": "usr_1",
    }
    return fact("billing.subscription.plan_changed.v1", payload, tenant=tenant, days=days)


def renewed(
    plan: str, amount: int, *, days: float, interval: str = "monthly", currency: str = "usd", tenant: str = "ten_a"
) -> Fact:
    payload = {
        "plan": plan,
        "interval": interval,
        "amount": amount,
        "currency": currency,
        "current_period_start": when(days),
        "current_period_end": when(days + 30),
    }
    return fact("billing.subscription.renewed.v1", payload, tenant=tenant, days=days)


def canceled(plan: str, *, days: float, tenant: str = "ten_a", interval: str = "monthly") -> Fact:
    payload = {
        "plan": plan,
        "interval": interval,
        "canceled_at": when(days),
        "reason": "requested",
        "requested_by": "usr_1",
    }
    return fact("billing.subscription.canceled.v1", payload, tenant=tenant, days=days)


def refunded(amount: int, *, days: float, currency: str = "usd", tenant: str = "ten_a") -> Fact:
    payload = {
        "refund_id": "re_1",
        "invoice_id": "in_1",
        "amount": amount,
        "currency": currency,
        "reason": "requested_by_customer",
        "issued_at": when(days),
        "issued_by": "usr_1",
    }
    return fact("billing.refund.issued.v1", payload, tenant=tenant, days=days)


def paid(amount: int, *, days: float, currency: str = "usd", tenant: str = "ten_a") -> Fact:
    payload = {
        "invoice_id": "in_1",
        "number": "A-1",
        "amount_paid": amount,
        "currency": currency,
        "paid_at": when(days),
    }
    return fact("billing.payment.succeeded.v1", payload, tenant=tenant, days=days)


def invoiced(total: int, *, days: float, currency: str = "usd", tenant: str = "ten_a") -> Fact:
    payload = {
        "invoice_id": "in_2",
        "number": "A-2",
        "total": total,
        "amount_due": max(total, 0),
        "currency": currency,
        "period_start": when(days),
        "period_end": when(days + 30),
        "hosted_invoice_url": None,
        "issued_at": when(days),
    }
    return fact("billing.invoice.issued.v1", payload, tenant=tenant, days=days)


def joined(user: str, *, days: float, tenant: str = "ten_a", invitation: str | None = None) -> Fact:
    payload = {"user_id": user, "email": f"{user}@example.com", "role": "member", "invitation_id": invitation}
    return fact("identity.member.joined.v1", payload, tenant=tenant, days=days)


def removed(user: str, *, days: float, tenant: str = "ten_a") -> Fact:
    payload = {
        "user_id": user,
        "email": f"{user}@example.com",
        "role": "member",
        "removed_by": "usr_owner",
        "reason": "removed",
    }
    return fact("identity.member.removed.v1", payload, tenant=tenant, days=days)


def invited(invitation: str, *, days: float, tenant: str = "ten_a", expires_in: float = 7) -> Fact:
    payload = {
        "invitation_id": invitation,
        "email": f"{invitation}@example.com",
        "role": "member",
        "invited_by": "usr_owner",
        "tenant_name": "Acme",
        "expires_at": when(days + expires_in),
        "accept_url_template": "https://app/accept?token={token}",
    }
    return fact("identity.user.invited.v2", payload, tenant=tenant, days=days)


def revoked(invitation: str, *, days: float, tenant: str = "ten_a") -> Fact:
    payload = {
        "invitation_id": invitation,
        "email": f"{invitation}@example.com",
        "role": "member",
        "revoked_by": "usr_owner",
        "reason": "revoked",
    }
    return fact("identity.invitation.revoked.v1", payload, tenant=tenant, days=days)


def key_created(key: str, *, days: float, tenant: str = "ten_a") -> Fact:
    payload = {"api_key_id": key, "name": "ci", "prefix": "keel_ab", "role": "admin", "created_by": "usr_owner"}
    return fact("identity.api_key.created.v1", payload, tenant=tenant, days=days)


def key_revoked(key: str, *, days: float, tenant: str = "ten_a") -> Fact:
    return fact(
        "identity.api_key.revoked.v1",
        {"api_key_id": key, "prefix": "keel_ab", "revoked_by": "usr_owner"},
        tenant=tenant,
        days=days,
    )


def project(verb: str, project_id: str, *, days: float, tenant: str = "ten_a") -> Fact:
    """``projects.project.<verb>.v1`` exactly as projects publishes it (checked against its contract)."""
    payload = {
        "tenant_id": tenant,
        "project_id": project_id,
        "name": f"Project {project_id}",
        f"{verb}_by": "usr_owner",
        f"{verb}_at": when(days),
    }
    return _published(f"projects.project.{verb}.v1", payload, tenant=tenant, days=days)


def task(verb: str, task_id: str, *, days: float, project_id: str = "prj_1", tenant: str = "ten_a") -> Fact:
    """``projects.task.<verb>.v1`` exactly as projects publishes it (checked against its contract)."""
    payload: dict[str, Any] = {
        "tenant_id": tenant,
        "project_id": project_id,
        "task_id": task_id,
        "assignee": None,
        f"{verb}_by": "usr_owner",
        f"{verb}_at": when(days),
    }
    if verb == "created":
        payload |= {"title": f"Task {task_id}", "status": "todo", "due_date": None}
    return _published(f"projects.task.{verb}.v1", payload, tenant=tenant, days=days)


def _published(type_: str, payload: dict[str, Any], *, tenant: str, days: float) -> Fact:
    checked = REGISTRY.get(type_).model_validate(payload).model_dump(mode="json")
    return fact(type_, checked, tenant=tenant, days=days)


def entitlements(
    plan: str, *, days: float, seats: int | None = 3, projects: int | None = 3, tenant: str = "ten_a"
) -> Fact:
    payload = {
        "tenant_id": tenant,
        "plan": plan,
        "seat_limit": seats,
        "project_limit": projects,
        "features": {},
        "effective_at": when(days),
        "rate_tier": plan,
        "reason": "plan",
    }
    return fact("billing.entitlements.changed.v1", payload, tenant=tenant, days=days)


def tenant_created(name: str = "Acme", *, days: float = 0, tenant: str = "ten_a") -> Fact:
    payload = {
        "tenant_id": tenant,
        "name": name,
        "slug": name.lower(),
        "owner_user_id": "usr_owner",
        "owner_email": "owner@example.com",
    }
    return fact("identity.tenant.created.v1", payload, tenant=tenant, days=days)
