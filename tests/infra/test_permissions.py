"""Each function may do only its job: DynamoDB actions derived from the calls the code makes, the
authorizer reads only, a relay publishes only its own context's source, the idempotency table only
under the context's own key prefix, and ``*`` only where AWS has no resource-level permission."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as powertools_dynamodb

from infra.cloud import migrations, permissions
from infra.cloud.bundling import KERNEL, REPO_ROOT
from infra.model import Subscription, event_source, producer_of
from infra.topology import TOPOLOGY, Context
from keel import idempotency
from keel.contracts import load_all
from tests.infra.cfn import Stack, Synthesized, statements, target

#: A call of a DynamoDB client method: ``ddb.query(`` or ``self._client().batch_get_item(``.
_CLIENT_CALL = re.compile(r"\.(" + "|".join(permissions.CALL_ACTIONS) + r")\(")
_STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


#: The data migrations' code: run by each context's migration function only, never by a request.
MIGRATION_CODE = (KERNEL / "keel" / "migrations.py", KERNEL / "keel" / "migrate.py")


def calls_in(*roots: Path, leave_out: tuple[Path, ...] = MIGRATION_CODE) -> set[str]:
    """The DynamoDB client methods called anywhere in ``roots`` (shipped code only, no tests)."""
    found: set[str] = set()
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*.py"):
            if "tests" not in path.parts and path not in leave_out:
                found |= set(_CLIENT_CALL.findall(path.read_text()))
    return found


def _is_migration_function(function: dict[str, Any]) -> bool:
    return handler(function) == migrations.HANDLER


def role_statements(stack: Stack, function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the policies attached to ``function``'s role."""
    role = target(function["Properties"]["Role"])
    return [
        statement
        for policy in stack.of_type("AWS::IAM::Policy").values()
        if role in [target(r) for r in policy["Properties"]["Roles"]]
        for statement in statements(policy)
    ]


def table_actions(stack: Stack, function: dict[str, Any]) -> set[str]:
    """The DynamoDB actions ``function`` may take on its own stack's table (not its stream)."""
    tables = set(stack.of_type("AWS::DynamoDB::Table"))
    return {
        action
        for statement in role_statements(stack, function)
        if any(target(r) in tables for r in statement["Resource"])
        for action in statement["Action"]
        if action.startswith("dynamodb:")
    } - _STREAM_ACTIONS


def handler(function: dict[str, Any]) -> str:
    return str(function["Properties"]["Handler"]).removesuffix(".handler")


# -- the context's own table -------------------------------------------------------------------------


def test_the_context_table_grant_is_exactly_what_the_code_calls() -> None:
    # Given every DynamoDB call in the kernel and the contexts' code
    calls = calls_in(KERNEL / "keel", REPO_ROOT / "functions")
    assert {"get_item", "query", "transact_write_items"} <= calls
    # Then API functions, consumers and jobs get the actions of those calls, no more and no less
    assert permissions.actions_for(*calls) == permissions.CONTEXT_TABLE
    # And no request or event path may scan or batch-write
    assert not {"dynamodb:Scan", "dynamodb:BatchWriteItem"} & set(permissions.CONTEXT_TABLE)


def test_the_migration_grant_is_exactly_what_the_migrations_call() -> None:
    # Given the DynamoDB calls of the migrations' code, then their function gets those (Scan among
    # them) and the table's description (its item count for the progress bar), no more
    calls = calls_in(*MIGRATION_CODE, leave_out=()) | {"get_item", "transact_write_items"}  # + the store's helpers
    assert "scan" in calls
    assert set(permissions.MIGRATIONS) == {*permissions.actions_for(*calls), "dynamodb:DescribeTable"}


def test_the_idempotency_grant_is_exactly_what_powertools_calls() -> None:
    # Given the calls Powertools' DynamoDB persistence layer makes on its table
    calls = set(re.findall(r"self\.client\.(\w+)\(", inspect.getsource(powertools_dynamodb)))
    # Then the idempotency grant is their actions
    assert permissions.actions_for(*calls) == permissions.IDEMPOTENCY_RECORDS


def test_each_function_is_granted_its_jobs_actions_on_its_own_table(sample: Synthesized) -> None:
    topology = sample.topology
    checked = 0
    # Given every function of every context that owns a table
    for ctx in (c for c in topology.contexts if c.table):
        stack = sample.of(ctx)
        for lid, function in stack.of_type("AWS::Lambda::Function").items():
            granted = table_actions(stack, function)
            # Then the authorizer may only look items up, the relay only read the stream, and the
            # other functions exactly what the store helpers call
            if handler(function) == topology.authorizer_handler:
                assert granted == set(permissions.AUTHORIZER_TABLE), lid
            elif handler(function) == topology.outbox_relay_handler:
                assert granted == set(), lid
            elif _is_migration_function(function):
                assert granted == set(permissions.MIGRATIONS), lid
            else:
                assert granted == set(permissions.CONTEXT_TABLE), lid
            checked += 1
    assert checked >= 5


