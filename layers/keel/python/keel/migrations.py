"""Data migrations: idempotent, resumable transformations of one context's items.

A context's migrations are the modules ``functions/<context>/migrations/NNNN_name.py``, run in the order
of their number. Each defines ``MIGRATION = Migration(...)``: where its items are (``Scan`` of the whole
table in parallel segments, the one place Keel scans; or ``Query`` of one partition) and ``change``, which
says what to do to one item (``Change``), or ``None`` when the item is already as it should be. That is
what makes a migration idempotent: run twice, the second run finds nothing to change.

Progress is recorded in the context's own table (``pk = MIGRATIONS``, ``sk = MIGRATION#NNNN``): when it
started and finished, the items scanned and touched, and a cursor per segment. Every page is one
``TransactWriteItems``: the page's changes and the advance of its cursor, conditioned on the cursor the
page was read from. So a page is applied exactly once: a run that stops (a crash, a Lambda timeout, a
deploy) resumes after the last page it committed, and two runners never apply the same page twice.
A changed item is also conditioned on still existing and, when it has one, on its ``version`` being
the one read, so a write that raced the page sends the page back to be read again.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keel import aws
from keel.store import Item, Transaction, TransactionFailed, from_attributes, get_item, to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The partition every migration record of a table is in (one Query lists them all).
MIGRATIONS_PK = "MIGRATIONS"
#: The sort-key prefix of one migration's record: ``MIGRATION#0001``.
MIGRATION_PREFIX = "MIGRATION#"
#: Items read per page: a page's changes and its checkpoint are one transaction of at most 100 items.
PAGE_SIZE = 99
#: How often a page whose items changed under it is read again before the run gives up.
PAGE_ATTEMPTS = 5
#: A migration module's name: its number, then its name (``0001_schema_version``).
MODULE_NAME = re.compile(r"(?P<number>[0-9]{4})_[a-z0-9_]+")
_DONE = "#done"


@dataclass(frozen=True)
class Scan:
    """Every item of the table, read in ``segments`` parallel segments (a Scan: migrations only)."""

    segments: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.segments <= 64:
            raise ValueError("a migration scans in 1 to 64 segments")


@dataclass(frozen=True)
class Query:
    """The items of partition ``pk`` whose sort key starts with ``sk_prefix``."""

    pk: str
    sk_prefix: str = ""

    segments = 1


@dataclass(frozen=True)
class Change:
    """What a migration does to one item: attributes to set (to these values) and attributes to remove,
    or ``delete`` the item (one no version of the code reads any more, such as an obsolete copy).

    ``copies``: keys under which the item, as changed, is also written (a copy a new layout reads), in
    the same transaction, replacing whatever is there: the item's own condition (its version) keeps the
    copy in step with it. The change must also mark the item (``set``), so a second run skips it.
    """

    set: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    delete: bool = False
    copies: tuple[Mapping[str, str], ...] = ()

    def __post_init__(self) -> None:
        touched = {*self.set, *self.remove}
        if self.delete:
            if touched or self.copies:
                raise ValueError("a change deletes the item or changes its attributes, not both")
            return
        if self.copies and not self.set:
            raise ValueError("a change that copies an item must also mark it (set), or every run copies it again")
        if any(set(key) != {"pk", "sk"} for key in self.copies):
            raise ValueError("a copy is named by its key: pk and sk")
        if not touched:
            raise ValueError("a change sets, removes or deletes (return None for no change)")
        if touched & {"pk", "sk"}:
            raise ValueError("a migration cannot change an item's key: write a new item instead")


@dataclass(frozen=True)
class Migration:
    """One data migration: ``change`` maps an item to its ``Change``, or to ``None`` when it has nothing to do."""

    description: str
    source: Scan | Query
    change: Callable[[Item], Change | None]
    #: The most ``copies`` one change writes: a page then reads fewer items, so that its changes, their
    #: copies and its checkpoint still fit one transaction.
    copies_per_change: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.copies_per_change < PAGE_SIZE // 2:
            raise ValueError(f"a change writes at most {PAGE_SIZE // 2 - 1} copies")

    @property
    def page_size(self) -> int:
        """Items read per page."""
        return PAGE_SIZE // (1 + self.copies_per_change)


@dataclass(frozen=True)
class Status:
    """Where one migration stands in one table."""

    id: str
    description: str
    started_at: str | None = None
    finished_at: str | None = None
    scanned: int = 0
    touched: int = 0

    @property
    def state(self) -> str:
        if self.finished_at:
            return "finished"
        return "running" if self.started_at else "pending"

    @property
    def number(self) -> str:
        return self.id[:4]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "state": self.state,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "scanned": self.scanned,
            "touched": self.touched,
        }


def discover(package: str) -> list[tuple[str, Migration]]:
    """The migrations of ``package`` (``functions.<context>.migrations``), in the order of their number;
    none when the context has no such package."""
    try:
        found = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name is not None and package.startswith(exc.name):
            return []
        raise
    migrations: list[tuple[str, Migration]] = []
    numbers: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(found.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        named = MODULE_NAME.fullmatch(info.name)
        if named is None:
            raise ValueError(f"{package}.{info.name}: a migration module is named NNNN_name (e.g. 0001_backfill_x)")
        if named["number"] in numbers:
            raise ValueError(
                f"{package}: {info.name} and {numbers[named['number']]} share the number {named['number']}"
            )
        numbers[named["number"]] = info.name
        migration = getattr(importlib.import_module(f"{package}.{info.name}"), "MIGRATION", None)
        if not isinstance(migration, Migration):
            raise TypeError(f"{package}.{info.name} must define MIGRATION = Migration(...)")
        migrations.append((info.name, migration))
    return migrations


def record_key(migration_id: str) -> dict[str, str]:
    """The key of a migration's record in its context's table."""
    return {"pk": MIGRATIONS_PK, "sk": f"{MIGRATION_PREFIX}{migration_id[:4]}"}


@dataclass(frozen=True)
class Progress:
    """What one run (or dry run) of a migration did, and whether the migration is finished."""

    id: str
    scanned: int
    touched: int
    finished: bool
    pages: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scanned": self.scanned,
            "touched": self.touched,
            "finished": self.finished,
            "pages": self.pages,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Runner:
    """Runs the migrations of one context on its table: ``status``, ``pending``, ``run``.

    ``client`` is a DynamoDB client (the container's by default); ``clock`` gives the recorded times.
    """

    def __init__(
        self,
        table: str,
        package: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], str] = _now,
    ) -> None:
        self.table = table
        self.package = package
        self._client = client
        self.clock = clock
        self.migrations = dict(discover(package))

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    # -- where things stand -----------------------------------------------------------------------

    def _record(self, migration_id: str) -> Item | None:
        key = record_key(migration_id)
        return get_item(self.table, key["pk"], key["sk"], client=self.client, consistent=True)

    def status(self) -> list[Status]:
        """Every migration of the context, with its record in the table if it has one (one Query)."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_attributes({":pk": MIGRATIONS_PK, ":prefix": MIGRATION_PREFIX}),
            ConsistentRead=True,
        )
        records = {item["sk"]: item for item in (from_attributes(i) for i in response.get("Items", []))}
        statuses = []
        for migration_id, migration in self.migrations.items():
            record = records.get(record_key(migration_id)["sk"], {})
            statuses.append(
                Status(
                    id=migration_id,
                    description=migration.description,
                    started_at=record.get("started_at"),
                    finished_at=record.get("finished_at"),
                    scanned=int(record.get("scanned", 0)),
                    touched=int(record.get("touched", 0)),
                )
            )
        return statuses

    def pending(self, among: Iterator[str] | None = None) -> list[str]:
        """The migrations not finished yet, in order (only those of ``among`` when given)."""
        wanted = set(among) if among is not None else None
        return [s.id for s in self.status() if s.state != "finished" and (wanted is None or s.id in wanted)]

    def estimated_items(self) -> int:
        """DynamoDB's estimate of the table's item count (refreshed about every six hours)."""
        return int(self.client.describe_table(TableName=self.table)["Table"].get("ItemCount", 0))

    # -- running ----------------------------------------------------------------------------------

    def run(
        self,
        migration_id: str,
        *,
        dry_run: bool = False,
        more: Callable[[], bool] = lambda: True,
        on_page: Callable[[Progress], None] = lambda _progress: None,
    ) -> Progress:
        """Apply ``migration_id`` page by page while ``more()`` says so (a Lambda's remaining time, a
        page budget), resuming where its record says it stopped. A dry run changes nothing, records
        nothing and reads every page from the start: what it reports is what a run would touch."""
        migration = self.migrations.get(migration_id)
        if migration is None:
            known = ", ".join(self.migrations) or "none"
            raise LookupError(f"{self.package} has no migration {migration_id!r} (it has: {known})")
        if dry_run:
            return self._dry_run(migration_id, migration, more, on_page)
        record = self._start(migration_id, migration)
        scanned = touched = pages = 0
        while more():
            cursors = _cursors(record, migration.source.segments)
            open_segments = [s for s, c in cursors.items() if c != _DONE]
            if not open_segments:
                record = self._finish(migration_id, record)
                break
            segment = open_segments[0]
            page_scanned, page_touched, record = self._page(migration_id, migration, record, segment)
            scanned, touched, pages = scanned + page_scanned, touched + page_touched, pages + 1
            on_page(Progress(migration_id, scanned, touched, False, pages))
        else:
            if all(c == _DONE for c in _cursors(record, migration.source.segments).values()):
                record = self._finish(migration_id, record)
        return Progress(migration_id, scanned, touched, bool(record.get("finished_at")), pages)

    def _start(self, migration_id: str, migration: Migration) -> Item:
        record = self._record(migration_id)
        if record is not None:
            return record
        transaction = Transaction(self.table)
        transaction.put(
            {
                **record_key(migration_id),
                "id": migration_id,
                "description": migration.description,
                "started_at": self.clock(),
                "scanned": 0,
                "touched": 0,
                **{f"cursor_{s}": "" for s in range(migration.source.segments)},
            },
            condition="attribute_not_exists(pk)",
        )
        with contextlib.suppress(TransactionFailed):  # another runner started it first: go on from its record
            transaction.execute(self.client)
        started = self._record(migration_id)
        assert started is not None
        return started

    def _finish(self, migration_id: str, record: Item) -> Item:
        if record.get("finished_at"):
            return record
        transaction = Transaction(self.table)
        transaction.update(
            record_key(migration_id),
            "SET finished_at = :now",
            condition="attribute_not_exists(finished_at)",
            values={":now": self.clock()},
        )
        with contextlib.suppress(TransactionFailed):  # finished by another runner
            transaction.execute(self.client)
        finished = self._record(migration_id)
        assert finished is not None
        return finished

    def _read(self, migration: Migration, segment: int, cursor: str) -> tuple[list[Item], str]:
        """One page of ``segment`` after ``cursor``; returns its items (never a migration record) and the
        cursor after it."""
        kwargs: dict[str, Any] = {"TableName": self.table, "Limit": migration.page_size, "ConsistentRead": True}
        if cursor:
            kwargs["ExclusiveStartKey"] = json.loads(cursor)
        source = migration.source
        if isinstance(source, Scan):
            if source.segments > 1:
                kwargs |= {"Segment": segment, "TotalSegments": source.segments}
            response: Mapping[str, Any] = self.client.scan(**kwargs)
        else:
            kwargs |= {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_attributes({":pk": source.pk, ":prefix": source.sk_prefix}),
            }
            response = self.client.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        after = json.dumps(last, sort_keys=True) if last else _DONE
        items = (from_attributes(i) for i in response.get("Items", []))
        return [item for item in items if item.get("pk") != MIGRATIONS_PK], after

    def _page(self, migration_id: str, migration: Migration, record: Item, segment: int) -> tuple[int, int, Item]:
        """Apply one page of ``segment`` with its checkpoint, in one transaction; returns the items it
        scanned and touched, and the record after it."""
        for _attempt in range(PAGE_ATTEMPTS):
            cursor = str(record[f"cursor_{segment}"])
            items, after = self._read(migration, segment, cursor)
            changes = [(item, migration.change(item)) for item in items]
            changed = [(item, change) for item, change in changes if change is not None]
            if any(len(change.copies) > migration.copies_per_change for _, change in changed):
                raise ValueError(f"{migration_id}: a change writes more copies than copies_per_change")
            transaction = Transaction(self.table)
            for item, change in changed:
                _apply(transaction, item, change)
            transaction.update(
                record_key(migration_id),
                f"SET cursor_{segment} = :after ADD scanned :scanned, touched :touched",
                condition=f"cursor_{segment} = :before",
                values={":after": after, ":before": cursor, ":scanned": len(items), ":touched": len(changed)},
            )
            try:
                transaction.execute(self.client)
            except TransactionFailed:
                # Either another runner committed this page (the cursor moved: go on from there), or an
                # item changed under it (read the page again).
                fresh = self._record(migration_id)
                assert fresh is not None
                if fresh[f"cursor_{segment}"] != cursor:
                    return 0, 0, fresh
                record = fresh
                continue
            return len(items), len(changed), {**record, f"cursor_{segment}": after}
        raise RuntimeError(f"{migration_id}: a page of segment {segment} kept changing under it; run again")

    def _dry_run(
        self,
        migration_id: str,
        migration: Migration,
        more: Callable[[], bool],
        on_page: Callable[[Progress], None],
    ) -> Progress:
        scanned = touched = pages = 0
        for segment in range(migration.source.segments):
            cursor = ""
            while cursor != _DONE:
                if not more():
                    return Progress(migration_id, scanned, touched, False, pages)
                items, cursor = self._read(migration, segment, cursor)
                scanned += len(items)
                touched += sum(1 for item in items if migration.change(item) is not None)
                pages += 1
                on_page(Progress(migration_id, scanned, touched, False, pages))
        return Progress(migration_id, scanned, touched, True, pages)


def _cursors(record: Mapping[str, Any], segments: int) -> dict[int, str]:
    return {s: str(record.get(f"cursor_{s}", "")) for s in range(segments)}


def _apply(transaction: Transaction, item: Mapping[str, Any], change: Change) -> None:
    names = {f"#s{i}": name for i, name in enumerate(change.set)} | {f"#r{i}": n for i, n in enumerate(change.remove)}
    values = {f":s{i}": value for i, value in enumerate(change.set.values())}
    parts = []
    if change.set:
        parts.append("SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(change.set))))
    if change.remove:
        parts.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(change.remove))))
    # The item must still exist (an update would create a fragment of a deleted one) and, when it carries
    # a version, still be the one read.
    condition = "attribute_exists(pk)"
    if "version" in item:
        condition += " AND #version = :version"
        names["#version"] = "version"
        values[":version"] = item["version"]
    key = {"pk": item["pk"], "sk": item["sk"]}
    if change.delete:
        transaction.delete(key, condition=condition, names=names or None, values=values or None)
        return
    transaction.update(key, " ".join(parts), condition=condition, names=names, values=values)
    changed = {name: value for name, value in item.items() if name not in change.remove} | dict(change.set)
    for copy in change.copies:
        transaction.put({**changed, **copy})
