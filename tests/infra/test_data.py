"""Tables and who may touch them: each context's table is granted to its own functions only."""

from __future__ import annotations

from typing import Any

from tests.infra.cfn import Stack, Synthesized, target


def test_every_table_has_point_in_time_recovery_and_encryption(synthesized: Synthesized) -> None:
    # Given every stack of the app, when its tables are inspected
    for stack in synthesized.stacks.values():
        if stack.of_type("AWS::DynamoDB::Table"):
            # Then each is on-demand, restorable to any second of 35 days and encrypted at rest
            stack.assertions.all_resources_properties(
                "AWS::DynamoDB::Table",
                {
                    "BillingMode": "PAY_PER_REQUEST",
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                },
            )


def test_context_tables_are_single_table_with_expiry_and_an_outbox_stream(sample: Synthesized) -> None:
    # Given each context of the sample that owns a table
    for ctx in (c for c in sample.topology.contexts if c.table):
        # Then its table has pk/sk, expires items on expires_at and streams new images (what deleting the
        # stage does to it is the stage's choice: test_stages.py)
        sample.of(ctx).assertions.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "TableName": ctx.table_name,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            },
        )


def test_idempotency_table_is_keyed_by_id_and_expires_records(synthesized: Synthesized) -> None:
    # Given the foundation, then the Powertools idempotency table is where the handlers look for it
    synthesized.foundation.assertions.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": synthesized.topology.idempotency_table,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def _dynamodb_resources(stack: Stack, role: str) -> list[Any]:
    """Every resource the policies of ``role`` grant DynamoDB actions on."""
    resources: list[Any] = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if role not in [target(r) for r in policy["Properties"]["Roles"]]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("dynamodb:") for a in actions):
                found = statement["Resource"]
                resources += found if isinstance(found, list) else [found]
    return resources


def test_functions_reach_only_their_own_table_and_only_idempotent_apis_the_idempotency_table(
    sample: Synthesized,
) -> None:
    # Given every function of every context stack, and the role it runs as
    for ctx in sample.topology.contexts:
        stack = sample.of(ctx)
        own_table = set(stack.of_type("AWS::DynamoDB::Table"))
        for lid, function in stack.of_type("AWS::Lambda::Function").items():
            granted = _dynamodb_resources(stack, str(target(function["Properties"]["Role"])))
            is_api = function["Properties"]["Handler"] == f"{ctx.api_handler}.handler"
            # Then its DynamoDB permissions name its own context's table (or its stream) ...
            local = {target(r) for r in granted if target(r)} | {
                target(part) for r in granted if "Fn::Join" in r for part in r["Fn::Join"][1] if target(part)
            }
            assert local <= own_table, lid
            # ... and the foundation's idempotency table only if it is the API function of a context
            # whose routes honour Idempotency-Key
            imported = [r for r in granted if "Fn::ImportValue" in str(r)]
            assert bool(imported) == (is_api and ctx.uses_idempotency), lid
            assert all("Idempotency" in str(r) for r in imported), lid


def test_only_outbox_relays_may_put_events_on_the_bus(sample: Synthesized) -> None:
    # Given every IAM policy in the sample's context stacks
    for ctx in sample.topology.contexts:
        stack = sample.of(ctx)
        putting = {
            target(role)
            for policy in stack.of_type("AWS::IAM::Policy").values()
            if "events:PutEvents" in str(policy["Properties"]["PolicyDocument"])
            for role in policy["Properties"]["Roles"]
        }
        relays = {
            target(f["Properties"]["Role"])
            for f in stack.of_type("AWS::Lambda::Function").values()
            if f["Properties"]["Handler"].startswith("keel.outbox_relay")
        }
        # Then only the relay publishes; everyone else publishes by writing to the outbox
        assert putting == relays, ctx.name
