"""Reporting's main path, as a tenant's owner walks it: the sign-up's events reach the tenant's
activity through the bus (reporting's consumer), and its usage shows its one member."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from infra.smoke import Session, SmokeFailure, Step

#: How long the sign-up's events may take to reach reporting's read models.
WAIT_SECONDS = 60


def steps(session: Session) -> list[Step]:
    def activity() -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            rows = session.expect(200, "GET", "/v1/reports/activity?limit=20")["rows"]
            if "identity.tenant.created.v1" in {row["type"] for row in rows}:
                return
            if time.monotonic() > deadline:
                raise SmokeFailure(f"the sign-up did not reach the tenant's activity within {WAIT_SECONDS} s")
            time.sleep(0.5)

    def usage() -> None:
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        rows = session.expect(200, "GET", f"/v1/reports/usage?from={today}&to={today}")["rows"]
        if rows[-1]["members"] != 1:
            raise SmokeFailure(f"a new tenant's usage should show its owner alone, not {rows[-1]['members']} members")

    return [Step("GET /v1/reports/activity (the sign-up arrived)", activity), Step("GET /v1/reports/usage", usage)]
