"""A billing item: what the billing context is about. Replace it with your own aggregate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from keel import ids
from keel.contracts.billing import BillingItemCreated
from keel.events import Contract

ID_PREFIX = "bill"


@dataclass(frozen=True)
class BillingItem:
    """One billing item of one tenant. ``events`` are the facts this change records, for the outbox."""

    id: str
    tenant_id: str
    name: str
    created_at: datetime
    version: int = 1
    events: tuple[Contract, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def create(cls, *, tenant_id: str, name: str, at: datetime) -> BillingItem:
        """A new billing item, which records ``billing.billing_item.created.v1``."""
        billing_item_id = ids.new_id(ID_PREFIX, at)
        created = BillingItemCreated(billing_item_id=billing_item_id, name=name)
        return cls(id=billing_item_id, tenant_id=tenant_id, name=name, created_at=at, events=(created,))


def is_billing_item_id(value: str) -> bool:
    """Whether ``value`` could be a billing item's id (checked before any read)."""
    return ids.is_id(ID_PREFIX, value)
