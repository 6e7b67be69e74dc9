"""Reporting's table (``keys`` says where each model lives): the only place that knows its items.

An event is one BatchGetItem (the tenant's summary and the things it touches) and one
TransactWriteItems; a report page is one Query. No Scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from functions.reporting.adapters import keys
from functions.reporting.domain.facts import Limits
from functions.reporting.domain.model import Changes, Entity, EntityKey, TenantState
from functions.reporting.domain.ports import AlreadyApplied, Contended, Page
from functions.reporting.domain.revenue import RevenueFact
from functions.reporting.domain.usage import LifecycleFact
from keel import aws
from keel.store import Item, Transaction, TransactionFailed, batch_get, from_attributes, query_page, to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# -- item codecs ------------------------------------------------------------------------------------


def _limits_item(limits: Limits) -> dict[str, Any]:
    return {
        "effective_at": limits.effective_at,
        "plan": limits.plan,
        "seat_limit": limits.seat_limit,
        "project_limit": limits.project_limit,
        "event_id": limits.event_id,
    }


def _limits_of(item: Mapping[str, Any] | None) -> Limits | None:
    if not item:
        return None
    return Limits(
        item["effective_at"], item["plan"], item.get("seat_limit"), item.get("project_limit"), item.get("event_id", "")
    )


def summary_item(version: int, state: TenantState) -> Item:
    """The tenant's summary, without its ``version`` (``Transaction.put_versioned`` sets it)."""
    return {
        **keys.summary(version, state.tenant_id),
        "tenant_id": state.tenant_id,
        "name": state.name,
        "name_at": state.name_at,
        "status": state.status,
        "status_at": state.status_at,
        "events": state.events,
        "last_activity_at": state.last_activity_at,
        "limits": {k: v for k, v in _limits_item(state.limits).items() if v is not None} if state.limits else None,
        "revenue": [fact.as_item() for fact in sorted(state.revenue)],
    }


def summary_of(tenant_id: str, item: Mapping[str, Any] | None) -> TenantState:
    if not item:
        return TenantState(tenant_id=tenant_id)
    return TenantState(
        tenant_id=tenant_id,
        version=int(item["version"]),
        name=item.get("name"),
        name_at=item.get("name_at"),
        status=item.get("status"),
        status_at=item.get("status_at"),
        events=int(item.get("events", 0)),
        last_activity_at=item.get("last_activity_at"),
        limits=_limits_of(item.get("limits")),
        revenue=frozenset(RevenueFact.of_item(f) for f in item.get("revenue", [])),
    )


def entity_item(version: int, tenant_id: str, thing: Entity) -> Item:
    return {
        **keys.entity(version, tenant_id, thing.kind, thing.id),
        "facts": [fact.as_item() for fact in sorted(thing.facts)],
    }


def entity_of(kind: str, entity_id: str, item: Mapping[str, Any] | None) -> Entity:
    if not item:
        return Entity(kind, entity_id)
    facts = frozenset(LifecycleFact.of_item(f) for f in item.get("facts", []))
    return Entity(kind, entity_id, facts, int(item["version"]))


def ranked_row(state: TenantState) -> dict[str, Any]:
    """A tenant's row in the rankings (the tenants report)."""
    mrr = state.mrr
    subscription = state.subscription
    return {
        "tenant_id": state.tenant_id,
        "name": state.name,
        "name_at": state.name_at,
        "status": state.status,
        "plan": subscription[0] if subscription else None,
        "mrr": sum(mrr.values()),
        "currency": min(mrr) if mrr else None,
        "events": state.events,
        "last_activity_at": state.last_activity_at,
    }


def _score(row: Mapping[str, Any], sort: str) -> int:
    return int(row["mrr"] if sort == "mrr" else row["events"])


