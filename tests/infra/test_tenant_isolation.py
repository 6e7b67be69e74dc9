"""Tenant isolation enforced by IAM (``keel.isolation``, ``infra/cloud/isolation.py``): each context's
tenant-access role, who may assume it and how, what it may touch, and the same patterns handed to the
functions that act for tenants. The synthesized policy itself is evaluated against sample keys, so the
cloud's condition and the local check cannot drift apart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.billing.adapters import items as billing
from functions.identity.adapters import keys as identity
from functions.notifications.adapters import store as notifications
from functions.projects.adapters import keys as projects
from functions.reporting.adapters import keys as reporting
from infra.cloud import permissions
from infra.model import TENANT_KEYS_SETTING, TENANT_ROLE_SETTING
from infra.topology import Context
from keel import isolation
from keel.store import to_attributes
from tests.infra.cfn import Stack, Synthesized, target

ME, OTHER = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA", "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
#: IAM's default quota on a role's trust policy, in characters without whitespace.
TRUST_POLICY_LIMIT = 2048
#: The longest ARN a function's role can have (role names are at most 64 characters).
LONGEST_ROLE_ARN = "arn:aws-us-gov:iam::123456789012:role/" + "r" * 64


def acting_contexts(keel: Synthesized) -> list[Context]:
    return [ctx for ctx in keel.topology.contexts if ctx.acts_for_tenants]


def tenant_role(stack: Stack, ctx: Context) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, role)
        for lid, role in stack.of_type("AWS::IAM::Role").items()
        if role["Properties"].get("RoleName") == ctx.tenant_role_name
    ]
    return found


def role_statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in stack.of_type("AWS::IAM::Policy").values()
        if role in [target(r) for r in policy["Properties"]["Roles"]]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def granted_keys(stack: Stack, ctx: Context) -> list[str]:
    """The ``dynamodb:LeadingKeys`` patterns of ``ctx``'s tenant-access role, as synthesized."""
    lid, _ = tenant_role(stack, ctx)
    (statement,) = role_statements(stack, lid)
    return list(statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])


def acting_functions(stack: Stack, ctx: Context) -> set[str]:
    """The logical ids of ``ctx``'s API function and consumers' functions."""
    names = {ctx.api_function_name} | {ctx.function_name(sub) for sub in ctx.subscriptions}
    return {
        lid
        for lid, function in stack.of_type("AWS::Lambda::Function").items()
        if function["Properties"].get("FunctionName") in names
    }


def rendered(value: Any) -> str:
    """A string, or an ``Fn::Join`` of strings and references (each reference as ``<ref>``)."""
    if isinstance(value, str):
        return value
    return "".join(part if isinstance(part, str) else "<ref>" for part in value["Fn::Join"][1])


def test_each_context_acting_for_tenants_has_a_tenant_role_only_its_api_and_consumers_may_assume_with_the_tag(
    keel: Synthesized,
) -> None:
    assert {c.name for c in acting_contexts(keel)} == {"identity", "billing", "notifications", "projects", "reporting"}
    for ctx in acting_contexts(keel):
        stack = keel.of(ctx)
        _, role = tenant_role(stack, ctx)
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        functions = stack.of_type("AWS::Lambda::Function")
        expected = {target(functions[lid]["Properties"]["Role"]) for lid in acting_functions(stack, ctx)}
        assert {target(p) for p in trust["Principal"]["AWS"]} == expected, ctx.name
        assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        assert trust["Condition"] == {
            "StringLike": {"aws:RequestTag/tenant_id": "?*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id"]},
        }


def test_each_function_that_acts_for_tenants_may_assume_its_contexts_tenant_role_and_tag_the_session(
    keel: Synthesized,
) -> None:
    for ctx in acting_contexts(keel):
        stack = keel.of(ctx)
        role, _ = tenant_role(stack, ctx)
        functions = stack.of_type("AWS::Lambda::Function")
        for lid in acting_functions(stack, ctx):
            own_role = target(functions[lid]["Properties"]["Role"])
            assuming = [
                sorted(s["Action"])
                for s in role_statements(stack, str(own_role))
                if target(s["Resource"]) == role and "sts:AssumeRole" in s["Action"]
            ]
            assert assuming == [["sts:AssumeRole", "sts:TagSession"]], lid


