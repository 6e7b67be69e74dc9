"""Builds the billing context's services from settings, once per container (nothing at import).

Each builder imports what it builds, so a handler's cold start pays only for what its first request
uses; each is cached per settings object, so when the kernel forgets its settings
(``keel.reset_caches()``: tests, the local runtime) the services are rebuilt from the new ones.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.billing.domain.billing_items import BillingItemService
    from functions.billing.settings import BillingSettings

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> BillingSettings:
    from functions.billing.settings import BillingSettings

    return settings.load(BillingSettings)


def billing_items() -> BillingItemService:
    return _billing_items(config())


@cache
def _billing_items(cfg: BillingSettings) -> BillingItemService:
    from functions.billing.adapters.store import BillingItemTable
    from functions.billing.domain.billing_items import BillingItemService

    return BillingItemService(BillingItemTable(cfg.table))
