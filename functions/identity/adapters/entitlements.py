"""Identity's copy of billing's entitlements: the seat ledger's plan and limit, and the plan on each
active API key's lookup, written into the consumer's transaction (with its inbox marker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.identity.adapters import items
from functions.identity.adapters.keys import API_KEY, api_key_lookup_key, seats_key
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.tenant import Seats
from keel import aws
from keel.clock import iso
from keel.store import Transaction, entity_sk, tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class EntitlementsWriter(IdentityTable):
    """Implements ``EntitlementsCopy`` inside ``tx``, a transaction its caller executes."""

    def __init__(self, table: str, tx: Transaction, *, client: Callable[[], DynamoDBClient] = aws.dynamodb) -> None:
        super().__init__(table, client=client)
        self._into = tx

    def seats(self, tenant_id: str) -> Seats | None:
        item = self._get(seats_key(tenant_id))
        return items.to_seats(item) if item else None

    def active_api_key_hashes(self, tenant_id: str) -> list[str]:
        keys = (items.to_api_key(i) for i in self._all(tenant_pk(tenant_id), entity_sk(API_KEY)))
        return [k.secret_hash for k in keys if not k.revoked]

    def replace(
        self,
        *,
        tenant_id: str,
        plan: str,
        seat_limit: int | None,
        effective_at: datetime,
        seats_version: int,
        api_key_hashes: Sequence[str],
    ) -> None:
        limit = "SET #seat_limit = :limit" if seat_limit is not None else "REMOVE #seat_limit SET"
        values: dict[str, Any] = {":plan": plan, ":at": iso(effective_at), ":expected": seats_version, ":one": 1}
        if seat_limit is not None:
            values[":limit"] = seat_limit
        separator = "," if seat_limit is not None else ""
        self._into.update(
            seats_key(tenant_id),
            f"{limit}{separator} #plan = :plan, #at = :at, #version = #version + :one",
            condition="#version = :expected",
            names={
                "#seat_limit": "seat_limit",
                "#plan": "plan",
                "#at": "entitlements_effective_at",
                "#version": "version",
            },
            values=values,
        )
        for secret_hash in api_key_hashes:
            self._into.update(
                api_key_lookup_key(secret_hash),
                "SET #plan = :plan",
                condition="attribute_exists(pk)",
                names={"#plan": "plan"},
                values={":plan": plan},
            )