def test_no_function_but_the_migrations_may_scan_and_none_batch_write_or_use_a_wildcard_action(
    synthesized: Synthesized,
) -> None:
    migration_roles = {
        (stack.name, target(function["Properties"]["Role"]))
        for stack, _, function in synthesized.every("AWS::Lambda::Function")
        if _is_migration_function(function)
    }
    assert len(migration_roles) == sum(ctx.table for ctx in synthesized.topology.contexts)
    # Given every IAM policy of the app
    for stack, lid, policy in synthesized.every("AWS::IAM::Policy"):
        roles = {(stack.name, target(role)) for role in policy["Properties"].get("Roles", [])}
        for statement in statements(policy):
            # Then none grants a batch write or every action of a service, and only a migration function's a scan
            assert "dynamodb:BatchWriteItem" not in statement["Action"], lid
            assert ("dynamodb:Scan" not in statement["Action"]) or roles <= migration_roles, lid
            assert not [a for a in statement["Action"] if a.endswith(":*") or a == "*"], (stack.name, lid)


def test_only_actions_without_resource_level_permissions_name_every_resource(synthesized: Synthesized) -> None:
    # Given every statement of every IAM policy
    for stack, lid, policy in synthesized.every("AWS::IAM::Policy"):
        for statement in statements(policy):
            # Then "Resource: *" appears only for X-Ray's and DynamoDB Streams' listing actions
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= permissions.WITHOUT_RESOURCES, (stack.name, lid, statement)


# -- the event bus -----------------------------------------------------------------------------------


def test_a_relay_may_put_events_only_with_its_own_contexts_source(synthesized: Synthesized) -> None:
    # Given every statement that allows PutEvents, in every context stack
    for ctx in synthesized.topology.contexts:
        stack = synthesized.of(ctx)
        putting = [
            s
            for f in stack.of_type("AWS::Lambda::Function").values()
            for s in role_statements(stack, f)
            if "events:PutEvents" in s["Action"]
        ]
        assert len(putting) == (1 if ctx.table else 0), ctx.name
        for statement in putting:
            # Then it holds only for the context's own source
            assert statement["Condition"] == {"StringEquals": {"events:source": f"keel.{ctx.name}"}}


def test_every_rule_pattern_names_the_source_of_the_events_it_takes(synthesized: Synthesized) -> None:
    # Given every subscription's bus rule
    for ctx, sub in synthesized.topology.subscriptions:
        if sub.is_work_queue:  # fed by its own context: no rule
            continue
        (rule,) = [
            r["Properties"]
            for r in synthesized.of(ctx).of_type("AWS::Events::Rule").values()
            if r["Properties"].get("Name") == ctx.rule_name(sub)
        ]
        # Then it matches only the producers' source: another context's relay cannot feed it
        expected: list[object] = sorted({f"keel.{t.split('.')[0]}" for t in sub.event_types})
        if "*" in sub.event_types:  # every Keel event: every keel.* source, and no other
            expected = [{"prefix": "keel."}]
        if sub.aws_source:  # an AWS service's events: only AWS can put its aws.* source
            expected = [sub.aws_source]
        assert rule["EventPattern"]["source"] == expected, sub.name


def test_a_subscription_to_every_event_matches_every_keel_source() -> None:
    everything = Subscription(name="audit", handler="functions.audit.handlers.on", event_types=("*",))
    assert everything.event_pattern == {"source": [{"prefix": "keel."}]}


def test_the_rule_source_is_the_one_the_kernel_publishes_each_contract_with() -> None:
    # Given every event contract the kernel knows
    contracts = load_all().all()
    assert contracts
    for contract in contracts:
        # Then the topology's source for its type is the source its envelope is published with
        assert event_source(producer_of(contract.TYPE)) == contract.source(), contract.TYPE


# -- the idempotency table ---------------------------------------------------------------------------


def _idempotency_statements(sample: Synthesized, ctx: Context) -> list[dict[str, Any]]:
    stack = sample.of(ctx)
    return [
        s
        for f in stack.of_type("AWS::Lambda::Function").values()
        for s in role_statements(stack, f)
        if any("Idempotency" in str(r) for r in s["Resource"])
    ]


def test_only_contexts_with_idempotent_routes_reach_the_idempotency_table(sample: Synthesized) -> None:
    using = [ctx for ctx in sample.topology.contexts if ctx.uses_idempotency]
    assert using
    assert len(using) < len(sample.topology.contexts)
    # Given each context of the sample, then only those that use idempotency have a grant on the table
    for ctx in sample.topology.contexts:
        assert bool(_idempotency_statements(sample, ctx)) == ctx.uses_idempotency, ctx.name


def test_a_context_reaches_only_its_own_idempotency_records(sample: Synthesized) -> None:
    for ctx in (c for c in sample.topology.contexts if c.uses_idempotency):
        (statement,) = _idempotency_statements(sample, ctx)
        # Then it may read and write records, only under the key prefix the kernel gives its records
        assert statement["Action"] == list(permissions.IDEMPOTENCY_RECORDS)
        leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert leading == [f"{idempotency.record_prefix(ctx.name)}*"]


def test_the_topology_names_exactly_the_contexts_whose_routes_use_idempotency() -> None:
    # Given the real contexts' API modules, once imported (their routes register themselves)
    for ctx in TOPOLOGY.contexts:
        if ctx.api_handler:
            importlib.import_module(ctx.api_handler)
    # Then a context uses idempotency in its code exactly when the topology says so (and so is granted it)
    with_api = {ctx.name for ctx in TOPOLOGY.contexts if ctx.api_handler}
    assert {ctx.name for ctx in TOPOLOGY.contexts if ctx.uses_idempotency} == idempotency.services() & with_api
