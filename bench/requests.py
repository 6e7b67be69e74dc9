"""DynamoDB requests per operation, counted on the wire with botocore's ``before-call`` events.

Each context contributes a scenario (``bench/scenarios/<context>.py``): a list of steps that drive
its real handlers in-process under moto. Every step is counted on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READ_OPERATIONS = {"GetItem", "Query", "BatchGetItem"}
WRITE_OPERATIONS = {"TransactWriteItems"}


@dataclass
class RequestCount:
    operations: Counter[str] = field(default_factory=Counter)

    def record(self, operation: str) -> None:
        self.operations[operation] += 1

    @property
    def total(self) -> int:
        return sum(self.operations.values())

    @property
    def scans(self) -> int:
        return self.operations["Scan"]


@contextmanager
def counting_dynamodb_requests() -> Iterator[RequestCount]:
    """Count every DynamoDB API call made by any client created while this is active or before."""
    import botocore.session

    count = RequestCount()

    def before_call(model: Any, **_: Any) -> None:
        count.record(model.name)

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-call.dynamodb.*", before_call)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield count
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Step:
    """One operation of a scenario: ``kind`` is "read" (budget: 1 request) or "write" (1 transaction)."""

    name: str
    kind: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class Measured:
    context: str
    step: str
    kind: str
    operations: dict[str, int]

    @property
    def breaches(self) -> list[str]:
        ops = Counter(self.operations)
        out = []
        if ops["Scan"]:
            out.append("scan")
        if self.kind == "read" and sum(ops[o] for o in READ_OPERATIONS) > 1:
            out.append("more than 1 read request")
        if self.kind == "write":
            if ops["TransactWriteItems"] > 1:
                out.append("more than 1 transaction")
            other_writes = sum(
                v for k, v in ops.items() if k in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
            )
            if other_writes:
                out.append("writes outside the transaction")
        if self.kind == "read" and (ops["TransactWriteItems"] or ops["PutItem"] or ops["UpdateItem"]):
            out.append("a read that writes")
        return out
