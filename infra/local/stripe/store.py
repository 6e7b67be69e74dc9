"""In-memory objects by id, list pages, ``expand[]``, and the idempotency cache."""

from __future__ import annotations

import copy
import secrets
import string
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.stripe.errors import idempotency, invalid, no_such
from infra.local.stripe.params import Params

Obj = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits
MAX_EXPAND_DEPTH = 4


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking id: ``cus_`` followed by random letters and digits."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


class Store:
    """Every object the account holds, by id, with each type's creation order."""

    def __init__(self) -> None:
        self._objects: dict[str, Obj] = {}
        self._deleted: dict[str, Obj] = {}
        self._order: dict[str, list[str]] = {}

    def add(self, obj: Obj) -> Obj:
        self._objects[obj["id"]] = obj
        self._order.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def find(self, object_id: str) -> Obj | None:
        """The live object (or the deleted stub) with this id."""
        return self._objects.get(object_id) or self._deleted.get(object_id)

    def get(self, object_id: str, kind: str, *, param: str = "id") -> Obj:
        """The live object of this kind; Stripe's 404 otherwise (other kinds' ids included)."""
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise no_such(kind, object_id, param=param)
        return obj

    def retrieve(self, object_id: str, kind: str) -> Obj:
        """Like ``get``, but a deleted object answers its ``{"deleted": true}`` stub as Stripe does."""
        stub = self._deleted.get(object_id)
        if stub is not None and stub["object"] == kind:
            return stub
        return self.get(object_id, kind)

    def delete(self, obj: Obj, stub: Obj) -> None:
        self._objects.pop(obj["id"], None)
        self._order[obj["object"]].remove(obj["id"])
        self._deleted[obj["id"]] = stub

    def discard(self, obj: Obj) -> None:
        """Forget an object entirely (what a deleted test clock does to its customers' objects)."""
        self._objects.pop(obj["id"], None)
        self._order[obj["object"]].remove(obj["id"])

    def all(self, kind: str) -> list[Obj]:
        """Objects of one kind, newest first (Stripe's list order)."""
        return [self._objects[i] for i in reversed(self._order.get(kind, []))]


def page(items: list[Obj], params: Params, url: str) -> Obj:
    """A Stripe list object: ``limit`` (1..100, default 10), ``starting_after`` / ``ending_before``."""
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    after, before = params.text("starting_after"), params.text("ending_before")
    if after and before:
        raise invalid("You may only specify one of these parameters: starting_after, ending_before.")
    ids = [item["id"] for item in items]
    if after or before:
        cursor = after or before
        assert cursor is not None
        if cursor not in ids:
            raise no_such("object", cursor, param="starting_after" if after else "ending_before")
        index = ids.index(cursor)
    if after:
        window, has_more = items[index + 1 : index + 1 + limit], index + 1 + limit < len(items)
    elif before:
        start = max(0, index - limit)
        window, has_more = items[start:index], start > 0
    else:
        window, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": window, "has_more": has_more, "url": url}


def created_filter(params: Params, key: str = "created") -> Callable[[Obj], bool]:
    """``created=ts`` or ``created[gt|gte|lt|lte]=ts``, as a predicate."""
    exact = params.raw.get(key)
    if isinstance(exact, str):
        value = params.integer(key)
        return lambda obj: obj.get(key) == value
    bounds = params.nested(key)
    if bounds is None:
        return lambda obj: True
    bounds.allow(("gt", "gte", "lt", "lte"))
    gt, gte, lt, lte = (bounds.integer(op) for op in ("gt", "gte", "lt", "lte"))

    def keep(obj: Obj) -> bool:
        at = obj.get(key) or 0
        return (
            (gt is None or at > gt)
            and (gte is None or at >= gte)
            and (lt is None or at < lt)
            and (lte is None or at <= lte)
        )

    return keep


Includable = Callable[[Obj, str], Any]


def expand(obj: Obj, paths: list[str], resolve: Callable[[str], Obj | None], include: Includable) -> Obj:
    """A copy of ``obj`` with each dotted path's ids replaced by their objects (``data.customer``...).

    ``include(node, key)`` supplies fields Stripe only returns when asked (``invoice.payments``),
    or ``None`` when ``key`` is not such a field.
    """
    out = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise invalid(f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property: {path}")
        _expand(out, parts, path, resolve, include)
    return out


def _expand(node: Any, parts: list[str], path: str, resolve: Callable[[str], Obj | None], include: Includable) -> Any:
    if not parts or node is None:
        return node
    if isinstance(node, list):
        return [_expand(item, parts, path, resolve, include) for item in node]
    key, rest = parts[0], parts[1:]
    if not isinstance(node, dict):
        raise _not_expandable(path)
    if key not in node:
        included = include(node, key)
        if included is None:
            raise _not_expandable(path)
        node[key] = included
    value = node[key]
    if isinstance(value, str):
        target = resolve(value)
        if target is None:
            raise _not_expandable(path)
        value = copy.deepcopy(target)
    node[key] = _expand(value, rest, path, resolve, include)
    return node


def _not_expandable(path: str) -> Exception:
    return invalid(f"This property cannot be expanded ({path}).", param="expand")


@dataclass(frozen=True)
class Saved:
    """A response kept under an idempotency key."""

    fingerprint: str
    status: int
    body: bytes
    request_id: str


class IdempotencyCache:
    """Stripe's idempotency: same key + same request -> the saved response; other params -> 400."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._saved: OrderedDict[str, Saved] = OrderedDict()
        self._in_flight: set[str] = set()
        self._capacity = capacity

    def begin(self, key: str, fingerprint: str) -> Saved | None:
        """The saved response to replay, or ``None`` after reserving ``key`` for this request."""
        with self._lock:
            saved = self._saved.get(key)
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    raise idempotency(
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different request."
                    )
                return saved
            if key in self._in_flight:
                raise idempotency(
                    "There is currently another in-progress request using this Stripe-Idempotency key.",
                    status=409,
                    code="idempotency_key_in_use",
                )
            self._in_flight.add(key)
            return None

    def finish(self, key: str, saved: Saved | None) -> None:
        """Release ``key``; keep ``saved`` for replays (``None``: the request may be tried again)."""
        with self._lock:
            self._in_flight.discard(key)
            if saved is not None:
                self._saved[key] = saved
                while len(self._saved) > self._capacity:
                    self._saved.popitem(last=False)
