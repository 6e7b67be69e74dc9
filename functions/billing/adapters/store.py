"""Billing's repositories on its table (the items are in ``items.py``) and the ``Ledger`` that writes
one business operation's changes as one ``TransactWriteItems`` with their outbox events.

Reads are one request each (GetItem, Query or BatchGetItem); every write is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from functions.billing.adapters import items
from functions.billing.domain import facts
from functions.billing.domain.account import BillingAccount, HistoryEntry
from functions.billing.domain.errors import ConcurrentChange, RefundAlreadyRecorded
from functions.billing.domain.invoices import Invoice, Refund
from functions.billing.domain.ports import Changes, Page
from keel import aws
from keel.clock import Clock, SystemClock, iso
from keel.events import Contract, envelope
from keel.store import (
    Transaction,
    TransactionFailed,
    from_attributes,
    get_item,
    query_page,
    tenant_pk,
    to_attributes,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class _Table:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._client = client  # None: the container's own client (keel.aws), made on first use

    @property
    def table(self) -> str:
        return self._table

    def _ddb(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def _get(self, item_key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        return get_item(self._table, item_key["pk"], item_key["sk"], client=self._client, consistent=consistent)

    def _before(self, pk: str, sk_below: str, *, limit: int) -> list[dict[str, Any]]:
        """Items of partition ``pk`` whose sort key is below ``sk_below``, oldest first (one Query)."""
        response = self._ddb().query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk < :below",
            ExpressionAttributeValues=to_attributes({":pk": pk, ":below": sk_below}),
            Limit=limit,
        )
        return [from_attributes(i) for i in response.get("Items", [])]


class AccountTable(_Table):
    """``Accounts``: the tenants' billing accounts and the indexes that find them."""

    def get(self, tenant_id: str) -> BillingAccount | None:
        found = self._get(items.account_key(tenant_id))
        return items.account_of(found) if found else None

    def tenant_of_customer(self, customer_id: str) -> str | None:
        found = self._get(items.customer_key(customer_id), consistent=False)
        return str(found["tenant_id"]) if found else None

    def linked(self, *, limit: int, cursor: str | None) -> Page[str]:
        page = query_page(
            self._table, items.LINKED, sk_prefix="TENANT#", limit=limit, cursor=cursor, client=self._client
        )
        return Page([items.tenant_of_linked(str(i["sk"])) for i in page.items], page.cursor)

    def past_due_since_before(self, before: datetime, *, limit: int) -> list[str]:
        return [items.tenant_of_dated(str(i["sk"])) for i in self._before(items.PAST_DUE, iso(before), limit=limit)]

    def overrides_lapsed_by(self, now: datetime, *, limit: int) -> list[str]:
        # "<until>#<tenant>" sorts below "<now>$" exactly when until <= now ("$" follows "#").
        lapsed = self._before(items.OVERRIDE_UNTIL, f"{iso(now)}$", limit=limit)
        return [items.tenant_of_dated(str(i["sk"])) for i in lapsed]

    def sweep_cursor(self) -> str | None:
        found = self._get(items.SWEEP)
        return str(found["cursor"]) if found and found.get("cursor") else None

    def save_sweep_cursor(self, cursor: str | None) -> None:
        tx = Transaction(self._table)
        tx.put({**items.SWEEP, "cursor": cursor})
        tx.execute(self._client)


class InvoiceTable(_Table):
    """``Invoices``."""

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        found = self._get(items.invoice_key(tenant_id, invoice_id))
        return items.invoice_of(found) if found else None

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invoice]:
        page = query_page(
            self._table,
            tenant_pk(tenant_id),
            sk_prefix=items.INVOICES,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            client=self._client,
        )
        return Page([items.invoice_of(i) for i in page.items], page.cursor)

    def paid_by(self, tenant_id: str, payment_intent_id: str) -> str | None:
        found = self._get(items.payment_key(tenant_id, payment_intent_id))
        return str(found["invoice_id"]) if found else None


class RefundTable(_Table):
    """``Refunds``."""

    def by_stripe_refund(self, tenant_id: str, stripe_refund_ids: Sequence[str]) -> Mapping[str, Refund]:
        wanted = list(dict.fromkeys(stripe_refund_ids))[:100]
        if not wanted:
            return {}
        response = self._ddb().batch_get_item(
            RequestItems={
                self._table: {
                    "Keys": [to_attributes(items.refund_key(tenant_id, r)) for r in wanted],
                    "ConsistentRead": True,
                }
            }
        )
        found = [items.refund_of(from_attributes(i)) for i in response.get("Responses", {}).get(self._table, [])]
        if response.get("UnprocessedKeys"):
            raise RuntimeError("DynamoDB left keys unprocessed; retry")  # rare: throttling; the caller retries
        return {refund.stripe_refund_id: refund for refund in found}


