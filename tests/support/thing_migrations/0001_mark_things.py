"""Marks every thing that is not marked yet (a backfill of a new attribute)."""

from __future__ import annotations

from keel.migrations import Change, Migration, Scan
from keel.store import Item


def change(item: Item) -> Change | None:
    if not str(item["sk"]).startswith("THING#") or item.get("marked"):
        return None
    return Change(set={"marked": True})


MIGRATION = Migration("mark every thing", Scan(segments=2), change)
