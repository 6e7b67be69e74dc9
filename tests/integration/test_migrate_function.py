"""The migration function (``keel.migrate``) under moto: invoked per batch by ``keel migrate --stage``,
and by CloudFormation as the custom resource every deploy runs before traffic shifts.

Lambda cannot run our code under moto and CloudFormation is not here: the function's handler is called
in-process, and CloudFormation's response URL is a local HTTP server that records what it is told."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from infra.local import migrate as cli_migrate
from keel import migrate, settings
from keel.migrations import PAGE_SIZE
from tests.support.moto import all_items, create_context_table
from tests.support.staged import THINGS

TABLE = THINGS.table_name
MARK, REFUSE = "0001_mark_things", "0002_refuse_things"
ITEMS = 2 * PAGE_SIZE + 3


@dataclass
class Context:
    """The Lambda context: ``remaining_ms`` left of the invocation."""

    remaining_ms: int = 600_000
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{THINGS.migrations_function_name}"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class CloudFormation:
    """Where the custom resource answers: every PUT body it received."""

    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    received: list[dict[str, Any]] = []

    class Answered(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answered)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield CloudFormation(f"http://127.0.0.1:{server.server_port}/response?signature=x", received)
    finally:
        server.shutdown()


@pytest.fixture
def things(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The things table with ITEMS things, and the migration function's settings pointing at it."""
    monkeypatch.setenv("KEEL_MIGRATIONS_TABLE", TABLE)
    monkeypatch.setenv("KEEL_MIGRATIONS_PACKAGE", "tests.support.thing_migrations")
    settings.reset()
    create_context_table(TABLE)
    with boto3.resource("dynamodb").Table(TABLE).batch_writer() as batch:
        for n in range(ITEMS):
            batch.put_item(Item={"pk": f"TENANT#ten_{n % 7}", "sk": f"THING#{n:04d}"})


def _event(cloudformation: CloudFormation, request: str, migrations: list[str]) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResponseURL": cloudformation.url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Keel-Test-Things/1",
        "RequestId": "req-1",
        "LogicalResourceId": "MigrateRun1234",
        "ResourceType": "Custom::KeelMigrations",
        "ResourceProperties": {"ServiceToken": "arn", "Migrations": migrations},
    }


def _marked() -> int:
    return sum(1 for item in all_items(TABLE) if item.get("marked"))


# -- invoked by keel migrate -------------------------------------------------------------------------


def test_status_names_every_migration_and_the_tables_size(things: None) -> None:
    answer = migrate.handler({"action": "status"}, Context())  # type: ignore[arg-type]
    assert [(m["id"], m["state"]) for m in answer["migrations"]] == [(MARK, "pending"), (REFUSE, "pending")]
    assert answer["estimated_items"] == ITEMS


def test_a_run_applies_at_most_the_pages_it_is_given(things: None) -> None:
    answer = migrate.handler({"action": "run", "migration": MARK, "pages": 1}, Context())  # type: ignore[arg-type]
    assert (answer["pages"], answer["finished"]) == (1, False)
    assert _marked() == answer["touched"] > 0


