"""What the billing API reads and answers. Bodies forbid unknown fields, so a tenant id or a role
slipped into one is a 422; names are ``HumanText`` (no control, line-separator or bidi characters)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from keel.text import HumanText

if TYPE_CHECKING:  # the domain loads on the first request (through wiring), not when the handler does
    from functions.billing.domain.billing_item import BillingItem
    from functions.billing.domain.ports import BillingItemPage


class _Body(BaseModel):
    # defer_build: a request builds only the models it uses, not all of them at import (cold start).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class _View(BaseModel):
    model_config = ConfigDict(defer_build=True)


class NewBillingItem(_Body):
    name: HumanText = Field(min_length=1, max_length=100, examples=["First billing item"])


class BillingItemView(_View):
    id: str
    name: str
    created_at: datetime
    version: int

    @classmethod
    def of(cls, billing_item: BillingItem) -> BillingItemView:
        return cls(
            id=billing_item.id, name=billing_item.name, created_at=billing_item.created_at, version=billing_item.version
        )


class BillingItemPageView(_View):
    items: list[BillingItemView]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None

    @classmethod
    def of(cls, page: BillingItemPage) -> BillingItemPageView:
        return cls(items=[BillingItemView.of(item) for item in page.items], cursor=page.cursor)
