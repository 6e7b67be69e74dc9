"""Tenant items record the shape they were written in (``schema_version``), as those written since it was
added do (``items.tenant_item``), so that a later migration can pick the tenants of an older shape by it.

Nothing reads it yet and an item without one reads as version 1: the backfill changes no behaviour and
no request (a tenant is written in the same one transaction, one attribute longer). Idempotent: a tenant
that has a ``schema_version`` is left as it is.
"""

from __future__ import annotations

from functions.identity.adapters.items import SCHEMA_VERSION, TENANT_SCHEMA_VERSION
from functions.identity.adapters.keys import TENANT_SK
from keel.migrations import Change, Migration, Scan
from keel.store import Item


def change(item: Item) -> Change | None:
    """Version 1 on a tenant item that records no version; nothing for any other item."""
    if item.get("sk") != TENANT_SK or SCHEMA_VERSION in item:
        return None
    return Change(set={SCHEMA_VERSION: TENANT_SCHEMA_VERSION})


MIGRATION = Migration(
    description="record schema_version 1 on tenant items written before it existed",
    source=Scan(segments=4),
    change=change,
)
