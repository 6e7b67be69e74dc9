"""Billing's table, ``keel-billing``: its keys and how each domain object is written as an item.

Tenant partition ``pk = TENANT#<tenant id>``:

    ACCOUNT                          the billing account: plan, subscription, override, entitlements announced
    HISTORY#<effective from>#<id>    the effective-dated subscription history
    INVOICE#<invoice id>             an invoice with its lines (Stripe's id)
    INVOICES#<created>#<invoice id>  the same invoice without lines: the list, newest first
    PAYMENT#<payment intent id>      which invoice a payment paid (a refunded charge names its payment)
    REFUND#<Stripe refund id>        a refund, recorded once whoever hears of it first
    DISPUTE#<dispute id>             a disputed charge
    OUTBOX#... / INBOX#...           the kernel's outbox and inbox

Global items:

    STRIPE_CUSTOMER#<customer id> / STRIPE_CUSTOMER   -> the tenant (written with the account that links it)
    STRIPE_EVENT#<event id> / STRIPE_EVENT             the Stripe event inbox: what to fetch again, and when processed
    INDEX#STRIPE_EVENTS_UNPROCESSED / <received>#<id>  events not processed yet (reconciliation reads it)
    INDEX#STRIPE_LINKED / TENANT#<tenant id>           tenants with a Stripe customer (reconciliation walks it)
    INDEX#PAST_DUE / <since>#<tenant id>               tenants whose payment is late (dunning reads it)
    INDEX#OVERRIDE_UNTIL / <until>#<tenant id>         overrides that lapse (the lapse job reads it)
    JOB#reconcile / CURSOR                             how far the periodic sweep of linked tenants got

No Scan anywhere: an index partition is read with one Query per page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from functions.billing.domain.account import BillingAccount, HistoryEntry, Status
from functions.billing.domain.invoices import Dispute, Invoice, Refund
from functions.billing.domain.overrides import Override
from functions.billing.domain.plans import PLANS, Entitlements, Interval
from functions.billing.domain.ports import ReceivedEvent
from functions.billing.domain.snapshots import InvoiceLine
from keel.clock import iso
from keel.store import Item, tenant_partitions, tenant_pk

ACCOUNT = "ACCOUNT"
HISTORY = "HISTORY#"
INVOICE = "INVOICE#"
INVOICES = "INVOICES#"
LINKED = "INDEX#STRIPE_LINKED"
PAST_DUE = "INDEX#PAST_DUE"
OVERRIDE_UNTIL = "INDEX#OVERRIDE_UNTIL"
UNPROCESSED = "INDEX#STRIPE_EVENTS_UNPROCESSED"
SWEEP = {"pk": "JOB#reconcile", "sk": "CURSOR"}
#: The global partition prefix of the Stripe customer links.
STRIPE_CUSTOMER = "STRIPE_CUSTOMER#"
#: What a tenant's credentials may touch (``keel.isolation``): its own partitions, and what an account's
#: write moves in the same transaction: its Stripe customer's link (``STRIPE_CUSTOMER#``, and its row in
#: the linked tenants' index) and its entries in the past-due and lapsing-override indexes. Never the
#: Stripe event inbox nor the reconciliation's cursor: no tenant's request or event writes those.
LEADING_KEYS = (*tenant_partitions(), f"{STRIPE_CUSTOMER}*", LINKED, PAST_DUE, OVERRIDE_UNTIL)
#: How long a processed Stripe event is kept (Stripe retries a delivery for three days).
EVENT_TTL_SECONDS = 30 * 24 * 3600


def key(pk: str, sk: str) -> dict[str, str]:
    return {"pk": pk, "sk": sk}


def account_key(tenant_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), ACCOUNT)


def history_key(tenant_id: str, entry: HistoryEntry) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"{HISTORY}{iso(entry.effective_from)}#{entry.id}")


def invoice_key(tenant_id: str, invoice_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"{INVOICE}{invoice_id}")


def invoice_list_key(tenant_id: str, created: datetime, invoice_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"{INVOICES}{iso(created)}#{invoice_id}")


def payment_key(tenant_id: str, payment_intent_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"PAYMENT#{payment_intent_id}")


def refund_key(tenant_id: str, stripe_refund_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"REFUND#{stripe_refund_id}")


def dispute_key(tenant_id: str, dispute_id: str) -> dict[str, str]:
    return key(tenant_pk(tenant_id), f"DISPUTE#{dispute_id}")


def customer_key(customer_id: str) -> dict[str, str]:
    return key(f"{STRIPE_CUSTOMER}{customer_id}", "STRIPE_CUSTOMER")


def event_key(event_id: str) -> dict[str, str]:
    return key(f"STRIPE_EVENT#{event_id}", "STRIPE_EVENT")


def unprocessed_key(received_at: datetime, event_id: str) -> dict[str, str]:
    return key(UNPROCESSED, f"{iso(received_at)}#{event_id}")


def linked_key(tenant_id: str) -> dict[str, str]:
    return key(LINKED, f"TENANT#{tenant_id}")


def tenant_of_linked(sk: str) -> str:
    return sk.removeprefix("TENANT#")


def dated_index_key(index: str, at: datetime, tenant_id: str) -> dict[str, str]:
    return key(index, f"{iso(at)}#{tenant_id}")


def tenant_of_dated(sk: str) -> str:
    return sk.rsplit("#", 1)[1]


# -- values -----------------------------------------------------------------------------------


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _maybe_time(value: Any) -> datetime | None:
    return _time(value) if value else None


def _maybe_iso(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _maybe_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _entitlements_item(entitlements: Entitlements) -> Item:
    return {
        "plan": entitlements.plan,
        "seat_limit": entitlements.seat_limit,
        "project_limit": entitlements.project_limit,
        "task_limit": entitlements.task_limit,
        "features": dict(entitlements.features),
        "rate_tier": entitlements.rate_tier,
    }


def _entitlements(item: Mapping[str, Any]) -> Entitlements:
    return Entitlements(
        plan=str(item["plan"]),
        seat_limit=_maybe_int(item.get("seat_limit")),
        project_limit=_maybe_int(item.get("project_limit")),
        features={str(k): bool(v) for k, v in dict(item.get("features") or {}).items()},
        rate_tier=str(item["rate_tier"]),
        # Stored before plans limited tasks (or unlimited: None is not stored): the plan's own limit.
        task_limit=_maybe_int(item["task_limit"]) if "task_limit" in item else _plan_task_limit(str(item["plan"])),
    )


def _plan_task_limit(plan: str) -> int | None:
    return next((p.task_limit for p in PLANS if p.name == plan), None)


def _override_item(override: Override) -> Item:
    return {
        "seat_limit": override.seat_limit,
        "project_limit": override.project_limit,
        "features": dict(override.features),
        "until": _maybe_iso(override.until),
        "reason": override.reason,
        "set_by": override.set_by,
        "set_at": iso(override.set_at),
    }


def _override(item: Mapping[str, Any]) -> Override:
    return Override(
        seat_limit=_maybe_int(item.get("seat_limit")),
        project_limit=_maybe_int(item.get("project_limit")),
        features={str(k): bool(v) for k, v in dict(item.get("features") or {}).items()},
        until=_maybe_time(item.get("until")),
        reason=str(item["reason"]),
        set_by=str(item["set_by"]),
        set_at=_time(item["set_at"]),
    )


# -- the account --------------------------------------------------------------------------------


def index_entries(account: BillingAccount) -> dict[str, str]:
    """The index items the account belongs in now, by index (what ``stored_as`` remembers)."""
    entries: dict[str, str] = {}
    if account.customer_id:
        entries["customer"] = account.customer_id
    if account.past_due_since is not None:
        entries[PAST_DUE] = dated_index_key(PAST_DUE, account.past_due_since, account.tenant_id)["sk"]
    if account.override is not None and account.override.until is not None:
        entries[OVERRIDE_UNTIL] = dated_index_key(OVERRIDE_UNTIL, account.override.until, account.tenant_id)["sk"]
    return entries


def account_item(account: BillingAccount) -> Item:
    """The item without its version (``Transaction.put_versioned`` sets it)."""
    return {
        **account_key(account.tenant_id),
        "tenant_id": account.tenant_id,
        "plan": account.plan,
        "interval": account.interval.value if account.interval else None,
        "status": account.status.value,
        "entitlements": _entitlements_item(account.entitlements),
        "entitlements_at": iso(account.entitlements_at),
        "changed_at": iso(account.changed_at),
        "customer_id": account.customer_id,
        "subscription_id": account.subscription_id,
        "subscription_item_id": account.subscription_item_id,
        "subscription_created": _maybe_iso(account.subscription_created),
        "current_period_start": _maybe_iso(account.current_period_start),
        "current_period_end": _maybe_iso(account.current_period_end),
        "trial_end": _maybe_iso(account.trial_end),
        "cancel_at_period_end": account.cancel_at_period_end,
        "latest_invoice_id": account.latest_invoice_id,
        "ended_subscription_id": account.ended_subscription_id,
        "past_due_since": _maybe_iso(account.past_due_since),
        "start_announced": account.start_announced,
        "trial_notice_for": _maybe_iso(account.trial_notice_for),
        "override": _override_item(account.override) if account.override else None,
    }


def account_of(item: Mapping[str, Any]) -> BillingAccount:
    account = BillingAccount(
        tenant_id=str(item["tenant_id"]),
        plan=str(item["plan"]),
        interval=Interval(item["interval"]) if item.get("interval") else None,
        status=Status(item["status"]),
        entitlements=_entitlements(item["entitlements"]),
        entitlements_at=_time(item["entitlements_at"]),
        changed_at=_time(item["changed_at"]),
        customer_id=item.get("customer_id"),
        subscription_id=item.get("subscription_id"),
        subscription_item_id=item.get("subscription_item_id"),
        subscription_created=_maybe_time(item.get("subscription_created")),
        current_period_start=_maybe_time(item.get("current_period_start")),
        current_period_end=_maybe_time(item.get("current_period_end")),
        trial_end=_maybe_time(item.get("trial_end")),
        cancel_at_period_end=bool(item.get("cancel_at_period_end")),
        latest_invoice_id=item.get("latest_invoice_id"),
        ended_subscription_id=item.get("ended_subscription_id"),
        past_due_since=_maybe_time(item.get("past_due_since")),
        start_announced=bool(item.get("start_announced")),
        trial_notice_for=_maybe_time(item.get("trial_notice_for")),
        override=_override(item["override"]) if item.get("override") else None,
        version=int(item["version"]),
    )
    account.stored_as = index_entries(account)
    return account


def history_item(tenant_id: str, entry: HistoryEntry) -> Item:
    return {
        **history_key(tenant_id, entry),
        "id": entry.id,
        "effective_from": iso(entry.effective_from),
        "plan": entry.plan,
        "interval": entry.interval.value if entry.interval else None,
        "status": entry.status.value,
        "entitled_plan": entry.entitled_plan,
    }


def history_of(item: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        id=str(item["id"]),
        effective_from=_time(item["effective_from"]),
        plan=str(item["plan"]),
        interval=Interval(item["interval"]) if item.get("interval") else None,
        status=Status(item["status"]),
        entitled_plan=str(item["entitled_plan"]),
    )


# -- invoices, refunds, disputes ------------------------------------------------------------------


def _line_item(line: InvoiceLine) -> Item:
    return {
        "id": line.id,
        "description": line.description,
        "amount": line.amount,
        "currency": line.currency,
        "period_start": iso(line.period_start),
        "period_end": iso(line.period_end),
        "proration": line.proration,
        "price_id": line.price_id,
        "quantity": line.quantity,
    }


def _line(item: Mapping[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        id=str(item["id"]),
        description=str(item["description"]),
        amount=int(item["amount"]),
        currency=str(item["currency"]),
        period_start=_time(item["period_start"]),
        period_end=_time(item["period_end"]),
        proration=bool(item["proration"]),
        price_id=item.get("price_id"),
        quantity=_maybe_int(item.get("quantity")),
    )


def invoice_item(invoice: Invoice, *, with_lines: bool = True) -> Item:
    """The invoice (its list entry: ``with_lines=False``) without its version."""
    item: Item = {
        "tenant_id": invoice.tenant_id,
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "billing_reason": invoice.billing_reason,
        "subscription_id": invoice.subscription_id,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "refunded": invoice.refunded,
        "attempt_count": invoice.attempt_count,
        "next_payment_attempt": _maybe_iso(invoice.next_payment_attempt),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
        "period_start": iso(invoice.period_start),
        "period_end": iso(invoice.period_end),
        "created": iso(invoice.created),
        "finalized_at": _maybe_iso(invoice.finalized_at),
        "paid_at": _maybe_iso(invoice.paid_at),
        "payment_intent_ids": list(invoice.payment_intent_ids),
        "failures_announced": invoice.failures_announced,
    }
    if with_lines:
        return {**invoice_key(invoice.tenant_id, invoice.id), **item, "lines": [_line_item(x) for x in invoice.lines]}
    return {**invoice_list_key(invoice.tenant_id, invoice.created, invoice.id), **item}


def invoice_of(item: Mapping[str, Any]) -> Invoice:
    return Invoice(
        tenant_id=str(item["tenant_id"]),
        id=str(item["id"]),
        number=item.get("number"),
        status=str(item["status"]),
        billing_reason=item.get("billing_reason"),
        subscription_id=item.get("subscription_id"),
        currency=str(item["currency"]),
        subtotal=int(item["subtotal"]),
        total=int(item["total"]),
        amount_due=int(item["amount_due"]),
        amount_paid=int(item["amount_paid"]),
        amount_remaining=int(item["amount_remaining"]),
        refunded=int(item["refunded"]),
        attempt_count=int(item["attempt_count"]),
        next_payment_attempt=_maybe_time(item.get("next_payment_attempt")),
        hosted_invoice_url=item.get("hosted_invoice_url"),
        invoice_pdf=item.get("invoice_pdf"),
        period_start=_time(item["period_start"]),
        period_end=_time(item["period_end"]),
        created=_time(item["created"]),
        finalized_at=_maybe_time(item.get("finalized_at")),
        paid_at=_maybe_time(item.get("paid_at")),
        payment_intent_ids=tuple(str(x) for x in item.get("payment_intent_ids") or ()),
        lines=tuple(_line(x) for x in item.get("lines") or ()),
        failures_announced=int(item.get("failures_announced", 0)),
        version=int(item.get("version", 0)),
    )


def refund_item(refund: Refund) -> Item:
    return {
        **refund_key(refund.tenant_id, refund.stripe_refund_id),
        "tenant_id": refund.tenant_id,
        "id": refund.id,
        "invoice_id": refund.invoice_id,
        "stripe_refund_id": refund.stripe_refund_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "reason": refund.reason,
        "issued_at": iso(refund.issued_at),
        "issued_by": refund.issued_by,
        "credit_note_id": refund.credit_note_id,
        "credit_note_number": refund.credit_note_number,
    }


def refund_of(item: Mapping[str, Any]) -> Refund:
    return Refund(
        tenant_id=str(item["tenant_id"]),
        id=str(item["id"]),
        invoice_id=str(item["invoice_id"]),
        stripe_refund_id=str(item["stripe_refund_id"]),
        amount=int(item["amount"]),
        currency=str(item["currency"]),
        reason=str(item["reason"]),
        issued_at=_time(item["issued_at"]),
        issued_by=item.get("issued_by"),
        credit_note_id=item.get("credit_note_id"),
        credit_note_number=item.get("credit_note_number"),
    )


def dispute_item(dispute: Dispute) -> Item:
    return {
        **dispute_key(dispute.tenant_id, dispute.id),
        "tenant_id": dispute.tenant_id,
        "id": dispute.id,
        "charge_id": dispute.charge_id,
        "invoice_id": dispute.invoice_id,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "status": dispute.status,
        "created": iso(dispute.created),
    }


# -- the Stripe event inbox ---------------------------------------------------------------------


def event_item(event: ReceivedEvent) -> Item:
    return {
        **event_key(event.id),
        "id": event.id,
        "type": event.type,
        "object_id": event.object_id,
        "api_version": event.api_version,
        "livemode": event.livemode,
        "created": iso(event.created),
        "received_at": iso(event.received_at),
        "expires_at": int(event.received_at.timestamp()) + EVENT_TTL_SECONDS,
    }


def event_of(item: Mapping[str, Any]) -> ReceivedEvent:
    return ReceivedEvent(
        id=str(item["id"]),
        type=str(item["type"]),
        object_id=str(item["object_id"]),
        api_version=item.get("api_version"),
        livemode=bool(item.get("livemode")),
        created=_time(item["created"]),
        received_at=_time(item["received_at"]),
        processed_at=_maybe_time(item.get("processed_at")),
    )
