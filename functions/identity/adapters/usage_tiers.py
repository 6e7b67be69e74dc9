"""Which tier's API Gateway key each tenant has (``usage_tier`` on its ledger and its API keys'
lookups), as the usage-keys job records it."""

from __future__ import annotations

from collections.abc import Sequence

from functions.identity.adapters import items
from functions.identity.adapters.entitlements import copy_onto_lookup
from functions.identity.adapters.keys import seats_key
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.tenant import Seats
from keel.store import Transaction, TransactionFailed


class UsageTierRecords(IdentityTable):
    """Implements ``UsageTiers``."""

    def seats(self, tenant_ids: Sequence[str]) -> dict[str, Seats]:
        if not tenant_ids:
            return {}
        found = self._get_many(*(seats_key(t) for t in tenant_ids))
        return {t: items.to_seats(item) for t, item in zip(tenant_ids, found, strict=True) if item is not None}

    def record(self, tenant_id: str, tier: str, *, seats_version: int, api_key_hashes: Sequence[str]) -> bool:
        tx = Transaction(self.table)
        tx.update(
            seats_key(tenant_id),
            "SET #usage = :usage, #version = #version + :one",
            condition="#version = :expected",
            names={"#usage": items.USAGE_TIER, "#version": "version"},
            values={":usage": tier, ":one": 1, ":expected": seats_version},
        )
        for secret_hash in api_key_hashes:
            copy_onto_lookup(tx, secret_hash, usage_tier=tier)
        try:
            self._execute(tx)
        except TransactionFailed:
            return False  # the ledger changed since it was read: the next run reads it again
        return True
