"""Credit notes against an invoice, and refunds of a charge.

A credit note on a paid invoice (``post_payment``) must be accounted for in full: ``refund_amount``
(a new refund of the invoice's charge), ``refunds[i][refund]`` (refunds made before), ``credit_amount``
(the customer's balance) and ``out_of_band_amount`` add up to its amount; when none is given the
whole amount goes to the customer's balance. A credit note on an open invoice (``pre_payment``)
lowers what is due. No credit note exceeds what is left to credit, and no refund exceeds what is
left to refund on its charge (Stripe's 400, ``amount_too_large``).
"""

from __future__ import annotations

from infra.local.stripe import invoices, objects, payments
from infra.local.stripe.account import Account
from infra.local.stripe.errors import invalid
from infra.local.stripe.params import Params
from infra.local.stripe.store import Obj, new_id

REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def create_refund(acct: Account, params: Params) -> Obj:
    """``POST /v1/refunds``: of a charge or a payment intent's charge."""
    params.allow(("charge", "payment_intent", "amount", "reason", "metadata", "instructions_email"))
    charge_id = params.text("charge")
    intent_id = params.text("payment_intent")
    if charge_id and intent_id:
        raise invalid("You may only specify one of these parameters: charge, payment_intent.")
    if intent_id:
        intent = acct.store.get(intent_id, "payment_intent", param="payment_intent")
        charge_id = intent["latest_charge"]
        if not charge_id:
            raise invalid(
                f"PaymentIntent {intent_id} does not have a successful charge to refund.", param="payment_intent"
            )
    if not charge_id:
        raise invalid("One of the following params should be provided for this request: payment_intent or charge.")
    charge = acct.store.get(charge_id, "charge", param="charge")
    return payments.refund(
        acct,
        charge,
        amount=params.integer("amount", minimum=1),
        reason=params.choice("reason", REFUND_REASONS),
        metadata=params.metadata() or {},
    )


def create(acct: Account, params: Params) -> Obj:
    """``POST /v1/credit_notes``."""
    params.allow(
        (
            "invoice",
            "amount",
            "lines",
            "refund_amount",
            "credit_amount",
            "out_of_band_amount",
            "refunds",
            "reason",
            "memo",
            "metadata",
            "email_type",
        )
    )
    invoice = acct.store.get(params.req("invoice"), "invoice", param="invoice")
    if invoice["status"] not in ("open", "paid"):
        raise invalid(
            f"Credit notes can only be created on open or paid invoices; {invoice['id']} is {invoice['status']}.",
            param="invoice",
            code="invoice_not_editable",
        )
    amount, lines = _amount_and_lines(invoice, params)
    post_payment = invoice["status"] == "paid"
    already = invoice["post_payment_credit_notes_amount"] + invoice["pre_payment_credit_notes_amount"]
    creditable = invoice["total"] - already if post_payment else invoice["amount_remaining"]
    if amount > creditable:
        raise invalid(
            f"The credit note amount ({_money(amount, invoice)}) exceeds the amount left to credit on invoice "
            f"{invoice['id']} ({_money(max(creditable, 0), invoice)}).",
            param="amount",
            code="amount_too_large",
        )
    refunds: list[tuple[str, int]] = []
    out_of_band = 0
    if post_payment:
        refunds, out_of_band = _settle(acct, invoice, params, amount)
    elif any(key in params for key in ("refund_amount", "refunds", "credit_amount", "out_of_band_amount")):
        raise invalid("An open invoice's credit note lowers its amount due; it cannot refund or credit.")
    customer = acct.store.get(invoice["customer"], "customer")
    now = acct.now(customer["id"])
    notes = [note for note in acct.store.all("credit_note") if note["invoice"] == invoice["id"]]
    note_id = new_id("cn")
    note = acct.store.add(
        objects.credit_note(
            note_id=note_id,
            invoice_obj=invoice,
            number=f"{invoice['number']}-CN-{len(notes) + 1:02d}",
            amount=amount,
            lines=lines,
            refunds=refunds,
            out_of_band_amount=out_of_band,
            post_payment=post_payment,
            reason=params.choice("reason", REASONS),
            memo=params.text("memo", max_length=5000),
            metadata=params.metadata() or {},
            created=now,
            pdf=f"{acct.base_url}/credit_note/{note_id}/pdf",
        )
    )
    if post_payment:
        invoice["post_payment_credit_notes_amount"] += amount
    else:
        invoice["pre_payment_credit_notes_amount"] += amount
        invoice["amount_remaining"] -= amount
        invoice["amount_due"] -= amount
    acct.emit("credit_note.created", note)
    if not post_payment and invoice["amount_remaining"] == 0:
        invoices.mark_paid(acct, invoice, now)
    return note