def _add_to(
    tx: Transaction, key: Mapping[str, str], figures: Mapping[str, int], sets: Mapping[str, Any] | None
) -> None:
    """``ADD`` each figure's delta to the item at ``key`` (and ``SET`` each of ``sets``) in ``tx``."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds, assigns = [], []
    for n, (figure, delta) in enumerate(sorted(figures.items())):
        names[f"#a{n}"], values[f":a{n}"] = figure, delta
        adds.append(f"#a{n} :a{n}")
    for n, (name, value) in enumerate(sorted((sets or {}).items())):
        names[f"#s{n}"], values[f":s{n}"] = name, value
        assigns.append(f"#s{n} = :s{n}")
    clauses = (f"SET {', '.join(assigns)}" if assigns else "", f"ADD {', '.join(adds)}" if adds else "")
    tx.update(key, " ".join(c for c in clauses if c), names=names, values=values)


class ModelTable:
    """The read models of one version (``Models`` and ``Reports``) on reporting's table."""

    def __init__(self, table: str, version: int, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self.version = version
        self._client = client  # None: the container's own client (keel.aws), made on first use

    # -- writes -------------------------------------------------------------------------------------

    def load(self, tenant_id: str, entities: Sequence[EntityKey]) -> tuple[TenantState, dict[EntityKey, Entity]]:
        summary_key = keys.summary(self.version, tenant_id)
        entity_keys = {key: keys.entity(self.version, tenant_id, *key) for key in entities}
        found = batch_get(self._table, [summary_key, *entity_keys.values()], client=self._client, consistent=True)
        state = summary_of(tenant_id, found.get((summary_key["pk"], summary_key["sk"])))
        things = {key: entity_of(*key, found.get((k["pk"], k["sk"]))) for key, k in entity_keys.items()}
        return state, things

    def commit(self, changes: Changes) -> None:
        v, tenant_id = self.version, changes.tenant_id
        tx = Transaction(self._table)
        entry = changes.activity
        tx.put_new(
            {**keys.activity(v, tenant_id, entry.at, entry.event_id), **entry.__dict__},
            on_condition_failed=AlreadyApplied(entry.event_id),
        )
        before, after = changes.tenant_before, changes.tenant_after
        tx.put_versioned(
            summary_item(v, after), expected_version=before.version, on_condition_failed=Contended(tenant_id)
        )
        self._rank(tx, before, after)
        for old, new in changes.entities:
            tx.put_versioned(
                entity_item(v, tenant_id, new), expected_version=old.version, on_condition_failed=Contended(new.id)
            )
        for day, figures in sorted(changes.days.items()):
            _add_to(tx, keys.day(v, tenant_id, day), figures, {"day": day})
        if changes.levels or changes.limits:
            sets = (
                {"limits": {k: val for k, val in _limits_item(changes.limits).items() if val is not None}}
                if changes.limits
                else None
            )
            _add_to(tx, keys.level(v, tenant_id), changes.levels, sets)
        for (month, currency), figures in sorted(changes.revenue.items()):
            _add_to(tx, keys.month(v, month, currency), figures, {"month": month, "currency": currency})
        for plan_key, delta in sorted(changes.subscriptions.items()):
            _add_to(tx, keys.plan(v, plan_key), {"count": delta}, {"key": plan_key})
        if changes.trials:
            _add_to(tx, keys.trials(v), changes.trials, {"key": keys.TRIALS})
        try:
            tx.execute(self._client)
        except TransactionFailed as exc:  # another event's transaction touched the same items
            raise Contended(tenant_id) from exc

    def _rank(self, tx: Transaction, before: TenantState, after: TenantState) -> None:
        old_row, new_row = (ranked_row(before) if before.version is not None else None), ranked_row(after)
        for sort in keys.RANKINGS:
            new_key = keys.ranked(self.version, sort, _score(new_row, sort), after.tenant_id)
            if old_row is not None:
                old_key = keys.ranked(self.version, sort, _score(old_row, sort), before.tenant_id)
                if old_key != new_key:
                    tx.delete(old_key)
            tx.put({**new_key, **new_row})

    # -- reads (one request each) --------------------------------------------------------------------

    @property
    def _ddb(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def _between(self, pk: str, low: str, high: str) -> list[Item]:
        response = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues=to_attributes({":pk": pk, ":low": low, ":high": high}),
        )
        return [from_attributes(i) for i in response.get("Items", [])]

    def activity(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        pk = keys.activity_pk(self.version, tenant_id)
        page = query_page(
            self._table, pk, sk_prefix="AT#", limit=limit, cursor=cursor, newest_first=True, client=self._client
        )
        fields = ("event_id", "type", "at", "actor", "summary", "correlation_id")
        return Page(rows=[{f: item.get(f) for f in fields} for item in page.items], cursor=page.cursor)

    def usage(self, tenant_id: str, *, first_day: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items = self._between(keys.usage_pk(self.version, tenant_id), f"DAY#{first_day}", keys.LEVEL)
        days = [i for i in items if i["sk"] != keys.LEVEL]
        totals = next((i for i in items if i["sk"] == keys.LEVEL), None)
        return days, totals

    def revenue(self, *, last_month: str) -> list[dict[str, Any]]:
        items = self._between(keys.revenue_pk(self.version), "MONTH#", f"MONTH#{last_month}#~")
        return [{k: v for k, v in i.items() if k not in ("pk", "sk")} for i in items]

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._between(keys.subscriptions_pk(self.version), "PLAN#", keys.TRIALS)

    def tenants(self, *, sort: str, limit: int, cursor: str | None) -> Page:
        pk = keys.ranking_pk(self.version, sort)
        page = query_page(
            self._table, pk, sk_prefix=keys.RANK, limit=limit, cursor=cursor, newest_first=True, client=self._client
        )
        return Page(
            rows=[{k: v for k, v in i.items() if k not in ("pk", "sk")} for i in page.items], cursor=page.cursor
        )