def test_the_tenant_role_may_do_what_the_functions_do_on_its_own_table_only_under_the_contexts_leading_keys(
    keel: Synthesized,
) -> None:
    for ctx in acting_contexts(keel):
        stack = keel.of(ctx)
        lid, _ = tenant_role(stack, ctx)
        (statement,) = role_statements(stack, lid)
        (table,) = stack.of_type("AWS::DynamoDB::Table")
        assert statement["Effect"] == "Allow"
        assert sorted(statement["Action"]) == sorted(permissions.CONTEXT_TABLE)
        assert target(statement["Resource"]) == table
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(ctx.tenant_leading_keys())}
        }


def test_what_acts_for_tenants_is_told_its_role_and_exactly_the_keys_the_role_grants_and_nothing_else_is(
    keel: Synthesized,
) -> None:
    for ctx in acting_contexts(keel):
        stack = keel.of(ctx)
        acting = acting_functions(stack, ctx)
        for lid, function in stack.of_type("AWS::Lambda::Function").items():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            if lid not in acting:  # jobs, the relay, migrations, the authorizer, webhook receivers
                assert TENANT_ROLE_SETTING not in variables, lid
                continue
            assert rendered(variables[TENANT_ROLE_SETTING]).endswith(f":role/{ctx.tenant_role_name}"), lid
            assert json.loads(variables[TENANT_KEYS_SETTING]) == {ctx.table_name: granted_keys(stack, ctx)}, lid


#: Sample keys of each context's own code: whether tenant ``ME``'s credentials may read each.
SAMPLES: list[tuple[str, dict[str, str], bool]] = [
    ("identity", identity.tenant_key(ME), True),
    ("identity", identity.member_key(ME, "usr_1"), True),
    ("identity", identity.slug_key("acme"), True),
    ("identity", identity.user_membership_key("usr_1", ME), True),
    ("identity", identity.tenant_key(OTHER), False),
    ("identity", identity.tenant_key(f"{ME}0"), False),
    ("identity", identity.sweep_key(), False),
    ("billing", billing.account_key(ME), True),
    ("billing", billing.customer_key("cus_1"), True),
    ("billing", billing.linked_key(ME), True),
    ("billing", billing.account_key(OTHER), False),
    ("billing", billing.event_key("evt_1"), False),
    ("billing", billing.SWEEP, False),
    ("notifications", notifications.member_key(ME, "usr_1"), True),
    ("notifications", notifications.summary_key(ME, "usr_1"), True),
    ("notifications", notifications.member_key(OTHER, "usr_1"), False),
    ("projects", projects.project_key(ME, "prj_1"), True),
    ("projects", projects.task_key(ME, "prj_1", "tsk_1"), True),
    ("projects", projects.name_claim(ME, "Apollo"), True),
    ("projects", projects.project_key(OTHER, "prj_1"), False),
    ("projects", projects.task_key(OTHER, "prj_1", "tsk_1"), False),
    ("reporting", reporting.summary(1, ME), True),
    ("reporting", reporting.activity(2, ME, "2026-01-01", "evt_1"), True),
    ("reporting", reporting.POINTER, True),
    ("reporting", reporting.month(1, "2026-01", "usd"), True),
    ("reporting", reporting.summary(1, OTHER), False),
    ("reporting", reporting.activity(2, OTHER, "2026-01-01", "evt_1"), False),
]


@pytest.mark.parametrize(("context", "key", "allowed"), SAMPLES)
def test_the_synthesized_policy_lets_a_tenant_reach_its_own_keys_and_lookups_never_another_tenants(
    keel: Synthesized, context: str, key: dict[str, str], allowed: bool
) -> None:
    ctx = keel.topology.context(context)
    keys = {ctx.table_name: granted_keys(keel.of(ctx), ctx)}
    request = {"TableName": ctx.table_name, "Key": to_attributes(key)}
    assert (isolation.refusal("GetItem", request, keys, ME) is None) is allowed


def test_every_tenant_role_trust_policy_fits_iams_quota_whatever_its_functions_roles_are_named(
    keel: Synthesized,
) -> None:
    for ctx in acting_contexts(keel):
        _, role = tenant_role(keel.of(ctx), ctx)
        document = role["Properties"]["AssumeRolePolicyDocument"]
        text = json.dumps(document, separators=(",", ":"))
        for reference in document["Statement"][0]["Principal"]["AWS"]:
            text = text.replace(json.dumps(reference, separators=(",", ":")), json.dumps(LONGEST_ROLE_ARN))
        assert len(text) <= TRUST_POLICY_LIMIT, (ctx.name, len(text))
