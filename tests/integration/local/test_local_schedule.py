"""Schedule expressions as EventBridge reads them, and the scheduler firing a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.lambdas import LocalFunction
from infra.local.schedule import Rate, ScheduledJob, ScheduleError, Scheduler, parse_schedule, run_job
from tests.integration.local.app import tick
from tests.integration.local.conftest import eventually


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "every"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 days)", timedelta(days=2)),
    ],
)
def test_rates_fire_one_period_after_the_last_firing(expression: str, every: timedelta) -> None:
    schedule = parse_schedule(expression)

    assert schedule == Rate(every)
    assert schedule.next_after(at("2026-11-22T06:00:00")) == at("2026-11-22T06:00:00") + every


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", "2026-11-22T06:00:00", "2026-11-22T12:00:00"),
        ("cron(0/15 * * * ? *)", "2026-11-22T10:07:30", "2026-11-22T10:15:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-11-21T10:00:00", "2026-11-23T09:00:00"),
        ("cron(30 8 1 JAN,JUL ? *)", "2026-02-01T00:00:00", "2026-07-01T08:30:00"),
        ("cron(0 0 L * ? *)", "2026-02-10T00:00:00", "2026-02-28T00:00:00"),
        ("cron(0 0 LW * ? *)", "2026-02-10T00:00:00", "2026-02-27T00:00:00"),
        ("cron(0 0 15W * ? *)", "2026-08-01T00:00:00", "2026-08-14T00:00:00"),
        ("cron(0 0 1W * ? *)", "2026-07-31T12:00:00", "2026-08-03T00:00:00"),
        ("cron(0 10 ? * 6#3 *)", "2026-12-01T00:00:00", "2026-12-18T10:00:00"),
        ("cron(0 10 ? * 6L *)", "2026-12-01T00:00:00", "2026-12-25T10:00:00"),
        ("cron(0 0 1 1 ? 2027-2030)", "2026-11-22T00:00:00", "2027-01-01T00:00:00"),
        ("cron(* * * * ? *)", "2026-11-22T06:00:00", "2026-11-22T06:01:00"),
    ],
)
def test_cron_expressions_fire_when_eventbridge_would(expression: str, after: str, expected: str) -> None:
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


def test_a_cron_whose_years_have_passed_never_fires_again() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_after(at("2026-11-22T00:00:00")) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 12 * * *)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(60 12 * * ? *)",
        "cron(0 12 10-5 * ? *)",
        "cron(0/0 12 * * ? *)",
        "every day at noon",
    ],
)
def test_expressions_eventbridge_rejects_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


def test_the_scheduler_fires_a_due_job_with_a_scheduled_event() -> None:
    # Given a clock 0.3 s before the next minute and a job that runs every minute
    now = datetime.now(UTC)
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    offset = boundary - now - timedelta(seconds=0.3)
    job = ScheduledJob(
        name="probe/tick",
        function=LocalFunction("keel-probe-tick", "tests.integration.local.app.tick", region="us-east-1"),
        schedule=parse_schedule("cron(* * * * ? *)"),
        expression="cron(* * * * ? *)",
        rule_arn="arn:aws:events:us-east-1:123456789012:rule/keel-probe-tick",
    )
    scheduler = Scheduler([job], region="us-east-1", clock=lambda: datetime.now(UTC) + offset)
    before = len(tick.FIRED)

    scheduler.start()
    try:
        eventually(lambda: len(tick.FIRED) > before, timeout=5)
    finally:
        scheduler.stop()
        scheduler.join(5)

    event = tick.FIRED[before]
    assert event["time"] == boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["detail-type"] == "Scheduled Event"
    assert job.runs == 1
    assert job.last_result == "ok"
    assert job.next_run == boundary + timedelta(minutes=1)
    assert scheduler.status()["status"] == "stopped"


def test_a_failing_job_is_recorded_and_does_not_raise() -> None:
    job = ScheduledJob(
        name="probe/broken",
        function=LocalFunction("keel-probe-broken", "tests.integration.local.app.echo", region="us-east-1"),
        schedule=parse_schedule("rate(1 hour)"),
        expression="rate(1 hour)",
        rule_arn="arn:aws:events:us-east-1:123456789012:rule/keel-probe-broken",
    )

    assert run_job(job, datetime.now(UTC), "us-east-1") is None
    assert job.last_result is not None
    assert job.last_result.startswith("KeyError")
