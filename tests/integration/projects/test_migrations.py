"""Projects' data migrations: 0001 gives the projects written before ``name_key`` existed theirs and
deletes the ``STATUS_NAME#`` copies the old ``q`` read; after it, ``q`` finds the old projects, the
lists answer as before, and no other item has changed."""

from __future__ import annotations

from typing import Any

import boto3

from functions.projects.adapters.items import NAME_KEY
from functions.projects.adapters.keys import project_index_pk
from keel.migrations import MIGRATIONS_PK, Runner
from keel.store import to_attributes
from tests.integration.projects.support import CONTEXT, TENANT, apply_plan, call, create
from tests.support.moto import all_items

BACKFILL = "0001_name_key"


def _data(table: str) -> list[dict[str, Any]]:
    return sorted((i for i in all_items(table) if i["pk"] != MIGRATIONS_PK), key=lambda i: (i["pk"], i["sk"]))


def _as_written_before(table: str, project: dict[str, Any]) -> None:
    """The project's items without ``name_key``, and its by-status-and-name copy, as older code wrote them."""
    client = boto3.client("dynamodb")
    for item in all_items(table):
        if item.get("id") == project["id"] and NAME_KEY in item:
            key = to_attributes({"pk": item["pk"], "sk": item["sk"]})
            client.update_item(TableName=table, Key=key, UpdateExpression="REMOVE name_key")
    copy = {k: v for k, v in item.items() if k != NAME_KEY} | {
        "pk": project_index_pk(TENANT),
        "sk": f"STATUS_NAME#active#{project['name'].casefold()}",
    }
    client.put_item(TableName=table, Item=to_attributes(copy))


def test_the_backfill_lets_q_find_old_projects_and_drops_the_old_copies_only(table: str) -> None:
    apply_plan(TENANT, "pro")
    # Given two projects written before name_key (with their old copies by name), and one written since
    old = [create("Web one"), create("Website")]
    new = create("Web three")
    for project in old:
        _as_written_before(table, project)
    before = _data(table)
    listed = call("GET", "/v1/projects", role="member").body
    assert [p["id"] for p in call("GET", "/v1/projects", query={"q": "web"}).body["items"]] == [new["id"]]
    # When projects' migrations run
    runner = Runner(CONTEXT.table_name, CONTEXT.migrations_package)
    assert runner.pending() == [BACKFILL]
    progress = runner.run(BACKFILL)
    # Then q finds every web project, newest first, and the lists answer as before
    found = call("GET", "/v1/projects", query={"q": "web"}).body["items"]
    assert [p["id"] for p in found] == [new["id"], old[1]["id"], old[0]["id"]]
    assert call("GET", "/v1/projects", role="member").body == listed
    # And exactly the old items changed: their copies by name gone, the rest given their name_key
    after = _data(table)
    gone = [b for b in before if b not in after and (b["pk"], b["sk"]) not in {(a["pk"], a["sk"]) for a in after}]
    assert sorted(b["sk"] for b in gone) == sorted(f"STATUS_NAME#active#{p['name'].casefold()}" for p in old)
    changed = [a for a in after if a not in before]
    assert changed
    assert all(a.get("id") in {p["id"] for p in old} for a in changed)
    assert all(a[NAME_KEY] == a["name"].casefold() for a in changed)
    assert (progress.finished, progress.touched) == (True, len(changed) + len(gone))
    # And nothing is pending any more, nor changed by running it again
    assert runner.pending() == []
