"""Identity's DynamoDB table (``keel-<stage>-identity``): what every repository of it shares.

One repository per aggregate reads and writes the table: ``tenants`` (tenant, slug, seat ledger),
``members``, ``invitations``, ``api_keys``, ``access`` (the authorizer's reads), ``expiry`` (the
hourly sweep's index) and ``entitlements`` (billing's copy, written in the consumer's transaction).
Their keys are built in ``keys`` and their items encoded in ``items``.

No Scan anywhere. Reads are GetItem / BatchGetItem (consistent: they precede writes and the
authorizer) or one Query; each write is one TransactWriteItems with its outbox events. A limit the
domain defines (``domain/limits.py``) becomes the condition of the write that moves its counter
here, from the same object (``limit_condition``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypeVar

from functions.identity.adapters import items
from functions.identity.adapters.keys import API_KEY, Key, api_key_key, member_key, seats_key, tenant_key
from functions.identity.domain.errors import AccessChanged, TenantSuspended
from functions.identity.domain.limits import Above, Below, Limit
from functions.identity.domain.ports import Page
from functions.identity.domain.tenant import TenantStatus
from keel import aws, ids
from keel.errors import KeelError
from keel.store import Item, Transaction, batch_get, entity_sk, get_item, query_all, query_page, tenant_pk
from keel.tenancy import Role, TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


@dataclass(frozen=True)
class Condition:
    """A DynamoDB condition expression with the names and values it uses."""

    expression: str
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    def __and__(self, other: Condition) -> Condition:
        return Condition(
            f"{_group(self.expression)} AND {_group(other.expression)}",
            {**self.names, **other.names},
            {**self.values, **other.values},
        )


def _group(expression: str) -> str:
    """``expression`` in parentheses, unless it already is wholly (DynamoDB refuses ``((...))``)."""
    depth = 0
    for position, char in enumerate(expression):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and position < len(expression) - 1:
            return f"({expression})"
    return expression if expression.startswith("(") else f"({expression})"


EXISTS = Condition("attribute_exists(pk)")
#: An API key item that exists and is not revoked.
KEY_ACTIVE = Condition("attribute_exists(pk) AND #revoked = :no", {"#revoked": "revoked"}, {":no": False})


def _below(counter: str, bound: str, *, bound_positive: bool | None) -> str:
    """``counter < bound`` where a missing counter counts as 0 (``bound_positive``: known, or ``None``)."""
    if bound_positive is None:
        return f"(attribute_not_exists({counter}) AND :zero < {bound}) OR {counter} < {bound}"
    return f"attribute_not_exists({counter}) OR {counter} < {bound}" if bound_positive else f"{counter} < {bound}"


def limit_condition(limit: Limit) -> Condition | None:
    """The DynamoDB condition that holds exactly when ``limit.holds`` would on the stored item
    (``None``: a limit that never binds)."""
    counter = f"#{limit.counter}"
    names = {counter: limit.counter}
    if isinstance(limit, Above):
        value = f":{limit.counter}_floor"
        text = f"{counter} > {value}" if limit.floor >= 0 else f"attribute_not_exists({counter}) OR {counter} > {value}"
        return Condition(text, names, {value: limit.floor})
    values: dict[str, Any] = {}
    branches: list[str] = []
    if limit.default is not None:
        default = f":{limit.counter}_default"
        values[default] = limit.default
        fallback = _below(counter, default, bound_positive=limit.default > 0)
        branches.append(f"attribute_not_exists(#{limit.limit}) AND ({fallback})" if limit.limit else fallback)
    elif limit.limit:
        branches.append(f"attribute_not_exists(#{limit.limit})")
    if limit.limit:
        names[f"#{limit.limit}"] = limit.limit
        values[":zero"] = 0
        branches.append(_below(counter, f"#{limit.limit}", bound_positive=None))
    if not branches:
        return None
    return Condition(" OR ".join(_group(b) for b in branches), names, values)


def access_changed() -> AccessChanged:
    return AccessChanged("your access to this tenant changed; sign in again or use a current key")


def tenant_suspended() -> TenantSuspended:
    return TenantSuspended("this tenant is suspended")


#: A tenant that an operator has not suspended.
TENANT_ACTIVE = Condition("#status = :active", {"#status": "status"}, {":active": TenantStatus.ACTIVE.value})


def check_tenant_active(tx: Transaction, tenant_id: str) -> None:
    """In ``tx``: the tenant exists and is not suspended (a 403 ``tenant_suspended`` otherwise)."""
    tx.check(
        tenant_key(tenant_id),
        TENANT_ACTIVE.expression,
        names=TENANT_ACTIVE.names,
        values=TENANT_ACTIVE.values,
        on_condition_failed=tenant_suspended(),
    )


def roles_at_least(role: Role, *, placeholder: str = "r") -> Condition:
    """``#role`` is ``role`` or above."""
    values = {f":{placeholder}{i}": r.value for i, r in enumerate(r for r in Role if r.at_least(role))}
    return Condition(f"#role IN ({', '.join(values)})", {"#role": "role"}, values)