@pytest.mark.parametrize(
    "event",
    [
        {"action": "drop"},
        {"action": "run", "migration": MARK, "pages": 0},
        {"action": "run", "migration": MARK, "pages": "all"},
        {"action": "run", "migration": 1},
        {"action": "run", "migration": MARK, "dry_run": "yes"},
    ],
)
def test_a_malformed_invocation_is_refused(things: None, event: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each names its own problem
        migrate.handler(event, Context())  # type: ignore[arg-type]
    assert _marked() == 0


def test_keel_migrate_runs_a_stage_batch_by_batch_until_finished(things: None) -> None:
    # Given the stage's migration function, reached as `keel migrate --stage` reaches it
    calls: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        assert function == THINGS.migrations_function_name
        calls.append(event)
        return migrate.handler(event, Context())  # type: ignore[arg-type]

    said: list[str] = []
    # When it runs the pending migrations one page per invocation
    report = cli_migrate.run_remote(
        [THINGS], invoke=invoke, dry_run=False, say=said.append, show=said.append, pages_per_batch=1
    )
    # Then it invoked the function until each was finished, and the table is migrated
    runs = [c for c in calls if c["action"] == "run" and c["migration"] == MARK]
    assert len(runs) == 3
    assert _marked() == ITEMS
    assert [(context, migration, progress.touched) for context, migration, progress in report.runs] == [
        ("things", MARK, ITEMS),
        ("things", REFUSE, 0),
    ]
    assert any("finished" in line and MARK in line for line in said)


# -- invoked by CloudFormation, before traffic shifts -------------------------------------------------


def test_a_deploy_applies_the_pending_migrations_it_names_then_answers_success(
    things: None, cloudformation: CloudFormation
) -> None:
    answer = migrate.handler(_event(cloudformation, "Update", [MARK]), Context())  # type: ignore[arg-type]
    (told,) = cloudformation.answers
    assert (told["Status"], told["Data"]) == ("SUCCESS", {"Applied": MARK})
    assert answer == {"applied": [MARK]}
    assert _marked() == ITEMS
    # And a migration the template does not name is left for a later deploy
    statuses = {m["id"]: m["state"] for m in migrate.handler({"action": "status"}, Context())["migrations"]}  # type: ignore[arg-type]
    assert statuses == {MARK: "finished", REFUSE: "pending"}


def test_a_failing_migration_fails_the_deploy_with_its_reason(things: None, cloudformation: CloudFormation) -> None:
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "TENANT#broken"}, "sk": {"S": "THING#x"}})
    migrate.handler(_event(cloudformation, "Create", [MARK, REFUSE]), Context())  # type: ignore[arg-type]
    (told,) = cloudformation.answers
    assert told["Status"] == "FAILED"
    assert "cannot migrate THING#x" in told["Reason"]
    # What finished before it stays finished (a rerun resumes, never repeats)
    assert _marked() == ITEMS + 1


def test_a_rollback_or_a_delete_runs_nothing(things: None, cloudformation: CloudFormation) -> None:
    # Given a rollback (the previous template's list, here none) and a stack deletion
    migrate.handler(_event(cloudformation, "Update", []), Context())  # type: ignore[arg-type]
    migrate.handler(_event(cloudformation, "Delete", [MARK]), Context())  # type: ignore[arg-type]
    # Then both succeed at once and no item changed
    assert [told["Status"] for told in cloudformation.answers] == ["SUCCESS", "SUCCESS"]
    assert _marked() == 0


def _deployed_function() -> str:
    """The migration function as moto knows it (it accepts an invocation; it cannot run our code)."""
    role = boto3.client("iam").create_role(RoleName="migrations", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as code:
        code.writestr("index.py", "def handler(event, context): return None\n")
    created = boto3.client("lambda").create_function(
        FunctionName=THINGS.migrations_function_name,
        Runtime="python3.13",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    return str(created["FunctionArn"])


def test_a_deploy_out_of_time_hands_over_to_a_fresh_invocation_without_answering(
    things: None, cloudformation: CloudFormation
) -> None:
    # Given the deployed migration function, and an invocation with too little time left for a page
    arn = _deployed_function()
    sent: list[dict[str, Any]] = []
    migrate.aws.client("lambda").meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: sent.append(params)
    )
    event = _event(cloudformation, "Update", [MARK])
    answer = migrate.handler(event, Context(remaining_ms=migrate.RESERVE_MS, invoked_function_arn=arn))  # type: ignore[arg-type]
    # Then it invokes itself again, asynchronously, with CloudFormation's event, and answers nothing yet
    assert answer == {"continued": MARK}
    (request,) = sent
    assert (request["FunctionName"], request["InvocationType"], json.loads(request["Payload"])) == (arn, "Event", event)
    assert cloudformation.answers == []
