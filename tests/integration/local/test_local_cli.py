"""The ``keel`` command line: help, clear errors, and commands run without a dev server.

No runtime runs in this module: ``jobs run`` here starts its own throwaway moto.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import moto
import pytest

from infra.local import cli
from infra.local.environment import SettingConflict, local_environment
from infra.local.runtime import LocalRuntime, PortInUse
from infra.topology import LOCAL_STAGE, Context, Topology
from tests.integration.local.app import tick
from tests.integration.local.app.topology import APP, REF, TOPOLOGY


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        ((), "dev"),
        (("dev",), "--port"),
        (("jobs", "run"), "Scheduled Event"),
        (("dlq", "redrive"), "back to the queue"),
        (("events", "replay"), "--since"),
    ],
)
def test_every_command_explains_itself(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], mentions: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])

    assert exited.value.code == 0
    assert mentions in capsys.readouterr().out


@pytest.mark.parametrize("argv", [(), ("jobs",), ("dlq",), ("events",)], ids=["keel", "jobs", "dlq", "events"])
def test_a_command_without_an_action_prints_usage(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, _, err = run(capsys, *argv)

    assert code == 2
    assert "usage: keel" in err


def test_redrive_without_a_dev_server_says_how_to_start_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "dlq", "redrive", "anything", "--state-dir", str(tmp_path))

    assert code == 2
    assert "no dev server is running" in err
    assert "keel dev" in err


def test_a_stale_dev_json_counts_as_no_dev_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dead = {"pid": 1, "api_url": "http://127.0.0.1:9", "moto_endpoint": "http://127.0.0.1:9", "region": "us-east-1"}
    (tmp_path / "dev.json").write_text(json.dumps(dead | {"topology": REF, "started_at": "2026-01-01T00:00:00"}))

    code, _, err = run(capsys, "dlq", "list", "--state-dir", str(tmp_path))

    assert code == 2
    assert "no dev server is running" in err


def test_replay_rejects_a_time_that_is_not_iso(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "events", "replay", "--since", "yesterday", "--state-dir", str(tmp_path))

    assert code == 2
    assert "not an ISO-8601 time" in err


def test_an_unknown_job_lists_the_known_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "jobs", "run", "nope", "--topology", REF, "--state-dir", str(tmp_path))

    assert code == 2
    assert "probe/tick" in err


def test_an_unloadable_topology_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "jobs", "list", "--topology", f"{APP}.nothing:HERE", "--state-dir", str(tmp_path))

    assert code == 2
    assert "cannot load the topology" in err


def test_a_schedule_eventbridge_would_refuse_stops_keel_dev_before_it_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "dev", "--topology", f"{APP}.topology:BAD_SCHEDULE", "--state-dir", str(tmp_path))

    assert code == 2
    assert "cron(61 * * * ? *)" in err


def test_a_taken_port_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse):
            LocalRuntime(TOPOLOGY, port=port).start()
        code, _, err = run(capsys, "dev", "--port", str(port), "--topology", REF, "--state-dir", str(tmp_path))

    assert code == 2
    assert f"port {port}" in err
    assert "--port" in err


def test_keel_dev_on_a_moto_it_was_not_written_for_stops_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")

    code, _, err = run(capsys, "dev", "--topology", REF, "--state-dir", str(tmp_path), "--port", "0")

    assert code == 2
    assert "keel: error:" in err
    assert "moto 5.3.0 is installed" in err


def test_jobs_run_without_a_dev_server_uses_a_fresh_moto(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = len(tick.FIRED)

    code, out, _ = run(capsys, "jobs", "run", "probe/tick", "--topology", REF, "--state-dir", str(tmp_path))

    assert code == 0
    assert "fresh, empty moto" in out
    assert "finished" in out
    assert len(tick.FIRED) == before + 1


def test_jobs_list_shows_schedules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "jobs", "list", "--topology", REF, "--state-dir", str(tmp_path))

    assert code == 0
    assert "probe/tick" in out
    assert "cron(* * * * ? *)" in out


def test_a_context_setting_that_shadows_a_platform_setting_stops_the_start() -> None:
    # A context called "cors" with a setting ORIGINS would be KEEL_CORS_ORIGINS, which every context reads
    cors = Context(name="cors", table=False, settings={"ORIGINS": "https://evil.example"})
    topology = Topology(
        authorizer_handler=None,
        outbox_relay_handler="keel.outbox_relay",
        contexts=(cors,),
        stage=LOCAL_STAGE,
    )

    with pytest.raises(SettingConflict, match="KEEL_CORS_ORIGINS"):
        local_environment(topology, moto_endpoint="http://127.0.0.1:1")


def test_context_settings_are_named_with_the_contexts_prefix() -> None:
    values = local_environment(TOPOLOGY.for_stage(LOCAL_STAGE), moto_endpoint="http://127.0.0.1:1")

    assert values["KEEL_THINGS_TABLE"] == "keel-local-things"
    assert values["KEEL_PROBE_SENDER"] == "probe@probe.example"
    assert values["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert "KEEL_PROBE_TABLE" not in values  # the probe context has no table


# -- keel migrate ------------------------------------------------------------------------------------


def test_migrate_without_a_dev_server_runs_on_a_fresh_moto(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given no dev server, when identity's migrations are run locally
    code, out, _ = run(capsys, "migrate", "--context", "identity", "--state-dir", str(tmp_path))
    # Then they run, in order, against a fresh and empty table, and say so
    assert code == 0
    assert "fresh, empty moto" in out
    assert "identity/0001_tenant_schema_version" in out
    assert "1 migration(s) run, 0 items touched." in out


def test_migrate_names_the_contexts_it_knows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "migrate", "--context", "nobody", "--state-dir", str(tmp_path))
    assert code == 2
    assert "identity" in err


def test_a_context_reads_another_contexts_secret_under_its_own_setting_name() -> None:
    # Given a context that reads the secret another owns, and sends email
    owner = Context(name="keeper", secrets=("shared-key",))
    reader = Context(name="reader", reads_secrets=(("keeper", "shared-key"),), sends_email=True)
    topology = Topology(authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=(owner, reader))
    # When the local runtime renders it
    values = local_environment(topology.for_stage(LOCAL_STAGE), moto_endpoint="http://127.0.0.1:1")
    # Then the reader finds the owner's value under its own name, and its SES configuration set
    assert values["KEEL_READER_SHARED_KEY"] == values["KEEL_KEEPER_SHARED_KEY"]
    assert values["KEEL_READER_CONFIGURATION_SET"] == "keel-local-reader-email"
    assert "KEEL_KEEPER_CONFIGURATION_SET" not in values
