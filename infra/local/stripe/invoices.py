"""Invoices: pending items, drafts, finalization with the customer balance, payment and dunning.

Dunning (Stripe's custom retry schedule, ``settings.retry_schedule_days``, default 3, 5, 7): a
failed renewal or update invoice is retried that many days after the previous attempt; the
subscription goes ``past_due`` at the first failure and, when the last retry fails, ``canceled``
(``customer.subscription.deleted``), ``unpaid`` or stays ``past_due`` per
``settings.after_final_failure``. The first invoice of a subscription is never retried: its
subscription stays ``incomplete`` and expires after 23 hours.

Customer balance: at finalization ``due = total + balance``; a positive ``due`` is the amount due
and empties the balance, a negative one leaves ``amount_due`` 0 and becomes the new (credit)
balance, as Stripe applies credit from downgrades and prorated cancellations to the next invoice.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.local.stripe import lifecycle, objects, payments
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import invalid
from infra.local.stripe.periods import DAY
from infra.local.stripe.store import Obj, new_id


@dataclass(frozen=True)
class LineSpec:
    """A line an invoice will carry, before it has an id."""

    amount: int
    description: str
    period: tuple[int, int]
    price: Obj
    quantity: int
    subscription_item: str | None
    proration: bool


def pending_items(acct: Account, customer_id: str, subscription_id: str | None = None) -> list[Obj]:
    """The customer's invoice items not on an invoice yet (oldest first), of one subscription if given."""
    return [
        item
        for item in reversed(acct.store.all("invoiceitem"))
        if item["customer"] == customer_id
        and item["invoice"] is None
        and (subscription_id is None or item["parent"]["subscription_details"]["subscription"] == subscription_id)
    ]


def add_invoice_item(acct: Account, sub: Obj, spec: LineSpec) -> Obj:
    """A pending proration item for ``sub`` (``invoiceitem.created``)."""
    customer = acct.store.get(sub["customer"], "customer")
    item = acct.store.add(
        objects.invoice_item(
            item_id=new_id("ii"),
            customer_id=customer["id"],
            amount=spec.amount,
            currency=sub["currency"],
            description=spec.description,
            period=spec.period,
            price_obj=spec.price,
            quantity=spec.quantity,
            subscription_id=sub["id"],
            subscription_item_id=spec.subscription_item or "",
            date=acct.now(customer["id"]),
            test_clock=customer["test_clock"],
        )
    )
    acct.emit("invoiceitem.created", item)
    return item


def preview_lines(
    acct: Account, pending: list[Obj], specs: list[LineSpec], *, invoice_id: str | None, subscription_id: str
) -> list[Obj]:
    """Invoice lines for pending items then ``specs``, in that order."""
    lines: list[Obj] = []
    for item in pending:
        price = acct.store.get(item["pricing"]["price_details"]["price"], "price")
        lines.append(
            objects.line_item(
                line_id=new_id("il") if invoice_id else new_id("il_tmp"),
                invoice_id=invoice_id,
                amount=item["amount"],
                currency=item["currency"],
                description=item["description"],
                period=(item["period"]["start"], item["period"]["end"]),
                price_obj=price,
                quantity=item["quantity"],
                subscription_id=item["parent"]["subscription_details"]["subscription"],
                subscription_item_id=item["parent"]["subscription_details"]["subscription_item"],
                invoice_item_id=item["id"],
                proration=item["proration"],
            )
        )
    for spec in specs:
        lines.append(
            objects.line_item(
                line_id=new_id("il") if invoice_id else new_id("il_tmp"),
                invoice_id=invoice_id,
                amount=spec.amount,
                currency=spec.price["currency"],
                description=spec.description,
                period=spec.period,
                price_obj=spec.price,
                quantity=spec.quantity,
                subscription_id=subscription_id,
                subscription_item_id=spec.subscription_item,
                invoice_item_id=None,
                proration=spec.proration,
            )
        )
    return lines


