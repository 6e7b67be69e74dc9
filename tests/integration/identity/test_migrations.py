"""Identity's data migrations: 0001 records ``schema_version`` 1 on tenant items written before it
existed, and nothing else changes, neither in the table nor in what the API answers."""

from __future__ import annotations

import boto3

from functions.identity.adapters.items import SCHEMA_VERSION, TENANT_SCHEMA_VERSION
from functions.identity.adapters.keys import TENANT_SK
from keel.migrations import MIGRATIONS_PK, Runner
from keel.store import to_attributes
from tests.integration.identity.gateway import TABLE, Gateway
from tests.support.moto import all_items
from tests.support.staged import IDENTITY

BACKFILL = "0001_tenant_schema_version"


def _legacy(tenant_id: str) -> None:
    """The tenant's item as code older than ``schema_version`` wrote it."""
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key=to_attributes({"pk": f"TENANT#{tenant_id}", "sk": TENANT_SK}),
        UpdateExpression="REMOVE schema_version",
    )


def _data() -> list[dict[str, object]]:
    return sorted((i for i in all_items(TABLE) if i["pk"] != MIGRATIONS_PK), key=lambda i: (i["pk"], i["sk"]))


def test_a_new_tenant_is_written_with_its_schema_version(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    (item,) = [i for i in all_items(TABLE) if i["pk"] == f"TENANT#{tenant}" and i["sk"] == TENANT_SK]
    assert item[SCHEMA_VERSION] == TENANT_SCHEMA_VERSION


def test_the_backfill_versions_old_tenants_and_changes_nothing_else(gateway: Gateway) -> None:
    # Given three tenants, two of them written before schema_version existed, with members and invitations
    tenants = [gateway.sign_up(owner, name) for owner, name in (("ada", "Acme"), ("bob", "Bolt"), ("cy", "Core"))]
    gateway.join(tenants[0], "dee")
    for legacy in tenants[1:]:
        _legacy(legacy)
    before = _data()
    answers = [
        gateway.call("GET", "/v1/tenant", as_=o, tenant=t).body
        for o, t in zip(("ada", "bob", "cy"), tenants, strict=True)
    ]
    # When identity's migrations run
    runner = Runner(IDENTITY.table_name, IDENTITY.migrations_package)
    assert runner.pending() == [BACKFILL]
    progress = runner.run(BACKFILL)
    # Then exactly the two old tenant items were touched, and now carry version 1
    assert (progress.finished, progress.touched) == (True, 2)
    after = _data()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert [(a["pk"], a["sk"]) for _, a in changed] == sorted((f"TENANT#{t}", TENANT_SK) for t in tenants[1:])
    assert all(a == b | {SCHEMA_VERSION: TENANT_SCHEMA_VERSION} for b, a in changed)
    # And the API answers exactly as before
    again = [
        gateway.call("GET", "/v1/tenant", as_=o, tenant=t).body
        for o, t in zip(("ada", "bob", "cy"), tenants, strict=True)
    ]
    assert again == answers
    # And nothing is pending any more
    assert runner.pending() == []
