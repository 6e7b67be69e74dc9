"""``make synth``'s gates: cdk-nag (AwsSolutions) and cfn-lint have nothing to say about the templates."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from infra.cloud import checks, nag
from tests.infra.cfn import Synthesized


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    # Given the synthesized app with AwsSolutions checks, when its validation report is read
    findings = checks.nag_findings(synthesized.outdir)
    # Then nothing is left: every finding was fixed or acknowledged with a reason in infra/cloud/nag.py
    assert [str(f) for f in findings] == []


def test_every_acknowledgement_carries_its_reason(synthesized: Synthesized) -> None:
    # Given the findings that were acknowledged, then each says why, where cdk-nag's report shows it
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    suppressed = [v for p in report["pluginReports"] for v in p.get("suppressedViolations", [])]
    assert suppressed
    assert all(len(v["reason"]) > 60 for v in suppressed)


def test_cdk_nag_reports_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Given a stack with a queue that allows plain HTTP and has no DLQ, checked as Keel's app is
    app = cdk.App(outdir=str(tmp_path), context=checks.COLLECT_VALIDATION)
    sqs.Queue(cdk.Stack(app, "Careless"), "Queue")
    nag.apply(app)
    # When it is synthesized
    app.synth()
    # Then the gate sees the errors
    blocking = {f.rule for f in checks.nag_findings(tmp_path) if f.blocking}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= blocking


def test_cfn_lint_finds_no_errors(synthesized: Synthesized) -> None:
    # Given the templates of the stage that keeps its data and shifts by canary (keel's prod) and of one
    # that does neither (the sample's staging): the stages differ only in those values, and `make synth`
    # lints every stage anyway; when cfn-lint checks them, then it has nothing to report
    view = synthesized.stage("prod") if "prod" in synthesized.stages else synthesized
    assert [str(f) for f in checks.lint_findings(view.outdir, stacks=list(view.stage_stacks()))] == []


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    # Given a template with a property its resource type does not have
    broken = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Colour": "red"}}}}
    (tmp_path / "Broken.template.json").write_text(json.dumps(broken))
    # When it is linted, then the gate sees a blocking error
    assert any(f.blocking for f in checks.lint_findings(tmp_path))


def test_make_synth_fails_exactly_when_a_gate_finds_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample: Synthesized
) -> None:
    # Given an assembly cdk-nag passed, with a template cfn-lint accepts (synth itself already done)
    (tmp_path / "validation-report.json").write_text((sample.outdir / "validation-report.json").read_text())
    fine = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    (tmp_path / "Fine.template.json").write_text(json.dumps(fine))
    monkeypatch.setattr(checks, "synth", lambda outdir, **_: [])
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    # When `make synth` runs, then it succeeds
    assert checks.main() == 0
    # And once a template has an error, it fails
    broken = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Colour": "red"}}}}
    (tmp_path / "Broken.template.json").write_text(json.dumps(broken))
    assert checks.main() == 1
