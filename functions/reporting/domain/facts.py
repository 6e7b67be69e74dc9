"""An event as reporting reads it, and what each type of event says to reporting (a ``Reading``).

Reporting consumes every Keel event, whatever its producer, and reads each by its detail-type: the
readers below know identity's and billing's events (``projects_events`` knows the projects context's);
any other event still appears in the tenant's activity and counts towards the tenant's activity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.reporting.domain.revenue import CANCEL, CHANGE, PAID, PAYMENT_FAILED, RENEW, START, RevenueFact
from functions.reporting.domain.usage import CLOSE, OPEN, LifecycleFact


def utc(value: Any) -> str:
    """A time as reporting compares times: UTC, to the microsecond, ``Z`` (a naive time is UTC)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Fact:
    """One event: its id, type, tenant, when it happened, its correlation id and its payload."""

    event_id: str
    type: str
    tenant_id: str
    occurred_at: str
    correlation_id: str
    payload: Mapping[str, Any]

    def time(self, name: str) -> str:
        """The payload's time ``name`` (UTC), or when the event happened if it has none."""
        value = self.payload.get(name)
        return utc(value) if value else self.occurred_at


@dataclass(frozen=True)
class Limits:
    """The tenant's entitlements from ``effective_at`` on."""

    effective_at: str
    plan: str
    seat_limit: int | None
    project_limit: int | None
    #: The event that announced them (of two with the same ``effective_at``, the later id wins).
    event_id: str = ""


@dataclass(frozen=True)
class Reading:
    """What one event says to reporting."""

    summary: str
    actor: str | None = None
    #: Things that open or close: ``(kind, id, fact)`` (kinds: ``usage.LEVELS``).
    lifecycles: tuple[tuple[str, str, LifecycleFact], ...] = ()
    revenue: RevenueFact | None = None
    #: Figures counted on a day: ``(day, figure)``.
    counts: tuple[tuple[str, str], ...] = ()
    #: Money that is not recurring: ``(month, currency, figure, amount)`` (refunds, credit notes).
    money: tuple[tuple[str, str, str, int], ...] = ()
    limits: Limits | None = None
    tenant_name: str | None = None
    #: The tenant's status (``active``/``suspended``) from this event's time on.
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


Reader = Callable[[Fact], Reading]
#: How reporting reads each event type it understands, by detail-type.
READERS: dict[str, Reader] = {}


def reads(*types: str) -> Callable[[Reader], Reader]:
    """Register a reader for ``types``."""

    def register(reader: Reader) -> Reader:
        for event_type in types:
            READERS[event_type] = reader
        return reader

    return register


def read(fact: Fact) -> Reading:
    """What ``fact`` says; an event type no reader knows is an activity entry and nothing more."""
    reader = READERS.get(fact.type)
    if reader is not None:
        return reader(fact)
    return Reading(summary=fact.type.rsplit(".", 1)[0].replace(".", " ").replace("_", " "))


def lifecycle(
    fact: Fact, kind: str, entity_id: str, op: str, at: str, *, until: str | None = None
) -> tuple[str, str, LifecycleFact]:
    """``(kind, id, fact)``: the thing ``kind``/``entity_id`` opened or closed at ``at`` by ``fact``."""
    return (kind, entity_id, LifecycleFact(at=at, event_id=fact.event_id, op=op, until=until))


# -- identity ---------------------------------------------------------------------------------------


@reads("identity.tenant.created.v1")
def _tenant_created(fact: Fact) -> Reading:
    p = fact.payload
    return Reading(
        summary=f"created the workspace {p['name']}",
        actor=p.get("owner_user_id"),
        tenant_name=p["name"],
        status="active",
    )


@reads("identity.tenant.suspended.v1")
def _tenant_suspended(fact: Fact) -> Reading:
    return Reading(summary="suspended the workspace", actor=fact.payload.get("operator_id"), status="suspended")


@reads("identity.tenant.reactivated.v1")
def _tenant_reactivated(fact: Fact) -> Reading:
    return Reading(summary="reactivated the workspace", actor=fact.payload.get("operator_id"), status="active")


@reads("identity.user.invited.v1", "identity.user.invited.v2")
def _invited(fact: Fact) -> Reading:
    p = fact.payload
    until = utc(p["expires_at"]) if p.get("expires_at") else None
    return Reading(
        summary=f"invited {p['email']} as {p['role']}",
        actor=p.get("invited_by"),
        lifecycles=(lifecycle(fact, "invitation", p["invitation_id"], OPEN, fact.occurred_at, until=until),),
    )


@reads("identity.invitation.revoked.v1")
def _invitation_revoked(fact: Fact) -> Reading:
    p = fact.payload
    return Reading(
        summary=f"revoked the invitation of {p['email']}",
        actor=p.get("revoked_by"),
        lifecycles=(lifecycle(fact, "invitation", p["invitation_id"], CLOSE, fact.occurred_at),),
    )


@reads("identity.member.joined.v1")
def _member_joined(fact: Fact) -> Reading:
    p = fact.payload
    things = [lifecycle(fact, "member", p["user_id"], OPEN, fact.occurred_at)]
    if p.get("invitation_id"):
        things.append(lifecycle(fact, "invitation", p["invitation_id"], CLOSE, fact.occurred_at))
    return Reading(summary=f"{p['email']} joined as {p['role']}", actor=p["user_id"], lifecycles=tuple(things))


