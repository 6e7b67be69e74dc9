"""Which model version reads use, and which one a rebuild is writing: one item, ``MODEL`` / ``POINTER``.

Switching reads to a rebuilt version is one conditional write of that item, so every read after it
sees the new version whole; the old version's items stay where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.reporting.adapters import keys
from keel.errors import Conflict
from keel.store import Transaction, get_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The version of a table no rebuild has touched yet.
FIRST_VERSION = 1


class RebuildRefused(Conflict):
    """A rebuild cannot start or finish as asked (another one is running, or this one is no longer the one)."""


@dataclass(frozen=True)
class Versions:
    """The version reads use, and the one being rebuilt (if any)."""

    current: int = FIRST_VERSION
    building: int | None = None
    item_version: int | None = None

    @property
    def live(self) -> tuple[int, ...]:
        """Every version new events go to: the current one, and the one being rebuilt."""
        return (self.current,) if self.building is None else (self.current, self.building)


class VersionPointer:
    """The ``MODEL`` / ``POINTER`` item of reporting's table."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._client = client

    def read(self) -> Versions:
        item = get_item(self._table, keys.POINTER["pk"], keys.POINTER["sk"], client=self._client, consistent=True)
        if not item:
            return Versions()
        building = item.get("building")
        return Versions(int(item["current"]), int(building) if building else None, int(item["version"]))

    def start_rebuild(self, *, since: str | None) -> Versions:
        """Name a new version to rebuild into (after every version used so far)."""
        now = self.read()
        if now.building is not None:
            raise RebuildRefused(f"version {now.building} is being rebuilt; finish or abandon it first")
        started = Versions(now.current, max(now.current, now.item_version or 0) + 1, now.item_version)
        self._write(started, extra={"since": since or ""}, expected=now.item_version)
        return Versions(started.current, started.building, (now.item_version or 0) + 1)

    def switch(self, version: int) -> None:
        """Make ``version`` (the one being rebuilt) the one reads use, in one write."""
        now = self.read()
        if now.building != version:
            raise RebuildRefused(f"version {version} is not the one being rebuilt")
        self._write(Versions(version, None), extra={"previous": now.current}, expected=now.item_version)

    def abandon(self) -> None:
        """Stop writing the version being rebuilt; reads keep the current one."""
        now = self.read()
        if now.building is not None:
            self._write(Versions(now.current, None), extra={}, expected=now.item_version)

    def _write(self, versions: Versions, *, extra: dict[str, object], expected: int | None) -> None:
        tx = Transaction(self._table)
        item = {**keys.POINTER, "current": versions.current, "building": versions.building, **extra}
        tx.put_versioned(
            item, expected_version=expected, on_condition_failed=RebuildRefused("the model pointer changed meanwhile")
        )
        tx.execute(self._client)
