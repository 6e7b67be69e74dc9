"""``q`` reads the newest-first lists and keeps the projects whose case-folded name starts with it, so
every project item and copy carries that name (``name_key``), as those written since do; and the
``STATUS_NAME#`` copies that listed projects by name for the old ``q`` are read by nothing: deleted.

Idempotent: an item that has its ``name_key`` is left as it is, and a deleted copy is not read again.
Until it has run, a project written before it is missing from ``q``'s answers (never from the lists).
"""

from __future__ import annotations

from functions.projects.adapters.items import NAME_KEY
from functions.projects.adapters.keys import NAME, PROJECT, PROJECT_INDEX
from functions.projects.domain.project import name_key
from keel.migrations import Change, Migration, Scan
from keel.store import Item, entity_sk

#: The copies by status and name the old ``q`` read (``STATUS_NAME#<status>#<folded name>``).
OBSOLETE_COPY = "STATUS_NAME#"
#: The sort keys of the items that carry a project: its own, and its copies by status and by name.
PROJECT_ITEMS = (entity_sk(PROJECT), "STATUS#", NAME)


def change(item: Item) -> Change | None:
    """Delete an obsolete copy; give a project item or copy without it its ``name_key``; nothing else."""
    sk, pk = str(item.get("sk", "")), str(item.get("pk", ""))
    in_index = pk.endswith(f"#{PROJECT_INDEX}")
    if in_index and sk.startswith(OBSOLETE_COPY):
        return Change(delete=True)
    is_project = sk.startswith(PROJECT_ITEMS[0]) if not in_index else sk.startswith(PROJECT_ITEMS[1:])
    if not is_project or "name" not in item or NAME_KEY in item:
        return None
    return Change(set={NAME_KEY: name_key(str(item["name"]))})


MIGRATION = Migration(
    description="name_key on every project item and copy; delete the STATUS_NAME# copies of the old q",
    source=Scan(segments=4),
    change=change,
)
