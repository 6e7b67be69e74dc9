"""One client cannot throttle every tenant: a web ACL on the stage, a usage plan per rate tier, each
tenant counted against its own key, and only the functions that make keys may make them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import permissions
from infra.model import USAGE_KEYS_JOB
from keel.contracts.billing import EntitlementsChanged
from keel.rate_tiers import RATE_TIERS, SHARED_TIER
from tests.infra.cfn import Stack, Synthesized, statements, target


def _web_acl(synthesized: Synthesized) -> dict[str, Any]:
    (acl,) = synthesized.api.of_type("AWS::WAFv2::WebACL").values()
    return dict(acl["Properties"])


def _rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in _web_acl(synthesized)["Rules"]}


def test_the_web_acl_guards_the_apis_stage(synthesized: Synthesized) -> None:
    # Given the API stack's one web ACL and its association
    (acl,) = synthesized.api.of_type("AWS::WAFv2::WebACL")
    (association,) = synthesized.api.of_type("AWS::WAFv2::WebACLAssociation").values()
    (stage,) = synthesized.api.of_type("AWS::ApiGateway::Stage")
    # Then it is regional and associated with the API's stage
    assert _web_acl(synthesized)["Scope"] == "REGIONAL"
    assert target(association["Properties"]["WebACLArn"]) == acl
    assert stage in json.dumps(association["Properties"]["ResourceArn"])


def test_the_web_acl_limits_each_address_and_runs_awss_common_and_bad_input_rules(synthesized: Synthesized) -> None:
    rules = _rules(synthesized)
    # Then one rule limits every request of an address, and AWS's two rule sets run as AWS wrote them
    per_ip = rules["PerIp"]["Statement"]["RateBasedStatement"]
    assert (per_ip["AggregateKeyType"], per_ip["Limit"]) == ("IP", 3000)
    assert "ScopeDownStatement" not in per_ip
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", group)
        assert rules[group]["OverrideAction"] == {"None": {}}
    # And every rule is measured and sampled
    for rule in rules.values():
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True


def test_public_and_tenantless_writes_are_held_to_a_tighter_rate(synthesized: Synthesized) -> None:
    # Given the writes the topology lets anyone send without a tenant (the sample's Stripe webhook too)
    writes = {route.path for route in synthesized.topology.abuse_prone_routes}
    assert "/v1/tenants" in writes
    # When the tighter rule's scope is read
    rule = _rules(synthesized)["PublicWritesPerIp"]["Statement"]["RateBasedStatement"]
    scope = rule["ScopeDownStatement"]
    matches = (
        [s["ByteMatchStatement"] for s in scope["OrStatement"]["Statements"]]
        if "OrStatement" in scope
        else [scope["ByteMatchStatement"]]
    )
    # Then it counts requests to exactly those paths, per address, at a lower limit than the per-address rule
    assert {m["SearchString"] for m in matches} == writes
    assert all(m["FieldToMatch"] == {"UriPath": {}} and m["PositionalConstraint"] == "ENDS_WITH" for m in matches)
    assert rule["AggregateKeyType"] == "IP"
    assert rule["Limit"] < _rules(synthesized)["PerIp"]["Statement"]["RateBasedStatement"]["Limit"]


def test_the_stripe_webhook_is_among_the_tighter_paths_when_a_context_serves_it(sample: Synthesized) -> None:
    assert "/webhooks/stripe" in {route.path for route in sample.topology.abuse_prone_routes}


def test_a_rate_block_answers_429_in_the_error_shape_with_retry_after(synthesized: Synthesized) -> None:
    acl = _web_acl(synthesized)
    for name in ("PerIp", "PublicWritesPerIp"):
        # Given a rate rule's block
        response = _rules(synthesized)[name]["Action"]["Block"]["CustomResponse"]
        # Then it answers 429, tells when to retry, and its body is Keel's error shape
        assert response["ResponseCode"] == 429
        assert {"Name": "Retry-After", "Value": "300"} in response["ResponseHeaders"]
        body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        assert json.loads(body["Content"])["error"]["code"] == "rate_limited"


# -- usage plans ---------------------------------------------------------------------------------------


def _usage_plans(sample: Synthesized) -> dict[str, dict[str, Any]]:
    return {lid: p["Properties"] for lid, p in sample.api.of_type("AWS::ApiGateway::UsagePlan").items()}


def test_each_rate_tier_is_a_usage_plan_on_the_stage_with_its_limits(sample: Synthesized) -> None:
    plans = {props["UsagePlanName"]: props for props in _usage_plans(sample).values()}
    (stage,) = sample.api.of_type("AWS::ApiGateway::Stage")
    assert len(plans) == len(RATE_TIERS) + 1
    for tier in (*RATE_TIERS.values(), SHARED_TIER):
        # Then the tier's plan throttles each key at the tier's rate and burst, and counts its daily quota
        plan = plans[sample.topology.usage_plan_name(tier.name)]
        assert plan["Throttle"] == {"RateLimit": tier.rate_per_second, "BurstLimit": tier.burst}
        assert plan.get("Quota") == (
            {"Limit": tier.requests_per_day, "Period": "DAY"} if tier.requests_per_day else None
        )
        (api_stage,) = plan["ApiStages"]
        assert target(api_stage["Stage"]) == stage


def test_the_stage_ceiling_is_above_every_tiers_budget(sample: Synthesized) -> None:
    # Given the stage's method settings for every path and method
    (stage,) = sample.api.of_type("AWS::ApiGateway::Stage").values()
    (defaults,) = (m for m in stage["Properties"]["MethodSettings"] if m["ResourcePath"] == "/*")
    # Then one tenant on the largest tier can spend its whole budget: the stage never throttles it first
    for tier in (*RATE_TIERS.values(), SHARED_TIER):
        assert defaults["ThrottlingRateLimit"] >= tier.rate_per_second
        assert defaults["ThrottlingBurstLimit"] >= tier.burst


def test_the_shared_plan_holds_the_stages_shared_key_which_identity_names_for_tenants_without_one(
    sample: Synthesized,
) -> None:
    # Given the stage's API keys made by the stack, and the usage plans they are put in
    keys = sample.api.of_type("AWS::ApiGateway::ApiKey")
    plan_keys = [k["Properties"] for k in sample.api.of_type("AWS::ApiGateway::UsagePlanKey").values()]
    # Then there is one, the shared key, in the shared tier's plan only
    ((key_id, key),) = keys.items()
    assert key["Properties"]["Value"] == sample.topology.shared_usage_key
    ((plan_key),) = plan_keys
    assert target(plan_key["KeyId"]) == key_id
    shared_plan = sample.api.props(target(plan_key["UsagePlanId"]))
    assert shared_plan["UsagePlanName"] == sample.topology.usage_plan_name(SHARED_TIER.name)
    # And identity's functions are told its value (the authorizer names it), no other context's
    owner = sample.topology.authorizer_context
    assert owner is not None
    for stack, _, function in sample.every("AWS::Lambda::Function"):
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        told = variables.get(owner.setting_name("SHARED_USAGE_KEY"))
        assert told == (sample.topology.shared_usage_key if stack.name == owner.stack_name else None), stack.name


def test_the_api_takes_keys_from_the_authorizer_and_requires_one_on_tenant_routes_only(sample: Synthesized) -> None:
    (api,) = sample.api.of_type("AWS::ApiGateway::RestApi").values()
    # Then callers never send a key: the authorizer names the tenant's
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    # And tenant routes require one, while public, tenant-less and operators' routes do not
    tenant_authorizer = next(
        lid
        for lid, a in sample.api.of_type("AWS::ApiGateway::Authorizer").items()
        if "X-Tenant-Id" in a["Properties"]["IdentitySource"]
    )
    checked = 0
    for _, _, method in sample.api.methods():
        tenant_route = target(method.get("AuthorizerId")) == tenant_authorizer
        assert method.get("ApiKeyRequired", False) is tenant_route, method
        checked += tenant_route
    assert checked > 0


def test_identity_finds_the_usage_plans_ids_by_tier_in_the_parameter_it_is_told(sample: Synthesized) -> None:
    name = sample.topology.usage_plans_parameter
    (parameter,) = (p for p in sample.api.of_type("AWS::SSM::Parameter").values() if p["Properties"]["Name"] == name)
    value = json.dumps(parameter["Properties"]["Value"])
    assert all(f'\\"{tier}\\":' in value for tier in RATE_TIERS)
    tiers = {sample.topology.usage_plan_name(tier) for tier in RATE_TIERS}
    assert all(lid in value for lid, plan in _usage_plans(sample).items() if plan["UsagePlanName"] in tiers)
    owner = sample.topology.authorizer_context
    assert owner is not None
    for stack, _, function in sample.every("AWS::Lambda::Function"):
        told = (
            function["Properties"]
            .get("Environment", {})
            .get("Variables", {})
            .get(owner.setting_name("USAGE_PLANS_PARAMETER"))
        )
        assert told == (name if stack.name == owner.stack_name else None), stack.name


@pytest.mark.parametrize("response_type", ["THROTTLED", "QUOTA_EXCEEDED"])
def test_a_throttled_tenant_is_answered_429_with_retry_after(synthesized: Synthesized, response_type: str) -> None:
    (response,) = (
        r["Properties"]
        for r in synthesized.api.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == response_type
    )
    assert response.get("StatusCode", "429") == "429"
    assert int(response["ResponseParameters"]["gatewayresponse.header.Retry-After"].strip("'")) >= 1
    rendered = response["ResponseTemplates"]["application/json"].replace("$context.", "")
    assert json.loads(rendered.replace("error.messageString", '"slow down"'))["error"]["code"] == "rate_limited"


# -- who may make keys ----------------------------------------------------------------------------------


def _key_grants(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    return [
        (lid, statement)
        for lid, policy in stack.of_type("AWS::IAM::Policy").items()
        for statement in statements(policy)
        if any(a.startswith("apigateway:") for a in statement["Action"])
        and "/restapis/" not in json.dumps(statement["Resource"])
    ]


def test_only_the_plan_change_consumer_and_the_usage_keys_job_may_make_keys_as_the_code_does(
    sample: Synthesized,
) -> None:
    owner = sample.topology.authorizer_context
    assert owner is not None
    consumers = [s for s in owner.subscriptions if EntitlementsChanged.TYPE in s.event_types]
    assert consumers
    assert [j.name for j in owner.jobs if j.name == USAGE_KEYS_JOB] == [USAGE_KEYS_JOB]
    # Given every grant of an API Gateway call outside a stage, in every stack
    grants = [(stack, lid, s) for stack in sample.stacks.values() for lid, s in _key_grants(stack)]
    # Then they are all in the API stack, on identity's plan-change consumers' and usage-keys job's roles
    roles = {json.dumps(sample.api.props(lid)["Roles"]) for stack, lid, _ in grants if stack is sample.api}
    assert {stack.name for stack, _, _ in grants} == {sample.topology.api_stack_name}
    # (sign-up is not among them: it never calls API Gateway's control plane)
    assert len(roles) == len(consumers) + 1
    assert all(owner.stack_name in role for role in roles)
    # And each role may make exactly the calls the adapter makes: no delete, no update, no "*"
    allowed = {(a, path) for a, path in permissions.USAGE_PLAN_CALLS}
    for _, _, statement in grants:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                text = json.dumps(resource)
                assert "*" not in text
                assert any(a == action and path.split("{plan}")[0] in text for a, path in allowed), statement


def test_the_authorizer_may_not_make_keys(sample: Synthesized) -> None:
    owner = sample.topology.authorizer_context
    assert owner is not None
    for stack in sample.stacks.values():
        for lid, _ in _key_grants(stack):
            assert "Authorizer" not in json.dumps(stack.props(lid)["Roles"]), lid
