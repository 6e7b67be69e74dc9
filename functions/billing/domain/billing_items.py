"""What the billing context does with billing items. Each method takes the tenant first."""

from __future__ import annotations

from functions.billing.domain.billing_item import BillingItem, is_billing_item_id
from functions.billing.domain.errors import BillingItemNotFound
from functions.billing.domain.ports import BillingItemPage, BillingItemRepository
from keel.clock import Clock, SystemClock


class BillingItemService:
    def __init__(self, billing_items: BillingItemRepository, *, clock: Clock | None = None) -> None:
        self._billing_items = billing_items
        self._clock = clock or SystemClock()

    def create(self, tenant_id: str, *, name: str) -> BillingItem:
        """A new billing item in ``tenant_id``, stored with the event it records."""
        billing_item = BillingItem.create(tenant_id=tenant_id, name=name, at=self._clock.now())
        self._billing_items.add(billing_item)
        return billing_item

    def get(self, tenant_id: str, billing_item_id: str) -> BillingItem:
        """The billing item; another tenant's id is not found, like an unknown one."""
        found = self._billing_items.get(tenant_id, billing_item_id) if is_billing_item_id(billing_item_id) else None
        if found is None:
            raise BillingItemNotFound("no such billing item")
        return found

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> BillingItemPage:
        """One page of the tenant's billing items, newest first."""
        return self._billing_items.list(tenant_id, limit=limit, cursor=cursor)
