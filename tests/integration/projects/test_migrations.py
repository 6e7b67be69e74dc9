"""Projects' data migrations: 0001 gives the projects written before ``name_key`` existed theirs and
deletes the ``STATUS_NAME#`` copies the old ``q`` read; after it, ``q`` finds the old projects, the
lists answer as before, and no other item has changed. 0002 gives the projects written before heads
existed theirs: their export is then one read, as it answered before, and a second run changes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from functions.projects.adapters.items import NAME_KEY, SCHEMA_VERSION
from functions.projects.adapters.keys import project_head, project_index_pk
from keel.migrations import MIGRATIONS_PK, Runner
from keel.store import to_attributes
from tests.integration.projects.support import CONTEXT, TENANT, add_task, apply_plan, call, create
from tests.support.moto import all_items, dynamodb_requests

BACKFILL, HEADS = "0001_name_key", "0002_project_heads"


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
    assert runner.pending() == [BACKFILL, HEADS]
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
    # And it is not pending any more
    assert runner.pending() == [HEADS]


def test_heads_make_old_projects_exports_one_read_and_change_nothing_else(table: str) -> None:
    apply_plan(TENANT, "pro")
    # Given a project written before heads (no head, no schema_version), with a task, and one written since
    old = create("Old")
    create("New")
    add_task(old["id"], "Copy")
    head = project_head(TENANT, old["id"])
    client = boto3.client("dynamodb")
    client.delete_item(TableName=table, Key=to_attributes(head))
    for item in all_items(table):
        if item.get("id") == old["id"]:
            key = to_attributes({"pk": item["pk"], "sk": item["sk"]})
            client.update_item(TableName=table, Key=key, UpdateExpression=f"REMOVE {SCHEMA_VERSION}")
    export = f"/v1/projects/{old['id']}/export"
    # Its export still answers, from its own item (a second read)
    with dynamodb_requests(TENANT) as count:
        exported = call("GET", export, features="project_export")
    assert exported.status == 200
    assert sum(count.values()) == 2
    runner = Runner(CONTEXT.table_name, CONTEXT.migrations_package)
    runner.run(BACKFILL)
    before = _data(table)
    # When the heads migration runs
    progress = runner.run(HEADS)
    # Then the old project has its head, and its export is the same in one read
    with dynamodb_requests(TENANT) as count:
        assert call("GET", export, features="project_export").body == exported.body
    assert count == Counter({"Query": 1})
    # And only the old project's items changed: marked, and its head added
    after = _data(table)
    added = [a for a in after if (a["pk"], a["sk"]) not in {(b["pk"], b["sk"]) for b in before}]
    assert [(a["pk"], a["sk"]) for a in added] == [(head["pk"], head["sk"])]
    changed = [a for a in after if a not in before and a not in added]
    assert changed
    assert all(a["id"] == old["id"] and a[SCHEMA_VERSION] == 2 for a in changed)
    assert (progress.finished, progress.touched) == (True, len(changed))
    # And a second run would find nothing to do
    assert runner.pending() == []
    assert runner.run(HEADS, dry_run=True).touched == 0
