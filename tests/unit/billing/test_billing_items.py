"""BillingItemService on an in-memory fake of its repository: what the API relies on, without AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from functions.billing.domain.billing_item import BillingItem
from functions.billing.domain.billing_items import BillingItemService
from functions.billing.domain.errors import BillingItemNotFound
from functions.billing.domain.ports import BillingItemPage
from keel.clock import FixedClock
from keel.contracts.billing import BillingItemCreated

TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@dataclass
class FakeBillingItems:
    """The repository port in memory: what the service stores is what it reads back."""

    stored: dict[tuple[str, str], BillingItem] = field(default_factory=dict)

    def add(self, billing_item: BillingItem) -> None:
        self.stored[(billing_item.tenant_id, billing_item.id)] = billing_item

    def get(self, tenant_id: str, billing_item_id: str) -> BillingItem | None:
        return self.stored.get((tenant_id, billing_item_id))

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> BillingItemPage:
        own = sorted((x for (t, _), x in self.stored.items() if t == tenant_id), key=lambda x: x.id, reverse=True)
        return BillingItemPage(items=own[:limit], cursor=None)


@pytest.fixture
def billing_items() -> FakeBillingItems:
    return FakeBillingItems()


@pytest.fixture
def service(billing_items: FakeBillingItems) -> BillingItemService:
    return BillingItemService(billing_items, clock=FixedClock(NOW))


def test_a_new_billing_item_is_stored_in_its_tenant_with_the_event_it_records(
    service: BillingItemService, billing_items: FakeBillingItems
) -> None:
    # When one is created in TENANT
    created = service.create(TENANT, name="First")
    # Then it is stored there as version 1, created now
    assert billing_items.stored[(TENANT, created.id)] == created
    assert (created.name, created.version, created.created_at) == ("First", 1, NOW)
    # And it records the event other contexts will receive
    assert created.events == (BillingItemCreated(billing_item_id=created.id, name="First"),)


def test_another_tenants_billing_item_is_not_found_like_an_unknown_one(service: BillingItemService) -> None:
    # Given a billing item of another tenant
    theirs = service.create(OTHER, name="Theirs")
    # When TENANT asks for it, or for an id that was never issued, then neither exists for TENANT
    for billing_item_id in (theirs.id, theirs.id[:-1] + "0", "not-an-id"):
        with pytest.raises(BillingItemNotFound):
            service.get(TENANT, billing_item_id)
    # And its own tenant still finds it
    assert service.get(OTHER, theirs.id) == theirs


def test_a_list_holds_only_the_tenants_own_billing_items(service: BillingItemService) -> None:
    # Given billing items in two tenants
    mine = [service.create(TENANT, name=name) for name in ("One", "Two")]
    service.create(OTHER, name="Theirs")
    # When TENANT lists them, then it sees its own only
    page = service.list(TENANT, limit=10, cursor=None)
    assert {x.id for x in page.items} == {x.id for x in mine}
