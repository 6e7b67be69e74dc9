"""Invoices and refunds. A refund is a credit note on a paid invoice, its whole amount refunded to the card.

Exactly once, even when the local write fails after Stripe refunded: every refund request has an id
(``request``: derived from the caller's ``Idempotency-Key``, or from the operation, e.g. the
cancellation of one subscription). Stripe's credit note carries it in its metadata and its
idempotency key is derived from it; a retry finds the credit note already made and records that one
instead of making another. The credit note, the refund and ``billing.refund.issued.v1`` are one
write, and a Stripe refund is recorded once whoever records it first (this service, or the
processor on ``charge.refunded``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from functions.billing.domain.errors import (
    ConcurrentChange,
    IdempotencyKeyRequired,
    InvoiceNotFound,
    NotRefundable,
    RefundAlreadyRecorded,
    RefundTooLarge,
)
from functions.billing.domain.invoices import Invoice, Refund
from functions.billing.domain.money import format_amount
from functions.billing.domain.ports import Changes, Invoices, Ledger, Page, Refunds, Stripe
from functions.billing.domain.snapshots import CreditNoteSnapshot
from keel import ids
from keel.clock import Clock, SystemClock

REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
#: Writes lost to a concurrent change (a webhook processed at the same moment) are read and tried again.
ATTEMPTS = 3


def _looks_like_invoice(invoice_id: str) -> bool:
    return invoice_id.startswith("in_") and len(invoice_id) <= 255 and invoice_id.isascii() and "#" not in invoice_id


def request_from_key(tenant_id: str, idempotency_key: str) -> str:
    """A refund request's id from the caller's ``Idempotency-Key`` (the key itself never reaches Stripe)."""
    return hashlib.sha256(f"{tenant_id}\n{idempotency_key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RefundRequest:
    tenant_id: str
    invoice_id: str
    #: ``None``: all that is left to refund.
    amount: int | None
    reason: str
    by: str | None
    request: str


class InvoiceService:
    def __init__(
        self, invoices: Invoices, refunds: Refunds, ledger: Ledger, stripe: Stripe, *, clock: Clock | None = None
    ) -> None:
        self._invoices = invoices
        self._refunds = refunds
        self._ledger = ledger
        self._stripe = stripe
        self._clock = clock or SystemClock()

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invoice]:
        """One page of the tenant's invoices, newest first (without their lines)."""
        return self._invoices.list(tenant_id, limit=limit, cursor=cursor)

    def get(self, tenant_id: str, invoice_id: str) -> Invoice:
        """One invoice with its lines; another tenant's is not found, like an unknown one."""
        invoice = self._invoices.get(tenant_id, invoice_id) if _looks_like_invoice(invoice_id) else None
        if invoice is None:
            raise InvoiceNotFound("no such invoice")
        return invoice

    def refund(
        self,
        tenant_id: str,
        invoice_id: str,
        *,
        amount: int | None,
        reason: str,
        by: str,
        idempotency_key: str | None,
    ) -> Refund:
        """Refund ``amount`` (or all that is left) of one of the tenant's paid invoices."""
        if not idempotency_key:
            raise IdempotencyKeyRequired("refunds need an Idempotency-Key header: a retry must not be a second refund")
        request = RefundRequest(tenant_id, invoice_id, amount, reason, by, request_from_key(tenant_id, idempotency_key))
        for attempt in range(ATTEMPTS):
            refund, changes = self.prepare(request, self.get(tenant_id, invoice_id))
            try:
                return self.record(refund, changes)
            except ConcurrentChange:  # the processor touched the invoice meanwhile: read it again
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def prepare(self, request: RefundRequest, invoice: Invoice | None) -> tuple[Refund, Changes]:
        """The refund for ``request``, made at Stripe (or found there, on a retry), and what records it.
        ``invoice``: billing's copy to update with it (``None``: leave it to the processor)."""
        note = self._made_before(request) or self._make(request, invoice)
        refund = Refund(
            tenant_id=request.tenant_id,
            id=ids.new_id("ref", note.created),
            invoice_id=request.invoice_id,
            stripe_refund_id=note.refund_ids[0] if note.refund_ids else note.id,
            amount=note.amount,
            currency=note.currency,
            reason=request.reason,
            issued_at=note.created,
            issued_by=request.by,
            credit_note_id=note.id,
            credit_note_number=note.number,
        )
        refund.announce()
        changes = Changes(refunds=[refund])
        if invoice is not None:
            invoice.refunded = max(invoice.refunded, min(invoice.amount_paid, invoice.refunded + note.amount))
            changes.invoices.append(invoice)
        return refund, changes

    def record(self, refund: Refund, changes: Changes) -> Refund:
        """Write ``changes``; if the processor recorded this Stripe refund first, the recorded one (and
        the rest of ``changes`` without it)."""
        try:
            self._ledger.commit(changes)
        except RefundAlreadyRecorded:
            recorded = self._refunds.by_stripe_refund(refund.tenant_id, [refund.stripe_refund_id])
            if refund.stripe_refund_id not in recorded:
                raise
            if changes.account is not None:
                self._ledger.commit(Changes(account=changes.account))
            return recorded[refund.stripe_refund_id]
        return refund

    def _made_before(self, request: RefundRequest) -> CreditNoteSnapshot | None:
        return next((n for n in self._stripe.credit_notes(request.invoice_id) if n.request == request.request), None)

    def _make(self, request: RefundRequest, invoice: Invoice | None) -> CreditNoteSnapshot:
        # What is left is Stripe's word (our copy may not have heard of a refund made there yet).
        snapshot = self._stripe.invoice(request.invoice_id)
        judged = invoice or Invoice.first_seen(request.tenant_id, snapshot)
        judged.merge(snapshot, at=self._clock.now())
        left = judged.refundable
        if judged.status != "paid" or left == 0:
            raise NotRefundable(f"invoice {judged.id} has nothing left to refund", details={"refundable": left})
        value = left if request.amount is None else request.amount
        if value > left:
            raise RefundTooLarge(
                f"{format_amount(value, judged.currency)} is more than the {format_amount(left, judged.currency)} "
                "left to refund",
                details={"refundable": left, "currency": judged.currency},
            )
        return self._stripe.refund(
            invoice_id=judged.id,
            amount=value,
            reason=request.reason,
            metadata={"tenant_id": request.tenant_id, "keel_request": request.request},
            idempotency_key=f"{request.tenant_id}:refund:{request.request}",
        )
