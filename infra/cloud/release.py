"""``make deploy STAGE=...``: deploy one stage from the assembly ``make synth`` built, then smoke-test it.

One synth renders every stage of ``keel:stages`` into ``cdk.out`` from the same assets (content-hashed
layers and code); a deploy never synthesizes. It hands the CDK CLI that assembly (``--app cdk.out``)
and the stage's stack names, so staging and prod run byte-identical code, and what was tested in
staging is what reaches prod. Context on the deploy line (``-c``) is refused: it would not reach an
assembly that is already built; give it to ``make synth``.

    python -m infra.cloud.release deploy --stage staging [-- cdk deploy flags]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.cloud.bundling import REPO_ROOT
from infra.topology import TOPOLOGY, Topology

#: The CDK CLI every deploy runs, pinned (never "latest": a CLI newer than the library may refuse it).
CDK_CLI = "aws-cdk@2.1148.1"
#: What ``make synth`` writes next to the templates: the stages and the commit the assembly holds.
RELEASE_FILE = "keel-release.json"


class ReleaseError(Exception):
    """A deploy that cannot start; printed without a traceback."""


@dataclass(frozen=True)
class Assembly:
    """A synthesized ``cdk.out``: its stacks, and what ``make synth`` recorded about it."""

    path: Path
    stacks: frozenset[str]
    release: dict[str, object]

    @classmethod
    def read(cls, path: Path) -> Assembly:
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError):
            raise ReleaseError(f"no assembly in {path}: run `make synth` first (it renders every stage)") from None
        stacks = frozenset(
            name for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"
        )
        try:
            release = json.loads((path / RELEASE_FILE).read_text())
        except (OSError, ValueError):
            release = {}
        return cls(path, stacks, release)

    def stacks_of(self, topology: Topology, stage: str) -> list[str]:
        """The stacks a deploy of ``stage`` hands the CDK CLI: the account's, then the stage's own."""
        staged = topology.for_stage(stage)
        wanted = [staged.account_stack_name, *staged.stack_names]
        missing = [name for name in wanted if name not in self.stacks]
        if missing:
            held = sorted(self.stacks)
            raise ReleaseError(
                f"{self.path} holds no stage {stage!r} (missing {', '.join(missing)}; it holds {', '.join(held)}): "
                "run `make synth`, which renders every stage of keel:stages"
            )
        return wanted


def write_release(path: Path, stages: Sequence[str]) -> None:
    """Record what the assembly at ``path`` holds: its stages and the commit it was built from."""
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    record = {"stages": list(stages), "commit": commit, "dirty": dirty}
    (path / RELEASE_FILE).write_text(json.dumps(record, indent=2) + "\n")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed git query of our own repository
            ["git", *args],  # noqa: S607 - git from PATH, as the developer runs it
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def deploy_commands(
    assembly: Assembly, stage: str, cdk_args: Sequence[str] = (), *, smoke: bool = True, topology: Topology = TOPOLOGY
) -> list[list[str]]:
    """What ``make deploy STAGE=stage`` runs, in order: the CDK CLI on the stage's stacks of the
    assembly (data migrations run inside it, before any traffic shifts), then ``keel smoke`` against
    the deployed stage."""
    stacks = assembly.stacks_of(topology, stage)
    commands = [["npx", "--yes", CDK_CLI, "deploy", "--app", str(assembly.path), *stacks, *cdk_args]]
    if smoke:
        commands.append([sys.executable, "-m", "infra.local.cli", "smoke", "--stage", stage])
    return commands


def default_stage() -> str:
    """``cdk.json``'s ``keel:stage``: the stage ``make deploy`` deploys when it is not told."""
    return str(json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["keel:stage"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.release", description=__doc__.split("\n")[0])
    actions = parser.add_subparsers(dest="command", required=True)
    deploy = actions.add_parser("deploy", help="deploy one stage of cdk.out, then smoke-test it")
    deploy.add_argument("--stage", default="", help="the stage to deploy (default: cdk.json's keel:stage)")
    deploy.add_argument("--app", type=Path, default=Path(os.environ.get("CDK_OUTDIR", "cdk.out")))
    deploy.add_argument("--no-smoke", action="store_true", help="skip `keel smoke` after the deploy")
    deploy.add_argument("-c", "--context", action="append", default=[], help=argparse.SUPPRESS)
    deploy.add_argument("cdk_args", nargs="*", help="passed to `cdk deploy` (after --)")
    args = parser.parse_args(argv)
    try:
        if args.context:
            raise ReleaseError(
                f"context on the deploy line ({' '.join(args.context)}) would not reach an assembly that is "
                "already built: give it to `make synth CONTEXT=...`, then deploy what it built"
            )
        stage = args.stage or default_stage()
        assembly = Assembly.read(args.app)
        built = assembly.release
        print(
            f"deploy: stage {stage} from {assembly.path} (commit {built.get('commit') or 'unknown'}"
            f"{', with uncommitted changes' if built.get('dirty') else ''})",
            file=sys.stderr,
        )
        commands = deploy_commands(assembly, stage, args.cdk_args, smoke=not args.no_smoke)
    except ReleaseError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return 2
    for command in commands:
        if subprocess.run(command, check=False).returncode != 0:  # noqa: S603 - our own fixed commands
            print(f"deploy: `{' '.join(command[:6])} ...` failed: stage {stage} stops here", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
