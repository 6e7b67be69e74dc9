"""What the billing context's services need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from functions.billing.domain.billing_item import BillingItem


@dataclass(frozen=True)
class BillingItemPage:
    items: list[BillingItem]
    #: Opaque; ``None`` on the last page.
    cursor: str | None


class BillingItemRepository(Protocol):
    """The billing items of every tenant. Each method takes the tenant first."""

    def add(self, billing_item: BillingItem) -> None:
        """Store a new billing item with the events it records, all or nothing."""
        ...

    def get(self, tenant_id: str, billing_item_id: str) -> BillingItem | None: ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> BillingItemPage:
        """One page, newest first."""
        ...
