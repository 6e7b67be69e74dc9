"""An operator's override of a tenant's entitlements: higher (or lower) limits and features, for a
reason, until a date or for good. An override whose ``until`` has passed no longer applies: it is
evaluated on every read, and the hourly job announces the lapse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from functions.billing.domain.plans import Entitlements


@dataclass(frozen=True)
class Override:
    #: ``None``: the plan's own limit applies.
    seat_limit: int | None
    project_limit: int | None
    #: Features switched on (or off) over the plan's.
    features: Mapping[str, bool]
    until: datetime | None
    reason: str
    set_by: str
    set_at: datetime

    def applies_at(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def over(self, entitlements: Entitlements) -> Entitlements:
        """``entitlements`` with this override's limits and features."""
        return entitlements.with_limits(
            seat_limit=self.seat_limit, project_limit=self.project_limit, features=self.features
        )
