"""The index of pending invitations by hour of expiry (``EXPIRES#``) and the hourly sweep's progress."""

from __future__ import annotations

from datetime import datetime

from functions.identity.adapters.items import time_of
from functions.identity.adapters.keys import EXPIRING_PREFIX, expiry_pk, sweep_key
from functions.identity.adapters.store import IdentityTable
from keel.clock import iso


class ExpiryRepository(IdentityTable):
    """Implements ``ExpiryIndex``."""

    def expiring_in(self, hour: datetime) -> list[tuple[str, str]]:
        return [(i["tenant_id"], i["invitation_id"]) for i in self._all(expiry_pk(hour), EXPIRING_PREFIX)]

    def swept_until(self) -> datetime | None:
        item = self._get(sweep_key())
        return time_of(item["hour"]) if item else None

    def record_sweep(self, hour: datetime) -> None:
        tx = self._tx()
        tx.put(sweep_key() | {"hour": iso(hour)})
        self._execute(tx)
