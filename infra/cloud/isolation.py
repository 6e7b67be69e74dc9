"""Tenant isolation enforced by IAM: each context's tenant-access role (``keel.isolation``).

A context's API and consumer functions, while they act for a tenant, reach its table with credentials
assumed from this role with the tenant as the session tag ``tenant_id``. The role may do on the table
what the functions do (``permissions.CONTEXT_TABLE``), and only on items whose partition key matches
the context's leading-key patterns (``Context.tenant_leading_keys``): the tenant's own partitions and
the global lookups the context's transactions need. Only those functions may assume it, and only with
the tag. The same patterns reach the functions as ``KEEL_TENANT_KEYS``, from the same call.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cloud import permissions
from infra.model import Context
from infra.topology import Topology
from keel.isolation import SESSION_SECONDS, TENANT_TAG

#: The condition on ``sts:AssumeRole`` and ``sts:TagSession``: a session carries a non-empty tenant tag,
#: and no other tag (a caller cannot add one the role's policy might read).
TENANT_TAG_REQUIRED = {
    "StringLike": {f"aws:RequestTag/{TENANT_TAG}": "?*"},
    "ForAllValues:StringEquals": {"aws:TagKeys": [TENANT_TAG]},
}


def tenant_role_arn(stack: cdk.Stack, ctx: Context) -> str:
    """The ARN of ``ctx``'s tenant-access role, known before the role is made (its functions' settings
    name it, and its trust policy names their roles)."""
    return stack.format_arn(
        service="iam",
        region="",
        resource="role",
        resource_name=ctx.tenant_role_name,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


def isolation_environment(stack: cdk.Stack, topology: Topology, ctx: Context) -> dict[str, str]:
    """The settings of ``ctx``'s functions that act for tenants: its role, and what it may touch."""
    return topology.tenant_isolation_environment(tenant_role_arn(stack, ctx), [ctx])


class TenantAccess(Construct):
    """``ctx``'s tenant-access role, assumable only by ``functions`` (the roles of its API and its consumers) with
    the tenant's session tag, granted ``table`` only under the tenant's leading keys."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        ctx: Context,
        table: dynamodb.ITable,
        functions: Sequence[lambda_.IFunction],
    ) -> None:
        super().__init__(scope, id)
        roles = [f.role for f in functions if f.role is not None]
        if not roles or len(roles) != len(functions):
            raise ValueError(f"{ctx.name}: a tenant-access role needs the functions that assume it")
        self.role = iam.Role(
            self,
            "Role",
            role_name=ctx.tenant_role_name,
            description=f"Keel {ctx.name}: its table, one tenant's partitions at a time (session tag {TENANT_TAG})",
            assumed_by=iam.SessionTagsPrincipal(
                iam.PrincipalWithConditions(iam.CompositePrincipal(*roles), TENANT_TAG_REQUIRED)
            ),
            max_session_duration=cdk.Duration.seconds(SESSION_SECONDS),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(permissions.CONTEXT_TABLE),
                resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(ctx.tenant_leading_keys())}},
            )
        )
        for role in roles:
            self.role.grant(role, "sts:AssumeRole", "sts:TagSession")