def create(
    acct: Account,
    sub: Obj,
    specs: list[LineSpec],
    *,
    billing_reason: str,
    period: tuple[int, int],
    auto_advance: bool = True,
    finalize_delay: int | None = None,
) -> Obj:
    """A draft invoice for ``sub``: its pending items, then ``specs`` (``invoice.created``)."""
    customer = acct.store.get(sub["customer"], "customer")
    now = acct.now(customer["id"])
    invoice_id = new_id("in")
    pending = pending_items(acct, customer["id"], sub["id"])
    lines = preview_lines(acct, pending, specs, invoice_id=invoice_id, subscription_id=sub["id"])
    for item in pending:
        item["invoice"] = invoice_id
    invoice = acct.store.add(
        objects.invoice(
            invoice_id=invoice_id,
            customer=customer,
            subscription_id=sub["id"],
            subscription_metadata=dict(sub["metadata"]),
            currency=sub["currency"],
            lines=lines,
            billing_reason=billing_reason,
            created=now,
            period=period,
            auto_advance=auto_advance,
            finalizes_at=now + finalize_delay if finalize_delay is not None and auto_advance else None,
        )
    )
    if customer["currency"] is None:
        customer["currency"] = sub["currency"]
    sub["latest_invoice"] = invoice_id
    acct.emit("invoice.created", invoice)
    return invoice


def finalize(acct: Account, invoice: Obj) -> None:
    """Number it, apply the customer balance, open it (``invoice.finalized``); a $0 invoice is paid."""
    customer = acct.store.get(invoice["customer"], "customer")
    now = acct.now(customer["id"])
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    starting = customer["balance"]
    due = invoice["total"] + starting
    customer["balance"] = min(due, 0)
    invoice.update(
        number=number,
        status="open",
        starting_balance=starting,
        ending_balance=customer["balance"],
        amount_due=max(due, 0),
        amount_remaining=max(due, 0),
        effective_at=now,
        automatically_finalizes_at=None,
        hosted_invoice_url=f"{acct.base_url}/invoice/{invoice['id']}",
        invoice_pdf=f"{acct.base_url}/invoice/{invoice['id']}/pdf",
        webhooks_delivered_at=now,
    )
    invoice["status_transitions"]["finalized_at"] = now
    acct.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        mark_paid(acct, invoice, now)


def finalize_and_collect(acct: Account, invoice: Obj, *, on_session: bool = False) -> payments.Outcome:
    """Finalize, then make the first payment attempt if anything is due."""
    finalize(acct, invoice)
    if invoice["status"] == "paid":
        return "paid"
    return collect(acct, invoice, on_session=on_session)


def collect(
    acct: Account, invoice: Obj, *, pm_override: str | None = None, on_session: bool = False
) -> payments.Outcome:
    """One payment attempt; on failure schedule the next retry and move the subscription along."""
    now = acct.now(invoice["customer"])
    outcome, charge = payments.charge_invoice(acct, invoice, pm_override=pm_override, on_session=on_session)
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    if outcome == "paid":
        mark_paid(acct, invoice, now)
        if charge is not None:
            payments.dispute_if_card_says_so(acct, charge)
        return outcome
    invoice["next_payment_attempt"] = _next_attempt(acct, invoice, now)
    if outcome == "requires_action":
        acct.emit("invoice.payment_action_required", invoice)
    else:
        acct.emit("invoice.payment_failed", invoice)
    _after_failure(acct, invoice, now)
    return outcome


def _next_attempt(acct: Account, invoice: Obj, now: int) -> int | None:
    if invoice["billing_reason"] == "subscription_create":
        return None
    schedule = acct.settings.retry_schedule_days
    done = invoice["attempt_count"]
    return now + schedule[done - 1] * DAY if done <= len(schedule) else None


