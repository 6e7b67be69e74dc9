"""Black-box: ``keel smoke`` and ``keel migrate`` against the session's ``keel dev``, as a team runs them
against a deployed stage (``--stage``) and as ``make deploy`` runs the smoke test after each stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from infra import smoke
from infra.local.runtime import free_port
from infra.model import Context
from infra.topology import LOCAL_STAGE, TOPOLOGY
from tests.e2e.conftest import REPO, DevServer

pytestmark = pytest.mark.e2e


def keel(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "layers" / "keel" / "python")])}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "infra.local.cli", *argv],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keel_smoke_passes_against_keel_dev(dev_server: DevServer) -> None:
    # When the smoke test runs against the running stage, as `make deploy` runs it after deploying one
    ran = keel("smoke", "--url", dev_server.url)
    # Then every step of every context passed, and what it made was cleaned up
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "keel smoke: passed" in ran.stdout
    for step in ("a throwaway user signs up", "GET /health is ok", "POST /v1/api-keys, then used"):
        assert step in ran.stdout
    assert "FAIL" not in ran.stdout


def test_keel_smoke_fails_with_a_readable_report(dev_server: DevServer) -> None:
    # Given a token command that gives no valid token
    ran = keel("smoke", "--url", dev_server.url, "--token-command", "echo not-a-token")
    # Then it exits non-zero, saying which step failed with what API Gateway answered
    assert ran.returncode == 1
    assert "FAILED: 1 of 1 steps" in ran.stdout
    assert "POST /v1/tenants answered 401 unauthorized" in ran.stdout
    assert "Traceback" not in ran.stdout + ran.stderr


def test_keel_smoke_says_when_the_stage_cannot_be_reached() -> None:
    ran = keel("smoke", "--url", f"http://127.0.0.1:{free_port()}")
    assert ran.returncode == 1
    assert "cannot reach" in ran.stdout


def test_keel_migrate_migrates_the_dev_servers_data_once(dev_server: DevServer) -> None:
    # Given a tenant written before tenant items recorded their schema version
    owner = dev_server.sign_up("Old Co")
    info = json.loads((dev_server.state_dir / "dev.json").read_text())
    dynamodb = boto3.client("dynamodb", endpoint_url=info["moto_endpoint"], region_name=info["region"])
    table = f"keel-{info['stage']}-identity"
    key = {"pk": {"S": f"TENANT#{owner.tenant_id}"}, "sk": {"S": "TENANT"}}
    dynamodb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE schema_version")
    # When `keel migrate` runs against the dev server
    ran = keel("migrate", "--context", "identity", "--state-dir", str(dev_server.state_dir))
    # Then it migrated the dev server's table, with the tenant among what it touched
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "against the dev server's moto" in ran.stdout
    assert "identity/0001_tenant_schema_version" in ran.stdout
    assert dynamodb.get_item(TableName=table, Key=key)["Item"]["schema_version"] == {"N": "1"}
    # And a second run finds nothing left to do
    again = keel("migrate", "--context", "identity", "--state-dir", str(dev_server.state_dir))
    assert "0 migration(s) run" in again.stdout


def test_a_failed_smoke_run_still_revokes_what_it_made(dev_server: DevServer) -> None:
    # Given a smoke run whose identity path breaks after it sent an invitation and made an API key,
    # before the steps that revoke them
    http = smoke.Http(dev_server.url)
    session = smoke.Session(http, smoke.LocalTokens(http), TOPOLOGY.for_stage(LOCAL_STAGE))

    def broken(session: smoke.Session, ctx: Context) -> list[smoke.Step]:
        if ctx.name != "identity":
            return []
        made = [s for s in smoke.context_steps(session, ctx) if s.name.startswith("POST")]
        return [*made, smoke.Step("the stage breaks", _break)]

    # When it runs
    report = smoke.run(session, say=lambda _: None, steps_of=broken)
    # Then it reports the failure
    assert not report.passed
    assert [o.step for o in report.outcomes if o.error] == ["the stage breaks"]
    # And yet no API key it made still works and no invitation it sent can still be accepted
    keys = session.expect(200, "GET", "/v1/api-keys")["items"]
    assert [key["revoked"] for key in keys] == [True]
    invitations = session.expect(200, "GET", "/v1/invitations")["items"]
    assert [invitation["status"] for invitation in invitations] == ["revoked"]
    # And the one thing it leaves, the tenant (the API deletes none), is named in its report
    assert report.left == [f"tenant {session.tenant_id} ('smoke {session.run_id}': the API deletes no tenant)"]


def _break() -> None:
    raise smoke.SmokeFailure("the stage broke")
