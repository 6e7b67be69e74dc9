"""What keeps one client from throttling every tenant: a web ACL in front of the stage, and a usage
plan per rate tier behind the authorizer.

- The web ACL (WAFv2, regional) blocks, per client IP, more than ``keel:api`` ``waf_rate_limit``
  requests in its window, and more than ``waf_public_write_rate_limit`` to the writes anyone may send
  without a tenant (the topology's ``abuse_prone_routes``: sign-up, accepting an invitation,
  webhooks); AWS's common and known-bad-inputs rule sets block the rest. Its rate refusals are in
  Keel's error shape: 429 with ``Retry-After`` for a rate.
- A usage plan per rate tier (``keel.rate_tiers``) on the stage: API Gateway counts a tenant's
  requests against the key the authorizer names for it (``usageIdentifierKey``), so a tenant over its
  rate is throttled and the others are not. Identity keeps each tenant's key in its tier's plan; it
  finds the plans' ids in an SSM parameter written here (identity's stack is deployed first). One more
  plan, the shared tier's, holds the stage's shared key (``Topology.shared_usage_key``): the budget of
  every tenant without a key of its own yet (those of a stage deployed before usage plans, until
  identity's hourly ``usage-keys`` job has made theirs), with the limits the whole stage had before.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

if TYPE_CHECKING:
    from infra.cloud.constructs import ContextFunction
    from infra.cloud.stacks import ContextStack

from infra.cloud import permissions
from infra.cloud.deployment import ApiSettings
from infra.model import USAGE_KEYS_JOB, Route, Topology
from keel.contracts.billing import EntitlementsChanged
from keel.errors import TooManyRequests
from keel.rate_tiers import RATE_TIERS, SHARED_TIER, RateTier

#: The name of the web ACL's custom answer to a rate block (``CustomResponseBodies``). AWS's rule sets
#: block with WAF's own 403: a managed group's override action cannot carry a custom response.
RATE_LIMITED_BODY = "rate_limited"


def _waf_error(code: str, message: str) -> str:
    # WAF's bodies are static: no request id to give, so it is empty (API Gateway never saw the request).
    return json.dumps({"error": {"code": code, "message": message, "request_id": ""}})


class EdgeProtection(Construct):
    """The web ACL and its association with ``stage``."""

    def __init__(
        self, scope: Construct, id: str, *, topology: Topology, stage: apigateway.Stage,
        settings: ApiSettings,
    ) -> None:  # fmt: skip
        super().__init__(scope, id)
        name = topology.web_acl_name
        rate_limited = wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=429,
                custom_response_body_key=RATE_LIMITED_BODY,
                response_headers=[
                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=str(settings.waf_window_seconds))
                ],
            )
        )
        writes = topology.abuse_prone_routes
        rules = [
            self._rate_rule(
                "PerIp",
                0,
                limit=settings.waf_rate_limit,
                window_seconds=settings.waf_window_seconds,
                action=rate_limited,
            ),
            # The body is capped by the API (256 KB) and checked by the handlers: the set's 8 KB limit only counts.
            _managed("AWSManagedRulesCommonRuleSet", 2, count=("SizeRestrictions_BODY",)),
            _managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
        ]
        if writes:
            rules.append(
                self._rate_rule(
                    "PublicWritesPerIp",
                    1,
                    limit=settings.waf_public_write_rate_limit,
                    window_seconds=settings.waf_window_seconds,
                    action=rate_limited,
                    scope_down=_paths(writes),
                )
            )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            custom_response_bodies={
                RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=_waf_error(TooManyRequests.code, "too many requests from this address; retry later"),
                ),
            },
            visibility_config=_visibility(name),
        )
        wafv2.CfnWebACLAssociation(self, "Stage", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn)

    @staticmethod
    def _rate_rule(
        name: str,
        priority: int,
        *,
        limit: int,
        window_seconds: int,
        action: wafv2.CfnWebACL.BlockActionProperty,
        scope_down: wafv2.CfnWebACL.StatementProperty | None = None,
    ) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            action=wafv2.CfnWebACL.RuleActionProperty(block=action),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=limit,
                    evaluation_window_sec=window_seconds,
                    scope_down_statement=scope_down,
                )
            ),
            visibility_config=_visibility(name),
        )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed(group: str, priority: int, *, count: Sequence[str] = ()) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=group,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=group,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in count
                ]
                or None,
            )
        ),
        visibility_config=_visibility(group),
    )


def _paths(routes: Sequence[Route]) -> wafv2.CfnWebACL.StatementProperty:
    """Requests to any of ``routes``' paths. The path ends with the route's: on the stage's own URL it
    starts with the stage's name, on a custom domain it does not."""
    statements = [
        wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="ENDS_WITH",
                search_string=path,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        for path in sorted({r.path for r in routes})
    ]
    if len(statements) == 1:
        return statements[0]
    return wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements))


