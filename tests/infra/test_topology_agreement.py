"""Topology and template agree both ways: everything the topology lists exists, and everything the
template holds is something the topology lists. The local runtime's names and event patterns are the
reference, so the cloud and ``keel dev`` cannot drift apart."""

from __future__ import annotations

import json
from typing import Any

from infra.cloud import migrations
from infra.topology import Context, Topology
from tests.infra.cfn import Stack, Synthesized, target
from tests.infra.conftest import STAGES


def _handlers(topology: Topology, ctx: Context) -> set[str]:
    """Every Lambda handler module a context runs, as the topology names them."""
    modules = {ctx.api_handler, *(s.handler for s in ctx.subscriptions), *(j.handler for j in ctx.jobs)}
    modules |= {e.handler for e in ctx.endpoints}
    # A context with a table publishes through its outbox and migrates its data (the kernel's handlers)
    modules |= {topology.outbox_relay_handler, migrations.HANDLER} if ctx.table else set()
    authorizer = topology.authorizer_handler
    modules |= {authorizer} if authorizer and topology.authorizer_context is ctx else set()
    return {m for m in modules if m}


def _dead_letter_names(ctx: Context) -> set[str]:
    names = {ctx.dlq_name(item) for item in (*ctx.subscriptions, *ctx.jobs)}
    return names | ({ctx.outbox_dlq_name} if ctx.table else set())


def _queue_names(stack: Stack) -> set[str]:
    return {q["Properties"]["QueueName"] for q in stack.of_type("AWS::SQS::Queue").values()}


def _rules(stack: Stack) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["Name"]: r["Properties"] for r in stack.of_type("AWS::Events::Rule").values()}


# --- topology -> template ---------------------------------------------------------------------------


def test_every_context_has_its_stack_and_the_foundation_its_bus_and_archive(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    # Given the topology, then each context has a stack, and the foundation holds the bus and its archive
    assert {ctx.stack_name for ctx in topology.contexts} <= set(synthesized.stacks)
    foundation = synthesized.foundation.assertions
    foundation.has_resource_properties("AWS::Events::EventBus", {"Name": topology.bus_name})
    retention = STAGES[str(topology.stage)]["archive_retention_days"]
    foundation.has_resource_properties("AWS::Events::Archive", {"RetentionDays": retention})


def test_every_subscription_has_its_rule_queue_and_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given each subscription
    for ctx, sub in synthesized.topology.subscriptions:
        stack = synthesized.of(ctx)
        name = ctx.queue_name(sub)
        # Then its queue and DLQ exist under the local runtime's names
        assert {name, ctx.dlq_name(sub)} <= _queue_names(stack)
        if sub.is_work_queue:  # fed by its context: no rule
            assert ctx.rule_name(sub) not in _rules(stack)
            continue
        # And its rule, on the bus, matches the same events the local runtime's rule matches, into its queue
        rule = _rules(stack)[ctx.rule_name(sub)]
        assert json.loads(json.dumps(rule["EventPattern"])) == sub.event_pattern
        (rule_target,) = rule["Targets"]
        queue = target(rule_target["Arn"])
        assert stack.props(str(queue))["QueueName"] == name


def test_every_job_runs_its_handler_on_its_schedule(synthesized: Synthesized) -> None:
    for ctx, job in synthesized.topology.jobs:
        stack = synthesized.of(ctx)
        # Given a job, then a rule fires on its schedule into the function running its handler
        rule = _rules(stack)[ctx.rule_name(job)]
        assert rule["ScheduleExpression"] == job.schedule
        (rule_target,) = rule["Targets"]
        assert stack.props(stack.function_behind(rule_target["Arn"]))["Handler"] == f"{job.handler}.handler"


def test_every_table_and_api_prefix_exists(synthesized: Synthesized) -> None:
    paths = set(synthesized.api.api_paths().values())
    for ctx in synthesized.topology.contexts:
        # Given a context, then its table exists in its stack, and each of its prefixes is an API resource
        stack = synthesized.of(ctx)
        tables = {t["Properties"]["TableName"] for t in stack.of_type("AWS::DynamoDB::Table").values()}
        assert tables == ({ctx.table_name} if ctx.table else set())
        assert set(ctx.api_prefixes) <= paths


# --- template -> topology ---------------------------------------------------------------------------


def test_every_table_is_a_context_table_or_the_idempotency_table(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    known = {ctx.table_name for ctx in topology.contexts if ctx.table} | {topology.idempotency_table}
    # Given every table in every template, then the topology lists it
    assert {t["Properties"]["TableName"] for _, _, t in synthesized.every("AWS::DynamoDB::Table")} == known


def test_every_queue_and_rule_belongs_to_a_subscription_job_or_outbox(synthesized: Synthesized) -> None:
    for ctx in synthesized.topology.contexts:
        stack = synthesized.of(ctx)
        subscriptions = {ctx.queue_name(sub) for sub in ctx.subscriptions}
        # Given a context stack, then its queues are its subscriptions' and its DLQs, nothing else
        assert _queue_names(stack) == subscriptions | _dead_letter_names(ctx)
        # And its rules are its subscriptions' and its jobs'
        fed_by_rules = [sub for sub in ctx.subscriptions if not sub.is_work_queue]
        assert set(_rules(stack)) == {ctx.rule_name(item) for item in (*fed_by_rules, *ctx.jobs)}
    # And no other stack has queues or rules of its own
    context_stacks = {ctx.stack_name for ctx in synthesized.topology.contexts}
    for name, stack in synthesized.stage_stacks().items():
        if name not in context_stacks:
            assert not stack.of_type("AWS::SQS::Queue"), name
            assert not stack.of_type("AWS::Events::Rule"), name


def test_every_function_runs_a_handler_the_topology_names(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    for ctx in topology.contexts:
        functions = synthesized.of(ctx).of_type("AWS::Lambda::Function").values()
        handlers = {function["Properties"]["Handler"] for function in functions}
        # Given a context stack, then its functions are exactly the handlers the topology gives the context
        assert handlers == {f"{module}.handler" for module in _handlers(topology, ctx)}, ctx.name
    # And no stack has functions of its own beyond those
    count = sum(len(s.of_type("AWS::Lambda::Function")) for s in synthesized.stage_stacks().values())
    assert count == sum(len(_handlers(topology, ctx)) for ctx in topology.contexts)


def test_every_api_method_is_a_declared_route_or_a_prefix_catch_all(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    # Given every method of the API but CORS preflights (API Gateway answers those itself)
    for method, path, _ in synthesized.api.methods():
        if topology.endpoint_for(path) is not None:  # an endpoint's own function serves it
            continue
        ctx = topology.api_context_for(path)
        # Then a context owns its path, and it is a public or tenant-less route of it, or one of its catch-alls
        assert ctx is not None, path
        catch_alls = {p for prefix in ctx.api_prefixes for p in (prefix, f"{prefix}/{{proxy+}}")}
        declared = topology.is_public(method, path) or topology.is_tenantless(method, path)
        assert declared or (method == "ANY" and path in catch_alls), (method, path)
