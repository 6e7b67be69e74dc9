"""What the local runtime shows of what happens: the trace header API Gateway adds, the chain one
correlation id caused (``/_local/traces/{id}``, ``keel trace``), and one console line per request and
per event consumed. The things chain: created -> count_things and forward; forward publishes
forwarded -> witness and mail (which emails)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from infra.local import cli
from keel import trace_context
from tests.integration.local.app import echo, mail
from tests.integration.local.conftest import Running, eventually
from tests.support import things

TENANT = "ten_01JDEEEEEEEEEEEEEEEEEEEEEE"
ADMIN = {"Authorization": f"Bearer admin:{TENANT}", "X-Tenant-Id": TENANT, "Content-Type": "application/json"}
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
TRACE_ID = "5759e988bd862e3fe1be46a994272793"
#: What the chain of one created thing holds once every consumer has run.
DELIVERIES = {
    ("things.thing.created.v1", "things count_things"),
    ("things.thing.created.v1", "things forward"),
    ("things.thing.forwarded.v1", "things witness"),
    ("things.thing.forwarded.v1", "things mail"),
}


def create_thing(running: Running, correlation_id: str, **headers: str) -> str:
    status, body = running.json(
        "POST",
        "/v1/things",
        body=json.dumps({"name": "lamp"}),
        headers={**ADMIN, "X-Correlation-Id": correlation_id, **headers},
    )
    assert status == 201, body
    return str(body["id"])


def trace(running: Running, correlation_id: str) -> dict[str, Any] | None:
    status, body = running.json("GET", f"/_local/traces/{correlation_id}")
    return body if status == 200 else None


def delivered(chain: dict[str, Any] | None) -> set[tuple[str, str]]:
    if chain is None:
        return set()
    return {(e["type"], d["consumer"]) for e in chain["events"] for d in e["deliveries"] if d["outcome"] == "ok"}


def complete(running: Running, correlation_id: str) -> dict[str, Any]:
    """The chain once every consumer of the things chain ran, and SES took the email."""

    def done() -> dict[str, Any] | None:
        chain = trace(running, correlation_id)
        return chain if chain and delivered(chain) >= DELIVERIES and chain["emails"] else None

    found: dict[str, Any] = eventually(done, timeout=20)
    return found


# -- the trace header --------------------------------------------------------------------------------


def test_the_gateway_hands_each_request_a_trace_as_api_gateway_does(running: Running) -> None:
    # A request without a trace gets a new one; one with a valid X-Ray header keeps it
    for sent, kept in (({}, False), ({"X-Amzn-Trace-Id": XRAY}, True)):
        status, body = running.json("GET", "/v1/probe/public", headers=sent)
        assert status == 200
        header = body["event"]["headers"]["X-Amzn-Trace-Id"]
        parsed = trace_context.from_xray(header)
        assert parsed is not None
        assert (parsed.trace_id == TRACE_ID) is kept
    assert echo.RECEIVED


# -- /_local/traces ------------------------------------------------------------------------------------


def test_a_request_shows_its_chain_across_two_hops_with_outcomes_attempts_and_emails(running: Running) -> None:
    # Given a request with a correlation id, in a trace the caller started
    correlation_id = f"corr-chain-{uuid.uuid4()}"
    thing_id = create_thing(running, correlation_id, **{"X-Amzn-Trace-Id": XRAY})

    # When everything it caused has run
    chain = complete(running, correlation_id)

    # Then its trace shows the request, both events, every consumer with outcome and attempt, the email
    assert chain["correlation_id"] == correlation_id
    assert chain["trace_id"] == TRACE_ID
    [request] = chain["requests"]
    assert {k: request[k] for k in ("method", "path", "route", "status", "tenant_id")} == {
        "method": "POST",
        "path": "/v1/things",
        "route": "/v1/things",
        "status": 201,
        "tenant_id": TENANT,
    }
    assert [e["type"] for e in chain["events"]] == ["things.thing.created.v1", "things.thing.forwarded.v1"]
    assert all(e["published_at"] and e["tenant_id"] == TENANT for e in chain["events"])
    assert all(d["attempt"] == 1 for e in chain["events"] for d in e["deliveries"])
    [email] = chain["emails"]
    assert email["to"] == [mail.recipient(thing_id)]
    assert email["from"] == mail.SENDER
    assert email["subject"] == f"Your thing {thing_id}"
    # And the second hop handled its event in the request's correlation id and trace
    seen = next(w for w in things.WITNESSED if w.envelope.correlation_id == correlation_id)
    assert seen.correlation_id == correlation_id
    assert seen.trace is not None
    assert seen.trace.trace_id == TRACE_ID


def test_a_consumer_that_fails_once_shows_both_attempts(running: Running) -> None:
    correlation_id = f"corr-retry-{uuid.uuid4()}"
    things.Flaky.failing = {"flaky"}
    try:
        status, body = running.json(
            "POST",
            "/v1/things",
            body=json.dumps({"name": "flaky"}),
            headers={**ADMIN, "X-Correlation-Id": correlation_id},
        )
        assert status == 201, body
        # Generous: the retry waits out its delay, and a loaded machine (two test workers) slows the chain.
        eventually(lambda: "failed" in json.dumps(trace(running, correlation_id)), timeout=30)
    finally:
        things.Flaky.failing = set()

    def counted() -> dict[str, Any] | None:
        chain = trace(running, correlation_id)
        return chain if ("things.thing.created.v1", "things count_things") in delivered(chain) else None

    chain = eventually(counted, timeout=30)

    [created] = [e for e in chain["events"] if e["type"] == "things.thing.created.v1"]
    counted = [(d["outcome"], d["attempt"]) for d in created["deliveries"] if d["consumer"] == "things count_things"]
    assert counted[0] == ("failed", 1)
    assert counted[-1] == ("ok", len(counted))


def test_a_trace_is_a_page_for_a_browser_with_everything_escaped(running: Running) -> None:
    correlation_id = f"<script>alert(1)</script>{uuid.uuid4()}"
    create_thing(running, correlation_id)
    path = f"/_local/traces/{quote(correlation_id, safe='')}"
    eventually(lambda: running.request("GET", path)[0] == 200)

    status, headers, body = running.request("GET", path, headers={"Accept": "text/html,application/xhtml+xml"})

    assert status == 200
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "POST /v1/things" in page


def test_an_unknown_correlation_id_is_a_404_in_the_error_shape(running: Running) -> None:
    status, body = running.json("GET", "/_local/traces/never-seen")

    assert status == 404
    assert body["error"]["code"] == "not_found"


# -- keel trace -------------------------------------------------------------------------------------------


def test_keel_trace_prints_the_chain_in_the_terminal(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    correlation_id = f"corr-cli-{uuid.uuid4()}"
    create_thing(running, correlation_id)
    complete(running, correlation_id)

    assert cli.main(["trace", correlation_id, "--state-dir", str(running.state_dir)]) == 0

    out = capsys.readouterr().out
    assert f"correlation id {correlation_id}" in out
    assert re.search(r"POST /v1/things 201 \d+ ms " + TENANT, out)
    assert "-> things witness ok" in out
    assert "email to owner+" in out


def test_keel_trace_says_so_when_the_dev_server_has_not_seen_the_id(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trace", "nothing-like-it", "--state-dir", str(running.state_dir)]) == 2

    assert "keel dev has seen nothing for 'nothing-like-it'" in capsys.readouterr().err


# -- the console --------------------------------------------------------------------------------------------


def test_the_console_shows_one_readable_line_per_request_and_per_event_consumed(running: Running) -> None:
    correlation_id = f"corr-console-{uuid.uuid4()}"
    create_thing(running, correlation_id)
    complete(running, correlation_id)

    mine = [line for line in running.shown if line.endswith(f"corr={correlation_id}")]
    assert any(
        re.fullmatch(rf"\d\d:\d\d:\d\d  POST /v1/things 201 \d+ ms {TENANT} corr={correlation_id}", line)
        for line in mine
    )
    for event_type, consumer in DELIVERIES:
        pattern = rf"\d\d:\d\d:\d\d  {re.escape(event_type)} -> {consumer} ok \d+ ms corr={correlation_id}"
        assert any(re.fullmatch(pattern, line) for line in mine), (event_type, consumer, mine)
    assert not any(line.lstrip("0123456789: ").startswith("{") for line in running.shown)  # no JSON here
