"""A deploy runs a context's pending data migrations before any of its functions takes traffic.

Each context with a table gets a migration function (``keel.migrate``, a role of its own: the one role
that may Scan, and never called by a request) and a custom resource that CloudFormation updates on every
deploy that adds a migration. Every ``live`` alias of the context depends on that resource, so
CodeDeploy starts shifting traffic to new versions only once the migrations the new code needs are
finished; a migration that fails fails the deploy, which rolls back before any traffic moved.

Why a custom resource rather than a step in ``make deploy``: only CloudFormation knows the moment between
"the new code is in place" and "traffic shifts to it", and only there does a failure stop the shift.
A step after ``cdk deploy`` would run once traffic had already moved; a step before it would run the
new migrations with the old code's function.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cloud.bundling import REPO_ROOT
from infra.cloud.constructs import ContextFunction
from infra.model import Context
from keel.migrations import MODULE_NAME

#: The kernel's handler of every context's migration function.
HANDLER = "keel.migrate"
#: A migration function runs pages for up to Lambda's limit, then hands over to a fresh invocation.
TIMEOUT_SECONDS = 900
#: How long CloudFormation waits for the migrations to finish (its maximum for a custom resource).
DEPLOY_WAIT = cdk.Duration.hours(1)
RESOURCE_TYPE = "Custom::KeelMigrations"


def migration_ids(ctx: Context, root: Path = REPO_ROOT) -> list[str]:
    """The migration modules of ``ctx`` in the repository (``0001_backfill_x``), in order."""
    folder = root / "functions" / ctx.name / "migrations"
    return sorted(p.stem for p in folder.glob("*.py") if MODULE_NAME.fullmatch(p.stem))


def environment(ctx: Context) -> dict[str, str]:
    """What the migration function reads besides its context's settings (``keel.migrate``)."""
    return {"KEEL_MIGRATIONS_TABLE": ctx.table_name, "KEEL_MIGRATIONS_PACKAGE": ctx.migrations_package}


class MigrateBeforeTraffic(Construct):
    """The custom resource that runs ``function`` (the context's migration function) on each deploy
    that names new migrations, ahead of every alias of ``released``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        ctx: Context,
        function: ContextFunction,
        released: list[ContextFunction],
    ) -> None:
        super().__init__(scope, id)
        # It hands a long migration over to a fresh invocation of itself (named: no reference cycle).
        own_arn = cdk.Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=function.name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=function.function, actions=["lambda:InvokeFunction"], resource_arns=[own_arn]
        )
        self.resource = cdk.CustomResource(
            self,
            "Run",
            service_token=function.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={"Migrations": migration_ids(ctx)},
            service_timeout=DEPLOY_WAIT,
        )
        self.resource.node.add_dependency(function)
        for released_function in released:
            if released_function.alias is not None:
                released_function.alias.node.add_dependency(self.resource)
