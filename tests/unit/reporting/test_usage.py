"""A tenant's usage from things that open and close, and tasks counted on their day."""

from __future__ import annotations

from datetime import date
from typing import Any

from functions.reporting.domain.facts import Fact
from functions.reporting.domain.projector import Projector
from functions.reporting.domain.reports import ReportService
from tests.unit.reporting import history as h
from tests.unit.reporting.fakes import MemoryModels


def usage(*facts: Fact, days: int = 10) -> dict[str, dict[str, Any]]:
    models = MemoryModels()
    for f in facts:
        Projector(models).apply(f)
    report = ReportService(models).usage("ten_a", start=date(2026, 1, 1), end=date(2026, 1, days), granularity="day")  # type: ignore[arg-type]
    return {row["period"][-2:]: row for row in report.rows}


def test_a_project_archived_then_deleted_leaves_the_active_count_once() -> None:
    # Given a project created on the 1st, archived on the 3rd, restored on the 5th, deleted on the 7th,
    # and another created on the 2nd and deleted on the 4th while archived since the 3rd
    rows = usage(
        h.project("created", "p1", days=0),
        h.project("archived", "p1", days=2),
        h.project("restored", "p1", days=4),
        h.project("deleted", "p1", days=6),
        h.project("created", "p2", days=1),
        h.project("archived", "p2", days=2),
        h.project("deleted", "p2", days=3),
    )
    # Then the active projects follow, and a deletion of an archived project takes nothing more away
    assert [rows[d]["active_projects"] for d in ("01", "02", "03", "04", "05", "06", "07")] == [1, 2, 0, 0, 1, 1, 0]


def test_tasks_are_counted_on_their_day() -> None:
    rows = usage(h.task("created", "t1", days=1), h.task("created", "t2", days=1), h.task("completed", "t1", days=3))
    assert (rows["02"]["tasks_created"], rows["04"]["tasks_completed"], rows["05"]["tasks_created"]) == (2, 1, 0)


def test_a_pending_invitation_counts_until_it_is_accepted_revoked_or_expires() -> None:
    # Given three invitations on the 1st: one accepted on the 3rd, one revoked on the 4th, one left to expire (7 days)
    rows = usage(
        h.invited("i1", days=0),
        h.invited("i2", days=0),
        h.invited("i3", days=0),
        h.joined("usr_1", days=2, invitation="i1"),
        h.revoked("i2", days=3),
    )
    # Then the pending count falls as each ends, and the accepted one is a member
    assert [rows[d]["pending_invitations"] for d in ("01", "03", "04", "08", "09")] == [3, 2, 1, 0, 0]
    assert rows["03"]["members"] == 1


def test_api_keys_and_members_count_while_they_exist() -> None:
    rows = usage(
        h.key_created("k1", days=0), h.key_revoked("k1", days=5), h.joined("u1", days=0), h.removed("u1", days=1)
    )
    assert (rows["05"]["api_keys"], rows["06"]["api_keys"], rows["01"]["members"], rows["02"]["members"]) == (
        1,
        0,
        1,
        0,
    )
