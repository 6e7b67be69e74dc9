"""``make bench``'s arithmetic: interleaved ratios, sign-up checkpoints and the budgets' verdicts; and
the scenarios' wait for background work."""

from __future__ import annotations

import itertools

import pytest

from bench.coldstart import interleave
from bench.first_response import APP_ID, FirstResponse, OperationCounter
from bench.harness import wait_for
from bench.signups import Checkpoint, SignupRun, _before, checkpoints_for, p50_ms, window_start


def test_each_sample_is_compared_with_the_floor_measured_around_it() -> None:
    # Given a machine that gets busier as the run goes on: each process takes longer than the last
    busy = itertools.count(start=1.0)

    def floor() -> float:
        return next(busy)

    def twice_the_floor() -> float:
        return 2 * next(busy)

    # When a handler that always costs twice the floor is measured interleaved with it
    (result,) = interleave(floor, [twice_the_floor], rounds=5)
    # Then its ratio is about 2 (each sample over the mean of the floors just before and after it),
    # where a ratio over the median of all floors would be skewed by the drift
    assert result.floors == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert result.samples == [4.0, 8.0, 12.0, 16.0, 20.0]
    assert result.ratio == pytest.approx(2.0)


def test_interleaving_puts_one_floor_between_any_two_samples() -> None:
    order: list[str] = []

    def record(name: str) -> float:
        order.append(name)
        return 1.0

    interleave(lambda: record("F"), [lambda: record("a"), lambda: record("b")], rounds=2)

    assert "".join(order) == "FaFbFaFbF"


def test_sign_up_checkpoints_are_10_100_1000_and_the_last() -> None:
    assert checkpoints_for(1000) == [10, 100, 1000]
    assert checkpoints_for(250) == [10, 100, 250]
    assert checkpoints_for(11) == [10, 11]


def test_a_checkpoints_p50_skips_the_cold_first_sign_up() -> None:
    latencies = [9.0] + [0.010] * 30 + [0.020] * 30  # seconds; the first is a cold start
    assert p50_ms(latencies, 10) == pytest.approx(10.0)  # sign-ups 2..26
    assert p50_ms(latencies, 61) == pytest.approx(20.0)  # sign-ups 37..61


def test_each_window_starts_where_its_p50_starts_so_the_drain_comes_before_it() -> None:
    latencies = [9.0] + [0.050] * 74 + [0.010] * 25  # 75 sign-ups back to back, then 25 on an idle runtime
    assert [window_start(mark) for mark in (10, 100, 1000)] == [2, 76, 976]
    assert p50_ms(latencies, 100) == pytest.approx(10.0)  # sign-ups 76..100: after the drain only
    assert _before(latencies, window_start(100)) == pytest.approx(50.0)  # sign-ups 51..75: back to back
    assert _before(latencies, window_start(10)) is None  # nothing before the first window


def test_a_sign_up_run_breaches_on_latency_growth_memory_or_a_failed_sign_up() -> None:
    flat = SignupRun(140, [Checkpoint(10, 20.0, 180), Checkpoint(1000, 29.0, 480)], seconds=60)
    slower = SignupRun(140, [Checkpoint(10, 20.0, 180), Checkpoint(1000, 31.0, 200)], seconds=60)
    larger = SignupRun(140, [Checkpoint(10, 20.0, 180), Checkpoint(1000, 20.0, 501)], seconds=60)
    stopped = SignupRun(140, [Checkpoint(10, 20.0, 180)], seconds=60, stopped="sign-up 88 failed: 409")

    assert flat.breaches == []
    assert slower.breaches == ["p50 1.55x the first checkpoint's > 1.5x"]
    assert larger.breaches == ["RSS 501 MB > 500 MB"]
    assert stopped.breaches == ["stopped: sign-up 88 failed: 409"]


def test_only_the_probes_dynamodb_requests_are_counted_per_probe() -> None:
    counter = OperationCounter()
    agent = f"Boto3/1.44.5 md/Botocore#1.44.5 app/{APP_ID}-learn cfg/retry-mode#standard"

    counter({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems", "HTTP_USER_AGENT": agent})
    counter({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "HTTP_USER_AGENT": agent})
    counter({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "HTTP_USER_AGENT": "Boto3/1.44.5 (a poller)"})
    counter({"HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords", "HTTP_USER_AGENT": agent})
    counter({"HTTP_X_AMZ_TARGET": "AWSEvents.PutEvents", "HTTP_USER_AGENT": agent})

    assert counter.counts == {"learn": {"TransactWriteItems": 1, "GetItem": 1}}


def test_a_first_response_over_budget_or_answering_5xx_is_a_breach() -> None:
    def row(ratio: float, statuses: frozenset[int]) -> FirstResponse:
        return FirstResponse("identity", "POST /v1/tenants", 1.0, 1.0, ratio, {}, statuses)

    assert row(1.29, frozenset({201})).breaches == []
    assert row(1.31, frozenset({201})).breaches == ["ratio 1.31 > 1.3"]
    assert row(1.0, frozenset({201, 500})).breaches == ["the handler answered [201, 500]"]


def test_a_wait_answers_what_the_check_found_once_it_finds_something() -> None:
    # Given background work that shows up on the third look
    looks = iter([[], [], ["the welcome email"]])
    # Then the wait answers what that look found
    assert wait_for(lambda: next(looks), "the welcome email") == ["the welcome email"]


def test_a_wait_that_finds_nothing_in_time_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"bench: the welcome email did not happen within 0\.01 s"):
        wait_for(lambda: [], "the welcome email", timeout=0.01)