class HistoryTable(_Table):
    """``History``."""

    def on(self, tenant_id: str, day: date) -> list[HistoryEntry]:
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        response = self._ddb().query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :below",
            ExpressionAttributeValues=to_attributes(
                {":pk": tenant_pk(tenant_id), ":first": items.HISTORY, ":below": f"{items.HISTORY}{iso(end)}"}
            ),
            ScanIndexForward=False,
            Limit=100,
        )
        newest_first = [items.history_of(from_attributes(i)) for i in response.get("Items", [])]
        during: list[HistoryEntry] = []
        for entry in newest_first:
            if entry.effective_from >= end:
                continue
            during.append(entry)
            if entry.effective_from <= start:  # the entry in effect when the day began: older ones are not
                break
        return list(reversed(during))

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HistoryEntry]:
        page = query_page(
            self._table,
            tenant_pk(tenant_id),
            sk_prefix=items.HISTORY,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            client=self._client,
        )
        return Page([items.history_of(i) for i in page.items], page.cursor)


class BillingLedger(_Table):
    """``Ledger``: a business operation's changes, written all at once with their events."""

    def __init__(self, table: str, client: DynamoDBClient | None = None, *, clock: Clock | None = None) -> None:
        super().__init__(table, client)
        self._clock = clock or SystemClock()

    def commit(self, changes: Changes) -> None:
        tx = Transaction(self._table)
        self.write(changes, tx)
        try:
            tx.execute(self._client)
        except TransactionFailed as exc:
            raise ConcurrentChange(exc.message) from exc
        self.written(changes)

    def write(self, changes: Changes, tx: Transaction) -> None:
        """Add ``changes`` to ``tx`` (a consumer's transaction, which holds its inbox marker)."""
        if changes.account is not None:
            self._account(changes.account, tx)
        for invoice in changes.invoices:
            self._invoice(invoice, tx)
        for refund in changes.refunds:
            tx.put_new(items.refund_item(refund), on_condition_failed=RefundAlreadyRecorded(refund.stripe_refund_id))
            self._publish(tx, refund.tenant_id, refund.id, refund.events)
        for dispute in changes.disputes:
            tx.put(items.dispute_item(dispute))
        if changes.processed_event is not None:
            event = changes.processed_event
            tx.update(
                items.event_key(event.id),
                "SET processed_at = :now",
                condition="attribute_exists(pk)",
                values={":now": iso(self._clock.now())},
            )
            tx.delete(items.unprocessed_key(event.received_at, event.id))

    def written(self, changes: Changes) -> None:
        """After the write: its business facts are counted, versions moved on, recorded events and
        history are out."""
        for part in (changes.account, *changes.invoices, *changes.refunds):
            if part is not None:
                facts.count(part.tenant_id, part.events)
        if changes.account is not None:
            account = changes.account
            account.version += 1
            account.stored_as = items.index_entries(account)
            account.events.clear()
            account.new_history.clear()
        for invoice in changes.invoices:
            invoice.version += 1
            invoice.events.clear()
        for refund in changes.refunds:
            refund.events.clear()

    def _account(self, account: BillingAccount, tx: Transaction) -> None:
        expected = account.version or None
        tx.put_versioned(items.account_item(account), expected_version=expected)
        for entry in account.new_history:
            tx.put_new(items.history_item(account.tenant_id, entry))
        now, before = items.index_entries(account), account.stored_as
        customer = now.get("customer")
        if customer and before.get("customer") != customer:
            tx.put({**items.customer_key(customer), "tenant_id": account.tenant_id})
            tx.put({**items.linked_key(account.tenant_id), "tenant_id": account.tenant_id})
        for index in (items.PAST_DUE, items.OVERRIDE_UNTIL):
            if before.get(index) == now.get(index):
                continue
            if before.get(index):
                tx.delete(items.key(index, before[index]))
            if now.get(index):
                tx.put({**items.key(index, now[index]), "tenant_id": account.tenant_id})
        self._publish(tx, account.tenant_id, account.tenant_id, account.events)

    def _invoice(self, invoice: Invoice, tx: Transaction) -> None:
        tx.put_versioned(items.invoice_item(invoice), expected_version=invoice.version or None)
        tx.put(items.invoice_item(invoice, with_lines=False))
        for payment_intent in invoice.payment_intent_ids:
            tx.put({**items.payment_key(invoice.tenant_id, payment_intent), "invoice_id": invoice.id})
        self._publish(tx, invoice.tenant_id, invoice.id, invoice.events)

    def _publish(self, tx: Transaction, tenant_id: str, aggregate_id: str, events: Sequence[Contract]) -> None:
        for event in events:
            tx.publish(envelope(event, tenant_id=tenant_id, aggregate_id=aggregate_id, clock=self._clock))