class TenantUsagePlans(Construct):
    """A usage plan per rate tier on ``stage``, their ids in SSM for identity, and the calls identity
    makes to keep tenants' keys in them granted to ``provisioners`` (and nothing else)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topology: Topology,
        api: apigateway.RestApi,
        stage: apigateway.Stage,
        provisioners: Sequence[lambda_.IFunction],
        tiers: Sequence[RateTier] = tuple(RATE_TIERS.values()),
    ) -> None:
        super().__init__(scope, id)

        def plan(tier: RateTier, description: str) -> apigateway.UsagePlan:
            return api.add_usage_plan(
                f"Tier-{tier.name}",
                name=topology.usage_plan_name(tier.name),
                description=description,
                throttle=apigateway.ThrottleSettings(rate_limit=tier.rate_per_second, burst_limit=tier.burst),
                quota=apigateway.QuotaSettings(limit=tier.requests_per_day, period=apigateway.Period.DAY)
                if tier.requests_per_day
                else None,
                api_stages=[apigateway.UsagePlanPerApiStage(api=api, stage=stage)],
            )

        self.plans = {
            tier.name: plan(tier, f"Keel rate tier {tier.name}: each tenant on it has this much of its own")
            for tier in tiers
        }
        self.shared = plan(SHARED_TIER, "Keel: one budget for every tenant without a key of its own yet")
        self.shared.add_api_key(
            api.add_api_key(
                "SharedUsageKey",
                api_key_name=topology.resource_name("shared-usage"),
                value=topology.shared_usage_key,
                description="The budget of tenants without a key of their own (Keel's usage-keys job makes theirs)",
            )
        )
        stack = cdk.Stack.of(self)
        parameter = ssm.StringParameter(
            self,
            "Ids",
            parameter_name=topology.usage_plans_parameter,
            string_value=stack.to_json_string({name: plan.usage_plan_id for name, plan in self.plans.items()}),
            description="Keel's usage plans by rate tier: identity keeps each tenant's key in its tier's",
        )
        for index, function in enumerate(provisioners):
            if function.role is None:
                raise ValueError(f"{function} has no role to grant")
            role = iam.Role.from_role_arn(self, f"Provisioner{index}", function.role.role_arn, mutable=True)
            parameter.grant_read(role)
            for action, path in permissions.USAGE_PLAN_CALLS:
                paths = [path.format(plan=p.usage_plan_id) for p in self.plans.values()] if "{plan}" in path else [path]
                role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=[action],
                        resources=[f"arn:{stack.partition}:apigateway:{stack.region}::{p}" for p in paths],
                    )
                )


def entitlements_consumers(owner: ContextStack) -> list[lambda_.IFunction]:
    """The functions of ``owner`` (the authorizer's context) that consume ``billing.entitlements.changed.v1``."""
    found: list[lambda_.IFunction] = []
    for sub in owner.ctx.subscriptions:
        if EntitlementsChanged.TYPE in sub.event_types:
            consumer = owner.node.find_child(f"Consume-{sub.name}")
            found.append(typing.cast("ContextFunction", consumer).function)
    return found


def provisioners(topology: Topology, contexts: Sequence[ContextStack]) -> list[lambda_.IFunction]:
    """The functions that make tenants' keys: the authorizer context's consumers of
    ``billing.entitlements.changed.v1`` (a new plan, a new tenant's first) and its ``usage-keys`` job.
    Sign-up never calls API Gateway's control plane."""
    owner = next((c for c in contexts if c.authorizer_function), None)
    if owner is None:
        return []
    found = entitlements_consumers(owner)
    for job in owner.ctx.jobs:
        if job.name == USAGE_KEYS_JOB:
            found.append(typing.cast("ContextFunction", owner.node.find_child(f"Run-{job.name}")).function)
    return found
