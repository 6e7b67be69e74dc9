"""The export reads a project and its tasks in one Query, from a copy of the project kept where its
tasks are (its head, ``keys.project_head``), as every project written since has. This gives each project
written before it its head, and marks the project's items with the layout they are now in
(``schema_version`` 2), as those written since are.

Idempotent: an item at ``schema_version`` 2 is left as it is. Until it has run, exporting an older
project costs a second read (the export falls back to the project's own item), and nothing else differs.
"""

from __future__ import annotations

from functions.projects.adapters.items import PROJECT_SCHEMA_VERSION, SCHEMA_VERSION
from functions.projects.adapters.keys import NAME, PROJECT, PROJECT_INDEX, project_head
from keel.migrations import Change, Migration, Scan
from keel.store import TENANT_PREFIX, Item, entity_sk


def change(item: Item) -> Change | None:
    """Mark a project item or copy; give a project's own item its head."""
    pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
    if (
        not pk.startswith(TENANT_PREFIX)
        or "id" not in item
        or int(item.get(SCHEMA_VERSION, 0)) >= PROJECT_SCHEMA_VERSION
    ):
        return None
    mark = {SCHEMA_VERSION: PROJECT_SCHEMA_VERSION}
    tenant_id, _, collection = pk.removeprefix(TENANT_PREFIX).partition("#")
    if not collection and sk.startswith(entity_sk(PROJECT)):
        return Change(set=mark, copies=(project_head(tenant_id, str(item["id"])),))
    if collection == PROJECT_INDEX and sk.startswith(("STATUS#", NAME)):
        return Change(set=mark)
    return None


MIGRATION = Migration(
    description="a head copy of every project where its tasks are (one-read export); schema_version 2",
    source=Scan(segments=4),
    change=change,
    copies_per_change=1,
)
