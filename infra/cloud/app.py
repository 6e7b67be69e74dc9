"""The CDK app: ``python -m infra.cloud.app`` synthesizes every Keel stack to ``cdk.out``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk

from infra.cloud import nag
from infra.cloud.bundling import REPO_ROOT
from infra.cloud.deployment import Deployment
from infra.cloud.stacks import AccountStack, ApiStack, ContextStack, FoundationStack
from infra.topology import TOPOLOGY, Topology


def build_app(
    topology: Topology = TOPOLOGY, *, outdir: str | None = None, context: Mapping[str, Any] | None = None
) -> cdk.App:
    """Every stack of every stage ``keel:stage`` asks for (``*``: all of ``keel:stages``), checked by
    cdk-nag at synth. ``cdk.json``'s context is the default, ``context`` overrides it, and the CDK CLI's
    (``-c``, passed in ``CDK_CONTEXT_JSON``) overrides both. Output goes to ``outdir``, else to where
    the CDK CLI asks (``CDK_OUTDIR``), else ``cdk.out``.

    The stacks are environment-agnostic: the same templates and assets deploy to whichever account
    and region the deploying credentials name, so one synth is promoted from stage to stage."""
    defaults = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    outdir = outdir or os.environ.get("CDK_OUTDIR", "cdk.out")
    app = cdk.App(outdir=outdir, context={**defaults, **(context or {})})
    account_settings = AccountStack(app, topology.account_stack_name)
    for deployment in Deployment.every(app, topology):
        staged = topology.for_stage(deployment.stage)
        foundation = FoundationStack(app, staged.foundation_stack_name, topology=staged, deployment=deployment)
        contexts = [
            ContextStack(app, ctx.stack_name, topology=staged, ctx=ctx, foundation=foundation, deployment=deployment)
            for ctx in staged.contexts
        ]
        api = ApiStack(app, staged.api_stack_name, topology=staged, deployment=deployment, contexts=contexts)
        api.add_stack_dependency(
            account_settings, "the stage writes execution logs with the account's API Gateway role"
        )
    nag.apply(app)
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
