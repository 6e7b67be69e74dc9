"""Identity's copy of billing's entitlements: the seat ledger's plan, limit and features, and the plan
and features on each active API key's lookup, written into the consumer's transaction (with its inbox
marker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.identity.adapters import items
from functions.identity.adapters.keys import api_key_lookup_key, seats_key
from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.tenant import Seats
from keel import aws
from keel.clock import iso
from keel.store import Transaction
from keel.tenancy import encode_features

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

    def replace(
        self,
        *,
        tenant_id: str,
        plan: str,
        seat_limit: int | None,
        rate_tier: str,
        usage_tier: str | None,
        features: frozenset[str],
        effective_at: datetime,
        seats_version: int,
        api_key_hashes: Sequence[str],
    ) -> None:
        limit = "SET #seat_limit = :limit" if seat_limit is not None else "REMOVE #seat_limit SET"
        values: dict[str, Any] = {
            ":plan": plan,
            ":at": iso(effective_at),
            ":expected": seats_version,
            ":one": 1,
            ":rate": rate_tier,
            ":features": encode_features(features),
        }
        if seat_limit is not None:
            values[":limit"] = seat_limit
        names = {
            "#seat_limit": "seat_limit",
            "#plan": "plan",
            "#at": "entitlements_effective_at",
            "#version": "version",
            "#rate": items.RATE_TIER,
            "#features": items.FEATURES,
        }
        usage = ""
        if usage_tier is not None:
            usage, names["#usage"], values[":usage"] = ", #usage = :usage", items.USAGE_TIER, usage_tier
        separator = "," if seat_limit is not None else ""
        self._into.update(
            seats_key(tenant_id),
            f"{limit}{separator} #plan = :plan, #at = :at, #rate = :rate, #features = :features{usage},"
            " #version = #version + :one",
            condition="#version = :expected",
            names=names,
            values=values,
        )
        for secret_hash in api_key_hashes:
            copy_onto_lookup(self._into, secret_hash, plan=plan, usage_tier=usage_tier, features=features)

    def once_written(self, action: Callable[[], None]) -> None:
        self._into.after_commit(action)


def copy_onto_lookup(
    tx: Transaction,
    secret_hash: str,
    *,
    plan: str | None = None,
    usage_tier: str | None,
    features: frozenset[str] | None = None,
) -> None:
    """The tenant's ``plan`` and ``features`` (when given) and ``usage_tier`` onto the lookup of an active
    API key, in ``tx``."""
    sets, names, values = [], {}, {}
    if plan is not None:
        sets.append("#plan = :plan")
        names["#plan"], values[":plan"] = "plan", plan
    if features is not None:
        sets.append("#features = :features")
        names["#features"], values[":features"] = items.FEATURES, encode_features(features)
    if usage_tier is not None:
        sets.append("#usage = :usage")
        names["#usage"], values[":usage"] = items.USAGE_TIER, usage_tier
    if sets:
        tx.update(
            api_key_lookup_key(secret_hash),
            "SET " + ", ".join(sets),
            condition="attribute_exists(pk)",
            names=names,
            values=values,
        )