def mark_paid(acct: Account, invoice: Obj, now: int) -> None:
    """Paid in full (``invoice.paid``, ``invoice.payment_succeeded``); its subscription recovers."""
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
        attempted=True,
    )
    invoice["status_transitions"]["paid_at"] = now
    intent_id = acct.invoice_intents.get(invoice["id"])
    if intent_id:
        for payment in acct.store.all("invoice_payment"):
            if payment["invoice"] == invoice["id"]:
                intent = acct.store.get(intent_id, "payment_intent")
                payment.update(status="paid", amount_paid=invoice["amount_due"])
                payment["payment"]["charge"] = intent["latest_charge"]
                payment["status_transitions"]["paid_at"] = now
                acct.emit("invoice_payment.paid", payment)
    acct.emit("invoice.paid", invoice)
    acct.emit("invoice.payment_succeeded", invoice)
    sub = _subscription(acct, invoice)
    if (
        sub is not None
        and sub["latest_invoice"] == invoice["id"]
        and sub["status"] in ("incomplete", "past_due", "unpaid")
    ):
        lifecycle.set_status(acct, sub, "active")


def _after_failure(acct: Account, invoice: Obj, now: int) -> None:
    sub = _subscription(acct, invoice)
    if sub is None or sub["status"] not in lifecycle.LIVE:
        return
    if sub["status"] in ("active", "trialing"):
        lifecycle.set_status(acct, sub, "past_due")
    final = invoice["next_payment_attempt"] is None and invoice["billing_reason"] != "subscription_create"
    if not final:
        return
    policy = acct.settings.after_final_failure
    if policy == "cancel":
        lifecycle.mark_canceled(acct, sub, at=now, reason="payment_failed")
    elif policy == "unpaid":
        lifecycle.set_status(acct, sub, "unpaid")


def _subscription(acct: Account, invoice: Obj) -> Obj | None:
    sub_id = invoice.get("subscription")
    found = acct.store.find(sub_id) if sub_id else None
    return found if found is not None and found.get("object") == "subscription" else None


def void(acct: Account, invoice: Obj) -> None:
    """Void an open invoice (``invoice.voided``)."""
    invoice.update(status="void", amount_remaining=0, next_payment_attempt=None, auto_advance=False)
    invoice["status_transitions"]["voided_at"] = acct.now(invoice["customer"])
    acct.emit("invoice.voided", invoice)


def latest_charge(acct: Account, invoice: Obj) -> Obj | None:
    """The invoice's successful charge, if it was paid by card."""
    intent_id = acct.invoice_intents.get(invoice["id"])
    if not intent_id:
        return None
    charge_id = acct.store.get(intent_id, "payment_intent")["latest_charge"]
    charge = acct.store.find(charge_id) if charge_id else None
    return charge if charge is not None and charge["status"] == "succeeded" else None


def pay_now(
    acct: Account, invoice: Obj, payment_method: str | None, *, out_of_band: bool = False, on_session: bool = False
) -> Obj:
    """Pay an open invoice now (``/pay``, or the hosted invoice page); Stripe's 402 when declined."""
    if invoice["status"] == "draft":
        finalize(acct, invoice)
    if invoice["status"] != "open":
        code = "invoice_already_paid" if invoice["status"] == "paid" else "invoice_not_open"
        raise invalid(f"Invoice is already {invoice['status']}.", code=code)
    if out_of_band:
        mark_paid(acct, invoice, acct.now(invoice["customer"]))
        return invoice
    pm_id = None
    if payment_method:
        found = payments.resolve_payment_method(
            acct, payment_method, customer_id=invoice["customer"], param="payment_method"
        )
        pm_id = found["id"]
    if collect(acct, invoice, pm_override=pm_id, on_session=on_session) != "paid":
        intent = acct.store.get(acct.invoice_intents[invoice["id"]], "payment_intent")
        charge = acct.store.find(intent["latest_charge"]) if intent["latest_charge"] else None
        error = intent["last_payment_error"] or {}
        problem = (error.get("code") or "card_declined", error.get("decline_code") or "generic_decline")
        if intent["status"] == "requires_action":
            problem = ("authentication_required", "authentication_required")
        raise payments.raise_for(problem, charge, snapshot(intent))
    return invoice
