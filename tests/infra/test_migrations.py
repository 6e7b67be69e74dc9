"""A deploy runs each context's pending data migrations before any of its functions takes traffic."""

from __future__ import annotations

from typing import Any

from infra.cloud import migrations
from infra.model import Context
from tests.infra.cfn import Stack, Synthesized, target


def _migration_function(stack: Stack, ctx: Context) -> tuple[str, dict[str, Any]]:
    ((lid, function),) = [
        (lid, f["Properties"])
        for lid, f in stack.of_type("AWS::Lambda::Function").items()
        if f["Properties"]["FunctionName"] == ctx.migrations_function_name
    ]
    return lid, function


def test_each_context_with_a_table_has_a_migration_function_nothing_but_cloudformation_calls(
    synthesized: Synthesized,
) -> None:
    for ctx in (c for c in synthesized.topology.contexts if c.table):
        stack = synthesized.of(ctx)
        lid, function = _migration_function(stack, ctx)
        # Given the context's migration function, then it runs the kernel's runner on its own table's migrations
        assert function["Handler"] == f"{migrations.HANDLER}.handler"
        env = function["Environment"]["Variables"]
        assert (env["KEEL_MIGRATIONS_TABLE"], env["KEEL_MIGRATIONS_PACKAGE"]) == (
            ctx.table_name,
            ctx.migrations_package,
        )
        # And it takes no traffic: no alias, no event source, no schedule
        aliased = {target(a["Properties"]["FunctionName"]) for a in stack.of_type("AWS::Lambda::Alias").values()}
        assert lid not in aliased
        assert lid not in str(stack.of_type("AWS::Lambda::EventSourceMapping"))
        assert lid not in str(stack.of_type("AWS::Events::Rule"))


def test_every_deploy_migrates_before_any_of_the_contexts_traffic_shifts(synthesized: Synthesized) -> None:
    for ctx in (c for c in synthesized.topology.contexts if c.table):
        stack = synthesized.of(ctx)
        function, _ = _migration_function(stack, ctx)
        ((run, resource),) = stack.of_type(migrations.RESOURCE_TYPE).items()
        # Given the custom resource CloudFormation updates on each deploy, then the migration function serves it,
        # with the migrations the repository holds (a new one changes it, so the deploy runs it)
        props = resource["Properties"]
        assert target(props["ServiceToken"]) == function
        assert props["Migrations"] == migrations.migration_ids(ctx)
        assert int(props["ServiceTimeout"]) == int(migrations.DEPLOY_WAIT.to_seconds())
        # And no alias, so no traffic shift, starts before it has finished
        aliases = stack.of_type("AWS::Lambda::Alias")
        assert aliases
        for lid, alias in aliases.items():
            assert run in alias.get("DependsOn", []), lid


def test_identitys_backfill_is_named_by_its_deploy(keel: Synthesized) -> None:
    identity = keel.topology.context("identity")
    ((_, resource),) = keel.of(identity).of_type(migrations.RESOURCE_TYPE).items()
    assert "0001_tenant_schema_version" in resource["Properties"]["Migrations"]


def test_a_long_migration_may_hand_over_to_its_own_function_only(synthesized: Synthesized) -> None:
    for ctx in (c for c in synthesized.topology.contexts if c.table):
        stack = synthesized.of(ctx)
        _, function = _migration_function(stack, ctx)
        role = target(function["Role"])
        invoking = [
            statement
            for policy in stack.of_type("AWS::IAM::Policy").values()
            if role in [target(r) for r in policy["Properties"]["Roles"]]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "lambda:InvokeFunction" in str(statement["Action"])
        ]
        (statement,) = invoking
        assert f":function:{ctx.migrations_function_name}" in str(statement["Resource"])
