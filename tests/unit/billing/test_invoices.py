"""Invoices move forward only, and each fact about one is announced once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from functions.billing.domain.invoices import Invoice
from functions.billing.domain.snapshots import InvoiceSnapshot

T0 = datetime(2030, 1, 1, tzinfo=UTC)
OPEN = InvoiceSnapshot(
    id="in_1",
    customer_id="cus_1",
    subscription_id="sub_1",
    number="KEEL-0001",
    status="open",
    billing_reason="subscription_cycle",
    currency="usd",
    subtotal=2900,
    total=2900,
    amount_due=2900,
    amount_paid=0,
    amount_remaining=2900,
    post_payment_credit_notes_amount=0,
    attempt_count=1,
    next_payment_attempt=T0 + timedelta(days=3),
    hosted_invoice_url="https://pay.test/in_1",
    invoice_pdf=None,
    period_start=T0,
    period_end=T0 + timedelta(days=31),
    created=T0,
    finalized_at=T0,
    paid_at=None,
)
PAID = replace(
    OPEN, status="paid", amount_paid=2900, amount_remaining=0, attempt_count=2, paid_at=T0, next_payment_attempt=None
)


def types(invoice: Invoice) -> list[str]:
    return [type(e).TYPE for e in invoice.events]


def test_an_invoice_is_issued_once_and_paid_once() -> None:
    invoice = Invoice.first_seen("ten_1", OPEN)
    invoice.merge(OPEN, at=T0)
    invoice.merge(PAID, at=T0)
    invoice.merge(PAID, at=T0)
    assert types(invoice) == ["billing.invoice.issued.v1", "billing.payment.succeeded.v1"]


def test_an_older_snapshot_never_takes_an_invoice_back() -> None:
    invoice = Invoice.first_seen("ten_1", PAID)
    invoice.merge(PAID, at=T0)
    invoice.merge(OPEN, at=T0)
    assert (invoice.status, invoice.amount_paid) == ("paid", 2900)
    invoice.merge(replace(PAID, post_payment_credit_notes_amount=500), at=T0)
    invoice.merge(PAID, at=T0)
    assert invoice.refunded == 500
    assert invoice.refundable == 2400


def test_each_failed_attempt_is_announced_once_with_when_stripe_tries_again() -> None:
    invoice = Invoice.first_seen("ten_1", OPEN)
    invoice.merge(OPEN, failure="declined", at=T0)
    invoice.merge(OPEN, failure="declined", at=T0)
    invoice.merge(replace(OPEN, attempt_count=2), failure="authentication_required", at=T0)
    failures = [e for e in invoice.events if type(e).TYPE == "billing.payment.failed.v1"]
    assert [(f.attempt_count, f.reason) for f in failures] == [(1, "declined"), (2, "authentication_required")]  # type: ignore[attr-defined]
    assert failures[0].next_retry_at == T0 + timedelta(days=3)  # type: ignore[attr-defined]
    assert failures[0].hosted_invoice_url == "https://pay.test/in_1"  # type: ignore[attr-defined]
