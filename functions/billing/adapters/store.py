"""The billing context's DynamoDB table: the only place that knows its items.

Tenant partition ``pk = TENANT#<tenant id>``:

    BILLING_ITEM#<id>: a billing item (name, created_at, version)
    OUTBOX#<event id>: an event, written in the transaction of the change it records (the kernel's outbox)

No Scan: a read is one GetItem or one Query; a write is one TransactWriteItems with its outbox events.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from functions.billing.domain.billing_item import BillingItem
from functions.billing.domain.ports import BillingItemPage
from keel.events import envelope
from keel.store import Item, Transaction, entity_sk, get_item, query_page, tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENTITY = "BILLING_ITEM"


def billing_item_key(tenant_id: str, billing_item_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": entity_sk(ENTITY, billing_item_id)}


def to_item(billing_item: BillingItem) -> Item:
    """The item without its version: ``Transaction.put_versioned`` sets it."""
    return {
        **billing_item_key(billing_item.tenant_id, billing_item.id),
        "id": billing_item.id,
        "name": billing_item.name,
        "created_at": billing_item.created_at.isoformat(),
    }


def from_item(tenant_id: str, item: Item) -> BillingItem:
    return BillingItem(
        id=str(item["id"]),
        tenant_id=tenant_id,
        name=str(item["name"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        version=int(item["version"]),
    )


class BillingItemTable:
    """``BillingItemRepository`` on the context's table."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._client = client  # None: the container's own client (keel.aws), made on first use

    def add(self, billing_item: BillingItem) -> None:
        tx = Transaction(self._table)
        tx.put_versioned(to_item(billing_item), expected_version=None)
        for event in billing_item.events:
            tx.publish(envelope(event, tenant_id=billing_item.tenant_id, aggregate_id=billing_item.id))
        tx.execute(self._client)

    def get(self, tenant_id: str, billing_item_id: str) -> BillingItem | None:
        key = billing_item_key(tenant_id, billing_item_id)
        item = get_item(self._table, key["pk"], key["sk"], client=self._client)
        return from_item(tenant_id, item) if item else None

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> BillingItemPage:
        page = query_page(
            self._table,
            tenant_pk(tenant_id),
            sk_prefix=entity_sk(ENTITY),
            limit=limit,
            cursor=cursor,
            newest_first=True,
            client=self._client,
        )
        return BillingItemPage(items=[from_item(tenant_id, item) for item in page.items], cursor=page.cursor)
