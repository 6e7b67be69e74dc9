"""Deploying: the second deploy succeeds after a kernel change, ``make deploy`` deploys what it was
asked in the caller's region, and the account-wide API Gateway setting belongs to no stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra import smoke
from infra.cloud import bundling, checks, release
from infra.cloud.deployment import Deployment, DeploymentError
from tests.infra.cfn import Synthesized, target
from tests.infra.conftest import DEPLOYMENT, SKIP_BUNDLING
from tests.infra.sample_topology import SAMPLE

REPO = bundling.REPO_ROOT
#: Resource types CloudFormation replaces on any change: a new physical resource, a new ARN.
IMMUTABLE = {"AWS::Lambda::LayerVersion"}


def _references(value: Any) -> set[str]:
    """Every logical id a ``Ref`` or ``Fn::GetAtt`` anywhere in ``value`` points at."""
    if isinstance(value, list):
        return {lid for item in value for lid in _references(item)}
    if isinstance(value, dict):
        pointed = target(value)
        own = {pointed} if pointed else set()
        return own | {lid for item in value.values() for lid in _references(item)}
    return set()


def _imports(value: Any) -> set[str]:
    """Every export name an ``Fn::ImportValue`` anywhere in ``value`` reads."""
    if isinstance(value, list):
        return {name for item in value for name in _imports(item)}
    if isinstance(value, dict):
        own = {json.dumps(value["Fn::ImportValue"])} if "Fn::ImportValue" in value else set()
        return own | {name for item in value.values() for name in _imports(item)}
    return set()


def _exports(synthesized: Synthesized) -> dict[str, tuple[str, Any]]:
    """Export name -> (its stack, its value)."""
    return {
        json.dumps(output["Export"]["Name"]): (stack.name, output["Value"])
        for stack in synthesized.stacks.values()
        for output in stack.template.get("Outputs", {}).values()
        if "Export" in output
    }


@pytest.fixture(scope="module")
def changed_kernel(tmp_path_factory: pytest.TempPathFactory, sample: Synthesized) -> Synthesized:
    """The sample synthesized again, with a kernel of other content (bundling skipped: the layer's
    asset follows where its sources are, so the layer is a new one)."""
    kernel = tmp_path_factory.mktemp("kernel") / "python"
    shutil.copytree(bundling.KERNEL, kernel, ignore=shutil.ignore_patterns("__pycache__"))
    with (kernel / "keel" / "clock.py").open("a") as changed:
        changed.write("\n# a change in the kernel\n")
    outdir = tmp_path_factory.mktemp("changed-cdk.out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundling, "KERNEL", kernel)
        checks.synth(outdir, SAMPLE, SKIP_BUNDLING | DEPLOYMENT | {"keel:stage": sample.topology.stage})
    return Synthesized.read(SAMPLE, outdir)


def test_a_kernel_change_alters_no_export_another_stack_imports(
    sample: Synthesized, changed_kernel: Synthesized
) -> None:
    # Given two synths that differ only in the kernel's content
    replaced = {
        (name, lid)
        for name, stack in changed_kernel.stacks.items()
        for lid, resource in stack.template["Resources"].items()
        if resource["Type"] in IMMUTABLE and resource != sample.stacks[name].template["Resources"].get(lid)
    }
    assert replaced, "the kernel change reached no layer: this test would prove nothing"
    before = _exports(sample)
    imported = {name for stack in changed_kernel.stacks.values() for name in _imports(stack.template)}
    # When each export is compared: its value changed, or it names a resource the change replaces
    for name, (stack, value) in _exports(changed_kernel).items():
        altered = before.get(name, (stack, value))[1] != value or any(
            (stack, lid) in replaced for lid in _references(value)
        )
        # Then no other stack imports it: CloudFormation would refuse the update ("export ... in use")
        assert not (altered and name in imported), f"{stack} export {name} changes with the kernel and is imported"


def test_the_account_wide_api_gateway_setting_is_in_one_stack_that_no_stage_owns(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    owners = [stack.name for stack, _, _ in synthesized.every("AWS::ApiGateway::Account")]
    # Given the app, then one stack holds the account's API Gateway setting: the account stack, not the API's
    assert owners == [topology.account_stack_name]
    account = synthesized.stacks[topology.account_stack_name]
    (role,) = account.of_type("AWS::IAM::Role").values()
    # And its role outlives the stack (another stage, or another app of the account, may log with it)
    assert role["DeletionPolicy"] == "Retain"
    assert not synthesized.api.of_type("AWS::IAM::Role")
    # And the API stack is deployed after it, so that its stage may log on the first deploy
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    assert topology.account_stack_name in manifest["artifacts"][topology.api_stack_name]["dependencies"]


# -- make deploy: one assembly, promoted -------------------------------------------------------------


@pytest.fixture
def fake_npx(tmp_path: Path) -> Path:
    """An ``npx`` that records its arguments and the region it was given instead of deploying."""
    record = tmp_path / "npx.json"
    script = tmp_path / "bin" / "npx"
    script.parent.mkdir()
    called = "{'argv': sys.argv[1:], 'region': os.environ.get('AWS_DEFAULT_REGION')}"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\njson.dump({called}, open({str(record)!r}, 'w'))\n")
    script.chmod(0o755)
    return record


def _make(*args: str, fake_npx: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    path = f"{fake_npx.parent / 'bin'}{os.pathsep}{os.environ['PATH']}"
    clean = {k: v for k, v in os.environ.items() if k != "AWS_DEFAULT_REGION"} | {"PATH": path} | env
    # `-o venv`: the test suite runs inside the venv, which must not be rebuilt under it.
    return subprocess.run(
        ["make", "-s", "-o", "venv", *args], cwd=REPO, env=clean, check=check, capture_output=True, text=True
    )


def _called(fake_npx: Path) -> dict[str, Any]:
    return dict(json.loads(fake_npx.read_text()))


def test_make_deploy_deploys_the_stages_stacks_of_the_built_assembly(keel: Synthesized, fake_npx: Path) -> None:
    # Given the assembly one synth built for staging and prod
    prod = keel.stage("prod").topology
    # When prod is deployed (no smoke test: nothing is really deployed here)
    _make("deploy", "STAGE=prod", "SMOKE=no", "ARGS=--require-approval never", fake_npx=fake_npx,
          env={"CDK_OUTDIR": str(keel.outdir)})  # fmt: skip
    argv = _called(fake_npx)["argv"]
    # Then the pinned CDK CLI deploys that assembly as it is (no synth): the account's stack and exactly
    # prod's stacks, none of staging's, with the flags it was given
    assert argv == [
        "--yes", release.CDK_CLI, "deploy", "--app", str(keel.outdir),
        prod.account_stack_name, *prod.stack_names, "--require-approval", "never",
    ]  # fmt: skip


def test_make_deploy_refuses_context_it_could_not_apply(keel: Synthesized, fake_npx: Path) -> None:
    # Given context on the deploy line (it would not reach an assembly that is already built)
    ran = _make("deploy", "STAGE=prod", "CONTEXT=-c keel:settings={}", fake_npx=fake_npx,
                env={"CDK_OUTDIR": str(keel.outdir)}, check=False)  # fmt: skip
    # Then nothing is deployed, and the message says where context goes
    assert ran.returncode != 0
    assert "make synth" in ran.stderr
    assert not fake_npx.exists()


def test_make_deploy_refuses_a_stage_the_assembly_does_not_hold(keel: Synthesized, fake_npx: Path) -> None:
    ran = _make("deploy", "STAGE=dev", fake_npx=fake_npx, env={"CDK_OUTDIR": str(keel.outdir)}, check=False)
    assert ran.returncode != 0
    assert "holds no stage 'dev'" in ran.stderr
    assert not fake_npx.exists()


def test_make_deploy_leaves_the_region_to_the_caller(keel: Synthesized, fake_npx: Path) -> None:
    env = {"CDK_OUTDIR": str(keel.outdir)}
    # Given a caller whose region comes from its profile (no AWS_DEFAULT_REGION in the environment)
    _make("deploy", "STAGE=prod", "SMOKE=no", fake_npx=fake_npx, env=env | {"AWS_PROFILE": "prod"})
    assert _called(fake_npx)["region"] is None
    # And a caller who sets one
    _make("deploy", "STAGE=prod", "SMOKE=no", fake_npx=fake_npx, env=env | {"AWS_DEFAULT_REGION": "eu-west-1"})
    assert _called(fake_npx)["region"] == "eu-west-1"


def test_a_deploy_smoke_tests_the_stage_after_deploying_it(keel: Synthesized) -> None:
    # Given the deploy of staging from the assembly
    assembly = release.Assembly.read(keel.outdir)
    deploy, smoke = release.deploy_commands(assembly, "staging")
    # Then the CDK CLI runs first, and `keel smoke` then checks the stage it deployed
    assert deploy[:4] == ["npx", "--yes", release.CDK_CLI, "deploy"]
    assert smoke[-4:] == ["infra.local.cli", "smoke", "--stage", "staging"]


def test_make_synth_renders_every_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the Makefile's synth recipe, as make would run it
    ran = subprocess.run(["make", "-n", "-o", "venv", "synth"], cwd=REPO, capture_output=True, text=True, check=True)
    # Then it asks for every stage of keel:stages in one assembly
    assert "-c 'keel:stage=*'" in ran.stdout


def test_the_cdk_cli_runs_the_checked_synth() -> None:
    # Given the app the CDK CLI runs when used directly, then it is `make synth`'s, with cdk-nag and cfn-lint
    app = json.loads((REPO / "cdk.json").read_text())["app"]
    assert app.endswith("-m infra.cloud.checks")


def test_make_synth_takes_context_like_the_cdk_cli() -> None:
    assert checks.context_from_args(["-c", "keel:stage=prod", "--context", 'keel:api={"cors_origins": []}']) == {
        "keel:stage": "prod",
        "keel:api": '{"cors_origins": []}',
    }
    with pytest.raises(SystemExit):
        checks.context_from_args(["-c", "keel:stage"])


def test_context_given_to_the_cdk_cli_overrides_cdk_json() -> None:
    # Given the app as the CDK CLI runs it for `cdk deploy -c keel:stage=prod` (the CLI passes -c in
    # CDK_CONTEXT_JSON, read when the CDK starts: a process of its own), with cdk.json's dev stage
    read_stage = (
        "import aws_cdk as cdk; from infra.cloud.deployment import Deployment; "
        "from tests.infra.sample_topology import SAMPLE; "
        "print(Deployment.of(cdk.App(context={'keel:stage': 'dev', 'keel:stages': {'dev': {}, 'prod': {}}}), "
        "SAMPLE).stage)"
    )
    env = os.environ | {"CDK_CONTEXT_JSON": json.dumps({"keel:stage": "prod"})}
    ran = subprocess.run(
        [sys.executable, "-c", read_stage], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    # Then the deployment is prod's
    assert ran.stdout.strip() == "prod", ran.stderr


# -- what a deployment may say -----------------------------------------------------------------------


ONE_STAGE: dict[str, Any] = {"keel:stages": {"dev": {}}}


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"keel:stage": "prod stage"}, "keel:stage"),
        ({"keel:stages": {"Prod": {}}}, "cannot name a stage"),
        ({"keel:stages": {"local": {}}}, "keel dev"),
        ({"keel:stages": {"dev": {"deploy": "Canary50Percent1Minute"}}}, "deploy"),
        ({"keel:stages": {"dev": {"removal": "snapshot"}}}, "removal"),
        ({"keel:stages": {"dev": {"log_retention_days": 31}}}, "retention"),
        ({"keel:stages": {"dev": {"tracing_sample_rate": 2}}}, "tracing_sample_rate"),
        ({"keel:stages": {"dev": {"colour": "red"}}}, "colour"),
        ({"keel:stages": {"dev": {"settings": {"KEEL_NOBODY_X": "1"}}}}, "names no context"),
        ({"keel:api": {"cors_origins": ["https://app.example.com/"]}}, "not an origin"),
        ({"keel:api": {"cors_origins": ["*"]}}, "not an origin"),
        ({"keel:api": {"cors_origins": ["http://app.example.com"]}}, "not an origin"),
        ({"keel:api": {"access_log_retention_days": 31}}, "retention"),
        ({"keel:api": {"cors": []}}, "keel:api"),
        ({"keel:api": "[1]"}, "JSON object"),
    ],
)
def test_a_deployment_setting_the_app_cannot_use_stops_the_synth(context: dict[str, Any], problem: str) -> None:
    with pytest.raises(DeploymentError, match=problem):
        Deployment.every(cdk.App(context=ONE_STAGE | context), SAMPLE)


def test_settings_given_as_text_on_the_command_line_are_read_as_json() -> None:
    app = cdk.App(
        context=ONE_STAGE | {"keel:api": '{"cors_origins": ["http://localhost:3000"], "access_log_retention_days": 7}'}
    )
    api = Deployment.of(app, SAMPLE).api
    assert (api.cors_origins, api.access_log_retention_days) == (("http://localhost:3000",), 7)


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_each_stage_publishes_what_keel_smoke_reads_to_find_it(keel: Synthesized, stage: str) -> None:
    view = keel.stage(stage)
    # Given the outputs `keel smoke --stage` reads from the stage's stacks
    for stack, keys in smoke.stack_outputs(view.topology).items():
        outputs = view.stacks[stack].template.get("Outputs", {})
        # Then each stack has them
        assert set(keys) <= set(outputs), stack
    # And the API's URL is its own stage's deployment
    url = json.dumps(view.stacks[view.topology.api_stack_name].template["Outputs"]["ApiUrl"]["Value"])
    assert "execute-api" in url