def _amount_and_lines(invoice: Obj, params: Params) -> tuple[int, list[Obj]]:
    amount = params.integer("amount", minimum=1)
    given = params.hashes("lines")
    if amount is None and not given:
        raise invalid("One of amount or lines must be provided.", param="amount", code="parameter_missing")
    invoice_lines = {line["id"]: line for line in invoice["lines"]["data"]}
    lines = []
    for line in given:
        line.allow(("type", "invoice_line_item", "amount", "quantity", "unit_amount", "description", "metadata"))
        kind = line.choice("type", ("invoice_line_item", "custom_line_item"), required=True)
        if kind == "invoice_line_item":
            target = line.req("invoice_line_item")
            if target not in invoice_lines:
                raise invalid(f"No such invoice line item: '{target}'", param=line.name("invoice_line_item"))
            value = line.integer("amount", minimum=1) or invoice_lines[target]["amount"]
            description = invoice_lines[target]["description"]
        else:
            value = line.integer("unit_amount", required=True, minimum=1) or 0
            value *= line.integer("quantity", minimum=1) or 1
            description = line.req("description")
            target = None
        lines.append(
            objects.credit_note_line(line_id=new_id("cnli"), amount=value, description=description, invoice_line=target)
        )
    total = sum(line["amount"] for line in lines)
    if amount is not None and lines and amount != total:
        raise invalid(f"The amount ({amount}) must equal the sum of the lines ({total}).", param="amount")
    if not lines:
        assert amount is not None
        lines = [
            objects.credit_note_line(line_id=new_id("cnli"), amount=amount, description="Credit", invoice_line=None)
        ]
    return amount or total, lines


def _settle(acct: Account, invoice: Obj, params: Params, amount: int) -> tuple[list[tuple[str, int]], int]:
    """Refund, credit and out-of-band parts of a post-payment note; the refunds it names or makes."""
    refund_amount = params.integer("refund_amount", minimum=0) or 0
    credit_amount = params.integer("credit_amount", minimum=0)
    out_of_band = params.integer("out_of_band_amount", minimum=0) or 0
    charge = invoices.latest_charge(acct, invoice)
    linked: list[tuple[Obj, int]] = []
    for entry in params.hashes("refunds"):
        entry.allow(("refund", "amount_refunded"))
        refund = acct.store.get(entry.req("refund"), "refund", param=entry.name("refund"))
        if charge is None or refund["charge"] != charge["id"]:
            raise invalid(
                f"Refund {refund['id']} is not a refund of this invoice's payment.", param=entry.name("refund")
            )
        left = refund["amount"] - acct.refund_linked.get(refund["id"], 0)
        value = entry.integer("amount_refunded", minimum=1) or left
        if not 0 < value <= left:
            raise invalid(
                f"Only {left} of refund {refund['id']} is left to credit.", param=entry.name("amount_refunded")
            )
        linked.append((refund, value))
    named = refund_amount + out_of_band + sum(value for _, value in linked)
    if credit_amount is None:
        credit_amount = amount if named == 0 else 0
    if named + credit_amount != amount:
        raise invalid(
            "The sum of credit amount, refund amount and out of band amount "
            f"({_money(named + credit_amount, invoice)}) "
            f"must equal the credit note amount ({_money(amount, invoice)}).",
            param="amount",
        )
    refunds = [(refund["id"], value) for refund, value in linked]
    if refund_amount:
        if charge is None:
            raise invalid("This invoice was not paid by card; nothing can be refunded.", param="refund_amount")
        made = payments.refund(acct, charge, amount=refund_amount, reason=None, metadata={})
        refunds.append((made["id"], refund_amount))
    for refund, value in linked:
        acct.refund_linked[refund["id"]] = acct.refund_linked.get(refund["id"], 0) + value
    if refund_amount:
        acct.refund_linked[refunds[-1][0]] = refund_amount
    if credit_amount:
        acct.store.get(invoice["customer"], "customer")["balance"] -= credit_amount
    return refunds, out_of_band


def _money(amount: int, invoice: Obj) -> str:
    return payments.money(amount, invoice["currency"])