@reads("identity.member.role_changed.v1")
def _role_changed(fact: Fact) -> Reading:
    p = fact.payload
    return Reading(
        summary=f"changed {p['user_id']}'s role from {p['previous_role']} to {p['role']}", actor=p.get("changed_by")
    )


@reads("identity.member.removed.v1")
def _member_removed(fact: Fact) -> Reading:
    p = fact.payload
    verb = "left" if p.get("reason") == "left" else "was removed"
    return Reading(
        summary=f"{p['email']} {verb}",
        actor=p.get("removed_by"),
        lifecycles=(lifecycle(fact, "member", p["user_id"], CLOSE, fact.occurred_at),),
    )


@reads("identity.api_key.created.v1")
def _key_created(fact: Fact) -> Reading:
    p = fact.payload
    return Reading(
        summary=f"created the API key {p['name']} ({p['prefix']}…, {p['role']})",
        actor=p.get("created_by"),
        lifecycles=(lifecycle(fact, "api_key", p["api_key_id"], OPEN, fact.occurred_at),),
    )


@reads("identity.api_key.revoked.v1")
def _key_revoked(fact: Fact) -> Reading:
    p = fact.payload
    return Reading(
        summary=f"revoked the API key {p['prefix']}…",
        actor=p.get("revoked_by"),
        lifecycles=(lifecycle(fact, "api_key", p["api_key_id"], CLOSE, fact.occurred_at),),
    )


# -- billing ----------------------------------------------------------------------------------------


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


@reads("billing.subscription.started.v1")
def _started(fact: Fact) -> Reading:
    p = fact.payload
    at = fact.time("started_at")
    trial_end = utc(p["trial_end"]) if p.get("trial_end") else None
    revenue = RevenueFact(at, fact.event_id, START, p["plan"], p.get("interval"), p["amount"], p["currency"], trial_end)
    return Reading(summary=f"started the {p['plan']} plan", revenue=revenue)


@reads("billing.subscription.renewed.v1")
def _renewed(fact: Fact) -> Reading:
    p = fact.payload
    at = fact.time("current_period_start")
    revenue = RevenueFact(at, fact.event_id, RENEW, p["plan"], p["interval"], p["amount"], p["currency"])
    return Reading(summary=f"renewed the {p['plan']} plan", revenue=revenue)


@reads("billing.subscription.plan_changed.v1")
def _changed(fact: Fact) -> Reading:
    p = fact.payload
    at = fact.time("changed_at")
    revenue = RevenueFact(at, fact.event_id, CHANGE, p["plan"], p["interval"], p["amount"], p["currency"])
    return Reading(
        summary=f"changed the plan from {p['previous_plan']} to {p['plan']}", actor=p.get("changed_by"), revenue=revenue
    )


@reads("billing.subscription.canceled.v1")
def _canceled(fact: Fact) -> Reading:
    p = fact.payload
    revenue = RevenueFact(fact.time("canceled_at"), fact.event_id, CANCEL, p["plan"], p.get("interval"))
    return Reading(
        summary=f"canceled the {p['plan']} plan ({p['reason']})", actor=p.get("requested_by"), revenue=revenue
    )


@reads("billing.payment.succeeded.v1")
def _paid(fact: Fact) -> Reading:
    p = fact.payload
    revenue = RevenueFact(fact.time("paid_at"), fact.event_id, PAID, amount=p["amount_paid"], currency=p["currency"])
    return Reading(summary=f"paid {_money(p['amount_paid'], p['currency'])}", revenue=revenue)


@reads("billing.payment.failed.v1")
def _payment_failed(fact: Fact) -> Reading:
    p = fact.payload
    revenue = RevenueFact(
        fact.time("failed_at"), fact.event_id, PAYMENT_FAILED, amount=p["amount_due"], currency=p["currency"]
    )
    return Reading(
        summary=f"a payment of {_money(p['amount_due'], p['currency'])} failed ({p['reason']})", revenue=revenue
    )


@reads("billing.invoice.issued.v1")
def _invoice_issued(fact: Fact) -> Reading:
    p = fact.payload
    at = fact.time("issued_at")
    # An invoice whose total is negative is a credit to the tenant's balance: a credit note, not revenue.
    money = ((at[:7], p["currency"], "credit_notes", -p["total"]),) if p["total"] < 0 else ()
    return Reading(summary=f"was invoiced {_money(p['total'], p['currency'])}", money=money)


@reads("billing.refund.issued.v1")
def _refund(fact: Fact) -> Reading:
    p = fact.payload
    at = fact.time("issued_at")
    return Reading(
        summary=f"was refunded {_money(p['amount'], p['currency'])}",
        actor=p.get("issued_by"),
        money=((at[:7], p["currency"], "refunds", p["amount"]),),
    )


@reads("billing.trial.ending.v1")
def _trial_ending(fact: Fact) -> Reading:
    return Reading(summary=f"the {fact.payload['plan']} trial ends soon")


@reads("billing.entitlements.changed.v1")
def _entitlements(fact: Fact) -> Reading:
    p = fact.payload
    limits = Limits(fact.time("effective_at"), p["plan"], p.get("seat_limit"), p.get("project_limit"))
    return Reading(summary=f"entitlements of the {p['plan']} plan apply", actor=p.get("operator_id"), limits=limits)
