"""``make synth``: synthesize every stage's stacks to ``cdk.out``, then fail on any cdk-nag error that is
not acknowledged in ``infra/cloud/nag.py`` and on any cfn-lint error in the templates.

``make synth`` renders every stage of ``keel:stages`` (``-c keel:stage=*``) into one assembly, which
``make deploy STAGE=...`` then deploys stage by stage without synthesizing again (``release.py``). This
is also the app the CDK CLI runs (``cdk.json``) when used directly (``cdk diff``, ``cdk deploy``):
then it renders ``keel:stage`` alone, ``dev`` by default. ``python -m infra.cloud.checks -c
keel:stage=prod`` takes context as the CDK CLI does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.cloud.app import build_app
from infra.cloud.deployment import Deployment
from infra.cloud.release import write_release
from infra.topology import TOPOLOGY, Topology

#: cfn-lint rules that do not apply to what CDK writes, with the reason.
CFN_LINT_IGNORED = {
    "W3005": "CDK makes a function depend on the role it is given, which its GetAtt already implies",
}
#: Report nag findings ourselves instead of letting synth throw, so all of them are listed at once.
COLLECT_VALIDATION = {"@aws-cdk/core:failSynthOnValidationErrors": False}
_BLOCKING = ("error", "fatal")


@dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    where: str
    message: str
    blocking: bool

    def __str__(self) -> str:
        level = "error" if self.blocking else "warning"
        return f"[{self.tool} {level}] {self.rule} at {self.where}: {self.message}"


def synth(outdir: Path, topology: Topology = TOPOLOGY, context: Mapping[str, object] | None = None) -> list[str]:
    """Synthesize ``topology`` to ``outdir`` (stale templates removed first; bundled assets kept);
    returns the stages it rendered."""
    for stale in outdir.glob("*.template.json"):
        stale.unlink()
    app = build_app(topology, outdir=str(outdir), context={**COLLECT_VALIDATION, **(context or {})})
    app.synth()
    return [deployment.stage for deployment in Deployment.every(app, topology)]


def nag_findings(outdir: Path) -> list[Finding]:
    """Unacknowledged findings of every validation plugin (cdk-nag) in the synthesized assembly."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        Finding(
            plugin["pluginName"],
            violation["ruleName"],
            ", ".join(c.get("constructPath", "?") for c in violation.get("violatingConstructs", [])),
            violation["description"],
            violation["severity"] in _BLOCKING,
        )
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
    ]


def lint_findings(outdir: Path, region: str | None = None, stacks: Sequence[str] | None = None) -> list[Finding]:
    """cfn-lint on every template in ``outdir`` (or on those of ``stacks``)."""
    from cfnlint.api import ManualArgs, lint_file  # noqa: PLC0415 - slow import, only when linting

    config = ManualArgs(
        # The region the CDK CLI deploys to, else the caller's default, else us-east-1 (offline checks).
        regions=[region or os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")],
        ignore_checks=list(CFN_LINT_IGNORED),
    )
    return [
        Finding(
            "cfn-lint",
            m.rule.id,
            f"{template.name}:{m.linenumber}",
            m.message,
            m.rule.id.startswith("E"),
        )
        for template in sorted(outdir.glob("*.template.json"))
        if stacks is None or template.name.removesuffix(".template.json") in stacks
        for m in lint_file(template, config)
    ]


def context_from_args(args: Sequence[str]) -> dict[str, object]:
    """``-c key=value`` / ``--context key=value`` pairs, as the CDK CLI reads them (values stay text)."""
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.checks")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    pairs = parser.parse_args(list(args)).context
    for pair in pairs:
        if "=" not in pair:
            parser.error(f"context {pair!r} must be KEY=VALUE")
    return dict(pair.split("=", 1) for pair in pairs)


def main(args: Sequence[str] = ()) -> int:
    outdir = Path(os.environ.get("CDK_OUTDIR", "cdk.out"))
    stages = synth(outdir, context=context_from_args(args))
    write_release(outdir, stages)
    findings = nag_findings(outdir) + lint_findings(outdir)
    for finding in findings:
        print(finding, file=sys.stderr)
    blocking = sum(f.blocking for f in findings)
    templates = len(list(outdir.glob("*.template.json")))
    print(
        f"synth: {templates} templates of stages {', '.join(stages)} in {outdir}; {blocking} cdk-nag/cfn-lint errors",
        file=sys.stderr,
    )
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
