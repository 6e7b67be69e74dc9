"""The CDK app: ``python -m infra.cloud.app`` synthesizes every Keel stack to ``cdk.out``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk

from infra.cloud import nag
from infra.cloud.bundling import REPO_ROOT
from infra.cloud.stacks import ApiStack, ContextStack, FoundationStack
from infra.topology import TOPOLOGY, Topology


def build_app(
    topology: Topology = TOPOLOGY, *, outdir: str | None = None, context: Mapping[str, Any] | None = None
) -> cdk.App:
    """Every stack of ``topology``, checked by cdk-nag at synth. ``cdk.json``'s context is the default
    (the CDK CLI passes it too; ``python -m`` does not), ``context`` overrides it. Output goes to
    ``outdir``, else to where the CDK CLI asks (``CDK_OUTDIR``), else ``cdk.out``."""
    defaults = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    outdir = outdir or os.environ.get("CDK_OUTDIR", "cdk.out")
    app = cdk.App(outdir=outdir, context={**defaults, **(context or {})})
    stage = str(app.node.try_get_context("keel:stage") or "dev")
    # Set by the CDK CLI from the caller's credentials; without it the stacks are environment-agnostic.
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region)
    settings = deployment_settings(app, topology)
    foundation = FoundationStack(
        app,
        topology.foundation_stack_name,
        topology=topology,
        operators_group=topology.operators_group(settings),
        env=env,
    )
    contexts = [
        ContextStack(
            app,
            ctx.stack_name,
            topology=topology,
            ctx=ctx,
            foundation=foundation,
            stage=stage,
            deployment_settings=settings,
            env=env,
        )
        for ctx in topology.contexts
    ]
    ApiStack(app, topology.api_stack_name, topology=topology, stage=stage, contexts=contexts, env=env)
    nag.apply(app)
    return app


def deployment_settings(app: cdk.App, topology: Topology) -> dict[str, str]:
    """``keel:settings`` (``cdk.json`` or ``-c``): per-deployment values of context settings, such as
    ``KEEL_IDENTITY_INVITE_URL_TEMPLATE``. Each must belong to a context of the topology."""
    raw = app.node.try_get_context("keel:settings") or {}
    raw = json.loads(raw) if isinstance(raw, str) else raw  # `-c keel:settings='{...}'` arrives as text
    settings = {str(k): str(v) for k, v in raw.items()}
    prefixes = tuple(ctx.setting_prefix for ctx in topology.contexts)
    unknown = sorted(name for name in settings if not name.startswith(prefixes))
    if unknown:
        raise ValueError(f"keel:settings names no context's setting: {', '.join(unknown)}")
    return settings


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
