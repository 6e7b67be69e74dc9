"""A migration that fails on the first thing it meets: what a broken migration does to a deploy."""

from __future__ import annotations

from keel.migrations import Change, Migration, Query
from keel.store import Item


def change(item: Item) -> Change | None:
    raise ValueError(f"cannot migrate {item['sk']}")


MIGRATION = Migration("fail on purpose", Query("TENANT#broken", "THING#"), change)
