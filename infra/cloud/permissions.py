"""The IAM actions Keel's functions get, derived from the DynamoDB calls their code makes.

A function is granted the actions of the calls it makes and nothing more: no ``Scan`` and no
``BatchWriteItem`` (no request or event path uses them), and the authorizer, which answers
unauthenticated input, only point reads. The one exception is each context's migration function
(``keel.migrate``), which no request reaches: a migration may read the whole table.
``tests/infra/test_permissions.py`` finds the calls in the code and holds these lists to them.
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
#: A context's migration function (``keel.migrations``): pages of a Scan or a Query, each applied with its
#: checkpoint in one transaction, and the table's item count for the progress bar.
MIGRATIONS = (*actions_for("get_item", "query", "scan", "transact_write_items"), "dynamodb:DescribeTable")
#: Powertools' DynamoDB idempotency records (``keel.idempotency``).
IDEMPOTENCY_RECORDS = actions_for("get_item", "put_item", "update_item", "delete_item")
#: Taking an address off SES's account-level suppression list (a tenant's admin lifting a bounce).
RELEASE_SUPPRESSION = "ses:DeleteSuppressedDestination"
#: The only actions that may name ``Resource: *``: they have no resource-level permissions.
WITHOUT_RESOURCES = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams", RELEASE_SUPPRESSION}
)


#: What identity's functions call on API Gateway to give each tenant its key of its rate tier
#: (``functions/identity/adapters/usage_plans.py``), as (action, resource path under
#: ``arn:<partition>:apigateway:<region>::``): make a key, find one by name, add it to a tier's usage
#: plan (``{plan}`` is each tier's usage plan). Nothing deletes, changes or reads a key's value.
USAGE_PLAN_CALLS: tuple[tuple[str, str], ...] = (
    ("apigateway:POST", "/apikeys"),
    ("apigateway:GET", "/apikeys"),
    ("apigateway:POST", "/usageplans/{plan}/keys"),
)
