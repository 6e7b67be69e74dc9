"""Data migrations (``keel.migrations``) under moto: resumable, exactly once per item, idempotent, and
recorded in the context's own table."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from keel.migrations import (
    MIGRATION_PREFIX,
    MIGRATIONS_PK,
    PAGE_SIZE,
    Change,
    Migration,
    Query,
    Runner,
    Scan,
    _apply,
    discover,
)
from keel.store import Item, Transaction, TransactionFailed, get_item, to_attributes
from tests.support.moto import all_items, create_context_table
from tests.support.staged import THINGS

TABLE = THINGS.table_name
MIGRATION_ID = "0001_mark_things"
#: Enough items for two pages in each of two segments.
ITEMS = 2 * PAGE_SIZE + 17


def mark(item: Item) -> Change | None:
    """The migration under test: mark every thing that is not marked yet."""
    if not str(item["sk"]).startswith("THING#") or item.get("marked"):
        return None
    return Change(set={"marked": True})


class Writes:
    """Every item a migration's committed transactions updated, counted on the wire (``TransactWriteItems``)."""

    def __init__(self) -> None:
        self.updates: Counter[tuple[str, str]] = Counter()
        self.transactions = 0
        self._sent: dict[str, Any] = {}

    def sending(self, params: dict[str, Any], **_: Any) -> None:
        self._sent = params

    def answered(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code != 200:
            return  # cancelled: nothing of it was applied
        self.transactions += 1
        for operation in self._sent["TransactItems"]:
            update = operation.get("Update")
            if update and update["Key"]["pk"]["S"] != MIGRATIONS_PK:
                self.updates[(update["Key"]["pk"]["S"], update["Key"]["sk"]["S"])] += 1


@pytest.fixture
def things(aws: None) -> list[tuple[str, str]]:
    """A context table of ITEMS things across many tenants, some of them versioned."""
    create_context_table(TABLE)
    keys = [(f"TENANT#ten_{n % 13}", f"THING#{n:05d}") for n in range(ITEMS)]
    with boto3.resource("dynamodb").Table(TABLE).batch_writer() as batch:
        for n, (pk, sk) in enumerate(keys):
            batch.put_item(Item={"pk": pk, "sk": sk, "name": f"thing {n}"} | ({"version": 3} if n % 2 else {}))
    return keys


@pytest.fixture
def writes() -> tuple[Writes, Any]:
    """A DynamoDB client whose transactions are counted."""
    counted = Writes()
    client = boto3.client("dynamodb")
    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", counted.sending)
    client.meta.events.register("after-call.dynamodb.TransactWriteItems", counted.answered)
    return counted, client


def runner_of(client: Any, migration: Migration) -> Runner:
    runner = Runner(TABLE, "tests.support.no_migrations_here", client=client)
    runner.migrations = {MIGRATION_ID: migration}
    return runner


def budget(pages: int) -> Callable[[], bool]:
    """A run allowed ``pages`` pages, as a Lambda with little time left would be."""
    left = [pages]

    def more() -> bool:
        left[0] -= 1
        return left[0] >= 0

    return more


def marked(keys: list[tuple[str, str]]) -> int:
    return sum(1 for item in all_items(TABLE) if item.get("marked") and (item["pk"], item["sk"]) in set(keys))


def test_a_migration_interrupted_half_way_resumes_and_touches_every_item_exactly_once(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    counted, client = writes
    migration = Migration("mark things", Scan(segments=2), mark)
    # Given a run that stops after two pages (a Lambda out of time) ...
    first = runner_of(client, migration).run(MIGRATION_ID, more=budget(2))
    assert not first.finished
    assert 0 < marked(things) < ITEMS
    # ... and one that crashes in the middle of a page (its transaction never sent)
    calls = [0]

    def crash_in_the_second_page(item: Item) -> Change | None:
        calls[0] += 1
        if calls[0] == 50:
            raise KeyboardInterrupt("the laptop lid closed")
        return mark(item)

    with pytest.raises(KeyboardInterrupt):
        runner_of(client, Migration("mark things", Scan(segments=2), crash_in_the_second_page)).run(MIGRATION_ID)
    # When it is run again to the end
    last = runner_of(client, migration).run(MIGRATION_ID)
    # Then every item was updated exactly once, across the three runs
    assert last.finished
    assert set(counted.updates) == set(things)
    assert set(counted.updates.values()) == {1}
    assert marked(things) == ITEMS
    # And the record in the context's table counts each item once
    record = get_item(TABLE, MIGRATIONS_PK, f"{MIGRATION_PREFIX}0001", consistent=True)
    assert record is not None
    assert record["touched"] == ITEMS
    assert record["started_at"] <= record["finished_at"]


def test_running_a_migration_twice_changes_nothing(things: list[tuple[str, str]], writes: tuple[Writes, Any]) -> None:
    counted, client = writes
    migration = Migration("mark things", Scan(), mark)
    runner_of(client, migration).run(MIGRATION_ID)
    before, sent = all_items(TABLE), counted.transactions
    # When the finished migration is run again, then it sends nothing and nothing changes
    again = runner_of(client, migration).run(MIGRATION_ID)
    assert (again.pages, again.touched, counted.transactions) == (0, 0, sent)
    assert all_items(TABLE) == before
    # And even with its record gone (a fresh start), it finds nothing left to change
    boto3.client("dynamodb").delete_item(
        TableName=TABLE, Key=to_attributes({"pk": MIGRATIONS_PK, "sk": f"{MIGRATION_PREFIX}0001"})
    )
    fresh = runner_of(client, migration).run(MIGRATION_ID)
    assert (fresh.finished, fresh.touched, fresh.scanned) == (True, 0, ITEMS)


def test_a_dry_run_counts_what_a_run_would_touch_and_writes_nothing(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    counted, client = writes
    before = all_items(TABLE)
    progress = runner_of(client, Migration("mark things", Scan(segments=2), mark)).run(MIGRATION_ID, dry_run=True)
    assert (progress.finished, progress.touched, progress.scanned) == (True, ITEMS, ITEMS)
    assert counted.transactions == 0
    assert all_items(TABLE) == before


def test_two_runners_never_apply_the_same_page_twice(things: list[tuple[str, str]], writes: tuple[Writes, Any]) -> None:
    counted, client = writes
    migration = Migration("mark things", Scan(), mark)
    other = runner_of(client, migration)
    raced = [False]

    def mark_after_the_other_runner_took_this_page(item: Item) -> Change | None:
        # Given a runner that has read its first page, when another commits that very page first ...
        if not raced[0]:
            raced[0] = True
            other.run(MIGRATION_ID, more=budget(1))
        return mark(item)

    runner_of(client, Migration("mark things", Scan(), mark_after_the_other_runner_took_this_page)).run(MIGRATION_ID)
    # Then the first runner's commit of that page is refused and it goes on from the other's cursor
    assert raced[0]
    assert set(counted.updates.values()) == {1}
    assert marked(things) == ITEMS


def test_an_item_written_while_its_page_was_read_is_read_again(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    counted, client = writes
    versioned = next(key for n, key in enumerate(things) if n % 2)
    bumped = [False]

    def mark_while_a_request_bumps_a_version(item: Item) -> Change | None:
        # Given a request that writes a versioned item after the migration read it
        if not bumped[0] and (item["pk"], item["sk"]) == versioned:
            bumped[0] = True
            boto3.client("dynamodb").update_item(
                TableName=TABLE,
                Key=to_attributes({"pk": versioned[0], "sk": versioned[1]}),
                UpdateExpression="SET version = :v, #n = :name",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues=to_attributes({":v": 4, ":name": "renamed"}),
            )
        return mark(item)

    runner_of(client, Migration("mark things", Scan(), mark_while_a_request_bumps_a_version)).run(MIGRATION_ID)
    # Then the migration did not overwrite the request's write, and still marked the item once
    item = get_item(TABLE, *versioned, consistent=True)
    assert item is not None
    assert (item["version"], item["name"], item["marked"]) == (4, "renamed", True)
    assert set(counted.updates.values()) == {1}


def test_a_migration_over_one_partition_queries_it_alone(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    counted, client = writes
    progress = runner_of(client, Migration("mark ten_3", Query("TENANT#ten_3", "THING#"), mark)).run(MIGRATION_ID)
    in_partition = {key for key in things if key[0] == "TENANT#ten_3"}
    assert progress.finished
    assert set(counted.updates) == in_partition


def test_status_lists_every_migration_and_where_it_stands(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    _, client = writes
    runner = runner_of(client, Migration("mark things", Scan(), mark))
    assert [(s.id, s.state) for s in runner.status()] == [(MIGRATION_ID, "pending")]
    runner.run(MIGRATION_ID, more=budget(1))
    ((state, touched),) = [(s.state, s.touched) for s in runner.status()]
    assert state == "running"
    assert 0 < touched <= PAGE_SIZE
    runner.run(MIGRATION_ID)
    assert [(s.state, s.touched) for s in runner.status()] == [("finished", ITEMS)]
    assert runner.pending() == []


# -- finding the migrations of a context -------------------------------------------------------------


def _package(tmp_path: Path, name: str, modules: dict[str, str]) -> Iterator[str]:
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").touch()
    for module, text in modules.items():
        (root / f"{module}.py").write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[loaded]


DEFINES = "from keel.migrations import Migration, Scan\nMIGRATION = Migration('x', Scan(), lambda item: None)\n"


def test_migrations_run_in_the_order_of_their_number(tmp_path: Path) -> None:
    for package in _package(tmp_path, "ordered", {"0002_second": DEFINES, "0001_first": DEFINES, "_helpers": ""}):
        assert [name for name, _ in discover(package)] == ["0001_first", "0002_second"]


@pytest.mark.parametrize(
    ("modules", "problem"),
    [
        ({"1_too_short": DEFINES}, "NNNN_name"),
        ({"0001_one": DEFINES, "0001_other": DEFINES}, "share the number"),
        ({"0001_nothing": "X = 1\n"}, "must define MIGRATION"),
    ],
)
def test_a_misnamed_or_empty_migration_module_is_refused(tmp_path: Path, modules: dict[str, str], problem: str) -> None:
    for package in _package(tmp_path, "broken", modules):
        with pytest.raises((ValueError, TypeError), match=problem):
            discover(package)


def test_a_context_without_migrations_has_none() -> None:
    assert discover("functions.platform.migrations") == []


@pytest.mark.parametrize("change", [{}, {"pk": "x"}])
def test_a_change_sets_or_removes_something_and_never_the_key(change: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="change"):
        Change(set=change)


def test_a_change_deletes_the_item_or_changes_it_never_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        Change(set={"marked": True}, delete=True)
    assert Change(delete=True).delete


def test_a_deleting_change_deletes_only_items_still_as_read(aws: None) -> None:
    # Given a versioned item, read by a migration page and then changed by a write
    table = "deletions"
    create_context_table(table)
    client = boto3.client("dynamodb")
    read = {"pk": "P", "sk": "copy", "version": 1}
    client.put_item(TableName=table, Item=to_attributes(read | {"version": 2}))
    # When the migration deletes it as read
    stale = Transaction(table)
    _apply(stale, read, Change(delete=True))
    # Then the delete is refused, and the item is still there; as read again, it is deleted
    with pytest.raises(TransactionFailed):
        stale.execute(client)
    assert get_item(table, "P", "copy") is not None
    fresh = Transaction(table)
    _apply(fresh, read | {"version": 2}, Change(delete=True))
    fresh.execute(client)
    assert get_item(table, "P", "copy") is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"copies": ({"pk": "P", "sk": "copy"},)}, "mark"),
        ({"copies": ({"pk": "P", "sk": "copy"},), "delete": True}, "not both"),
        ({"set": {"marked": True}, "copies": ({"pk": "P"},)}, "pk and sk"),
    ],
)
def test_a_copying_change_marks_the_item_and_names_each_copy_by_its_key(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Change(**change)


def copy_things(item: Item) -> Change | None:
    """Mark every thing and copy it, as changed, under ``COPY#``."""
    change = mark(item)
    return None if change is None else Change(set=change.set, copies=({"pk": item["pk"], "sk": f"COPY#{item['sk']}"},))


def test_a_copying_migration_fits_each_page_and_its_copies_in_one_transaction(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    _, client = writes
    # When a migration copies every item it changes (a full page's 99 changes and their copies would not
    # fit one transaction of 100 items: the run would fail)
    done = runner_of(client, Migration("copy things", Scan(), copy_things, copies_per_change=1)).run(MIGRATION_ID)
    # Then it finishes, every thing is marked, and its copy is the thing as marked
    assert (done.finished, done.touched) == (True, ITEMS)
    items = {(i["pk"], i["sk"]): i for i in all_items(TABLE)}
    for pk, sk in things:
        assert items[(pk, f"COPY#{sk}")] == items[(pk, sk)] | {"sk": f"COPY#{sk}"}
        assert items[(pk, sk)]["marked"] is True


def test_a_change_writing_more_copies_than_its_migration_declares_is_refused(
    things: list[tuple[str, str]], writes: tuple[Writes, Any]
) -> None:
    _, client = writes
    with pytest.raises(ValueError, match="copies_per_change"):
        runner_of(client, Migration("copy things", Scan(), copy_things)).run(MIGRATION_ID)
    assert not any(str(i["sk"]).startswith("COPY#") for i in all_items(TABLE))