def actor_condition(actor: TenantContext) -> tuple[Key, Condition]:
    """The item that proves ``actor``'s access now, and the condition it must meet: an API key not
    revoked, or a member whose role is at least the one the (possibly cached) authorization carried."""
    if ids.is_id("key", actor.user_id):
        return api_key_key(actor.tenant_id, actor.user_id), KEY_ACTIVE
    return member_key(actor.tenant_id, actor.user_id), roles_at_least(actor.role)


class IdentityTable:
    """The table and, with ``acting_as``, the actor whose access each write re-checks."""

    def __init__(
        self,
        table: str,
        *,
        client: Callable[[], DynamoDBClient] = aws.dynamodb,
        actor: TenantContext | None = None,
    ) -> None:
        self.table = table
        self._client = client
        self._actor = actor

    def acting_as(self, actor: TenantContext) -> Self:
        """This repository, whose writes also check in their own transaction that ``actor`` still has
        the access API Gateway's cached authorizer answer says it has (a 403 ``access_changed`` if not),
        and that its tenant is not suspended (a 403 ``tenant_suspended``)."""
        acting = copy.copy(self)
        acting._actor = actor
        return acting

    # -- writes -----------------------------------------------------------------------------------

    def _tx(self, *, actor_item_written: Key | None = None, tenant_item_written: bool = False) -> Transaction:
        """A transaction that re-checks the actor and its tenant's status, unless the write itself
        conditions the item (a transaction touches an item once; that write's condition then carries
        the check): ``actor_item_written`` (see ``_actor_check_on``), ``tenant_item_written`` (a write
        of the tenant item as read: its version condition fails if an operator changed its status)."""
        tx = Transaction(self.table)
        if self._actor is not None and not tenant_item_written:
            # A suspension flushes API Gateway's cached answers, but one given just before it may
            # still arrive: whatever it carries, the write refuses a suspended tenant.
            check_tenant_active(tx, self._actor.tenant_id)
        if self._actor is not None:
            # The authorizer's answer may be up to AUTHORIZER_CACHE_SECONDS old: a write re-checks it
            # here, in its own transaction, so a removed member or a revoked key cannot act (or mint access).
            key, condition = actor_condition(self._actor)
            if key != actor_item_written:
                tx.check(
                    key,
                    condition.expression,
                    names=condition.names,
                    values=condition.values,
                    on_condition_failed=access_changed(),
                )
        return tx

    def _actor_check_on(self, key: Key) -> Condition | None:
        """The actor's condition if ``key`` is the item that proves the actor's access."""
        if self._actor is None:
            return None
        actor_key, condition = actor_condition(self._actor)
        return condition if actor_key == key else None

    def _execute(self, tx: Transaction) -> None:
        tx.execute(self._client())

    def _move_seats(
        self,
        tx: Transaction,
        tenant_id: str,
        *,
        members: int = 0,
        pending: int = 0,
        owners: int = 0,
        api_keys: int = 0,
        require: Sequence[Limit] = (),
        also: Condition | None = None,
        on_condition_failed: KeelError | None = None,
        put: Mapping[str, str] | None = None,
        drop: Collection[str] = (),
    ) -> None:
        """Move the seat ledger's counters (and its version) in ``tx``; ``taken`` follows members +
        pending. The write holds only if the tenant exists, each limit of ``require`` holds on the
        stored ledger, and ``also``. ``put`` and ``drop`` set and remove the attributes that name
        what the counters count (``items.owner_attribute``, ``items.api_key_attribute``)."""
        taken = members + pending
        deltas = {"members": members, "pending": pending, "taken": taken, "owners": owners, "api_keys": api_keys}
        moves = {name: delta for name, delta in deltas.items() if delta}
        expression = "ADD #version :one" + "".join(f", #{name} :d_{name}" for name in moves)
        put, drop = dict(put or {}), list(drop)
        named = {f"#p{i}": name for i, name in enumerate(put)} | {f"#x{i}": name for i, name in enumerate(drop)}
        put_values = {f":p{i}": value for i, value in enumerate(put.values())}
        if put:
            expression += " SET " + ", ".join(f"#p{i} = :p{i}" for i in range(len(put)))
        if drop:
            expression += " REMOVE " + ", ".join(f"#x{i}" for i in range(len(drop)))
        condition = EXISTS
        for limit in require:
            rendered = limit_condition(limit)
            condition = condition & rendered if rendered else condition
        condition = condition & also if also else condition
        tx.update(
            seats_key(tenant_id),
            expression,
            condition=condition.expression,
            names={"#version": "version", **{f"#{name}": name for name in moves}, **named, **condition.names},
            values={
                ":one": 1,
                **{f":d_{name}": delta for name, delta in moves.items()},
                **put_values,
                **condition.values,
            },
            on_condition_failed=on_condition_failed,
        )

    @staticmethod
    def _count(tx: Transaction, key: Key, limit: Below, *, on_condition_failed: KeelError) -> None:
        """Add one to ``limit``'s counter on the item at ``key`` (made on first use), if the limit holds."""
        condition = limit_condition(limit)
        tx.update(
            key,
            f"ADD #{limit.counter} :one",
            condition=condition.expression if condition else None,
            names={f"#{limit.counter}": limit.counter, **(condition.names if condition else {})},
            values={":one": 1, **(condition.values if condition else {})},
            on_condition_failed=on_condition_failed,
        )

    # -- reads ------------------------------------------------------------------------------------

    def _get(self, key: Key) -> Item | None:
        return get_item(self.table, key["pk"], key["sk"], client=self._client(), consistent=True)

    def _get_many(self, *keys: Key) -> list[Item | None]:
        """The items of ``keys``, in order (``None`` where there is none): one BatchGetItem."""
        found = batch_get(self.table, keys, client=self._client(), consistent=True)
        return [found.get((k["pk"], k["sk"])) for k in keys]

    def _page(
        self,
        pk: str,
        sk_prefix: str,
        decode: Callable[[Item], T],
        *,
        limit: int,
        cursor: str | None,
        newest_first: bool = False,
    ) -> Page[T]:
        """One page of a partition's items under ``sk_prefix`` (one Query), decoded; ``newest_first``
        reads the sort keys backwards (newest first when they are ULIDs)."""
        page = query_page(
            self.table,
            pk,
            sk_prefix=sk_prefix,
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
            client=self._client(),
        )
        return Page(items=[decode(item) for item in page.items], cursor=page.cursor)

    def active_api_key_hashes(self, tenant_id: str) -> list[str]:
        """The secret hashes of the tenant's API keys not revoked (their lookups carry its copies)."""
        keys = (items.to_api_key(i) for i in self._all(tenant_pk(tenant_id), entity_sk(API_KEY)))
        return [k.secret_hash for k in keys if not k.revoked]

    def _all(self, pk: str, sk_prefix: str) -> Iterator[Item]:
        """Every item of a partition under ``sk_prefix``, a Query per 100 (jobs and consumers only)."""
        return query_all(self.table, pk, sk_prefix=sk_prefix, client=self._client())
