"""``make bench``'s first-response figure, measured on the test topology's "things" context."""

from __future__ import annotations

from bench.first_response import FirstResponse, measure_context
from bench.harness import Harness
from tests.integration.local.app.topology import LOCAL_THINGS
from tests.integration.local.conftest import Running


def test_the_first_response_replays_the_scenarios_first_request_in_fresh_processes(running: Running) -> None:
    # Given a scenario whose first request to "things" created a thing
    harness = Harness(running.runtime)
    harness.expect(
        201,
        "POST",
        "/v1/things",
        {"name": "lamp"},
        {"Authorization": "Bearer admin:ten_bench", "X-Tenant-Id": "ten_bench"},
    )
    # When its first response is measured
    result = measure_context(harness, LOCAL_THINGS, rounds=1)
    # Then fresh processes answered that request, and the floor made the same DynamoDB requests it did
    assert isinstance(result, FirstResponse), result
    assert result.route == "POST /v1/things"
    assert result.statuses == {201}
    assert result.operations == {"TransactWriteItems": 1}
    assert result.seconds > 0
    assert result.floor_seconds > 0
