"""The pipeline a team adopts (``.github/workflows``): CI is ``make test``; a release synthesizes once and
promotes that one assembly, staging then prod after a person's approval, with no long-lived AWS keys.
(``make workflows`` checks them against GitHub's schema and zizmor; these tests hold what they do.)"""

from __future__ import annotations

import json
from typing import Any

import yaml

from infra.cloud.bundling import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job.get("steps", []) if "uses" in step]


def test_ci_runs_exactly_make_test() -> None:
    (job,) = _workflow("ci.yml")["jobs"].values()
    assert _runs(job) == ["make test"]


def test_a_release_synthesizes_once_and_promotes_that_assembly_from_staging_to_prod_on_approval() -> None:
    jobs = _workflow("deploy.yml")["jobs"]
    # Given the release workflow, then one job synthesizes, and hands its assembly on
    assert [name for name, job in jobs.items() if "make synth" in _runs(job)] == ["synth"]
    assert "actions/upload-artifact" in _uses(jobs["synth"])
    # And staging, then prod (behind the environment whose reviewers approve it), deploy it the same way
    assert jobs["staging"]["needs"] == "synth"
    assert jobs["prod"]["needs"] == "staging"
    assert {name: job["with"] for name, job in jobs.items() if name != "synth"} == {
        "staging": {"stage": "staging", "environment": "staging"},
        "prod": {"stage": "prod", "environment": "production"},
    }
    assert {job["uses"] for name, job in jobs.items() if name != "synth"} == {"./.github/workflows/deploy-stage.yml"}
    stages = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["keel:stages"]
    assert {"staging", "prod"} <= set(stages)


def test_a_stage_deploys_the_built_assembly_then_migrates_then_smoke_tests_and_never_synthesizes() -> None:
    (job,) = _workflow("deploy-stage.yml")["jobs"].values()
    runs = _runs(job)
    assert "actions/download-artifact" in _uses(job)
    assert [run.split()[:2] for run in runs] == [
        ["make", "deploy"],
        [".venv/bin/keel", "migrate"],
        [".venv/bin/keel", "smoke"],
    ]
    assert all("synth" not in run for run in runs)


def test_aws_access_is_a_role_assumed_through_openid_connect_never_a_stored_key() -> None:
    (job,) = _workflow("deploy-stage.yml")["jobs"].values()
    (credentials,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}
    assert job["permissions"]["id-token"] == "write"
    for workflow in WORKFLOWS.glob("*.yml"):
        text = workflow.read_text()
        assert "aws-access-key-id" not in text
        assert "secrets." not in text, workflow.name
