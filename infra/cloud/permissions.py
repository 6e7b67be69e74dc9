"""The IAM actions Keel's functions get, derived from the DynamoDB calls their code makes.

A function is granted the actions of the calls it makes and nothing more: no ``Scan`` and no
``BatchWriteItem`` (no request or event path uses them), and the authorizer, which answers
unauthenticated input, only point reads. ``tests/infra/test_permissions.py`` finds the calls in the
code and holds these lists to them.
"""

from __future__ import annotations

#: The IAM actions each DynamoDB client call needs. ``TransactWriteItems`` has no action of its own:
#: IAM checks each of its items against the action of that item's kind.
CALL_ACTIONS: dict[str, tuple[str, ...]] = {
    "get_item": ("dynamodb:GetItem",),
    "batch_get_item": ("dynamodb:BatchGetItem",),
    "query": ("dynamodb:Query",),
    "put_item": ("dynamodb:PutItem",),
    "update_item": ("dynamodb:UpdateItem",),
    "delete_item": ("dynamodb:DeleteItem",),
    "transact_write_items": (
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ),
    "transact_get_items": ("dynamodb:GetItem",),
    "scan": ("dynamodb:Scan",),
    "batch_write_item": ("dynamodb:BatchWriteItem",),
}


def actions_for(*calls: str) -> tuple[str, ...]:
    """The IAM actions the DynamoDB client ``calls`` need, sorted, each once."""
    return tuple(sorted({action for call in calls for action in CALL_ACTIONS[call]}))


#: The kernel's store helpers (``keel.store``: ``get_item``, ``query_page``, ``Transaction.execute``)
#: and the contexts' batch reads: what API functions, consumers and jobs do with their own table.
CONTEXT_TABLE = actions_for("get_item", "batch_get_item", "query", "transact_write_items")
#: The authorizer: it looks up a membership or an API key, never lists, never writes.
AUTHORIZER_TABLE = actions_for("get_item", "batch_get_item")
#: Powertools' DynamoDB idempotency records (``keel.idempotency``).
IDEMPOTENCY_RECORDS = actions_for("get_item", "put_item", "update_item", "delete_item")
#: The only actions that may name ``Resource: *``: they have no resource-level permissions.
WITHOUT_RESOURCES = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"})
