"""The local trace store stays bounded: a ring of correlation ids, a cap on each chain's steps."""

from __future__ import annotations

from infra.local.traces import MAX_STEPS, RequestSeen, Traces, as_text
from infra.model import Context, Subscription, Topology

TOPOLOGY = Topology(
    authorizer_handler=None,
    outbox_relay_handler="keel.outbox_relay",
    contexts=(
        Context(
            name="billing",
            subscriptions=(
                Subscription(name="provision-free-tier", handler="h", event_types=("identity.tenant.created.v1",)),
            ),
        ),
    ),
).for_stage("test")


def seen(correlation_id: str, request_id: str = "req-1", status: int = 201) -> RequestSeen:
    return RequestSeen("POST", "/v1/tenants", status, 14.2, request_id, correlation_id)


def consumed(correlation_id: str, event_id: str, **fields: object) -> dict[str, object]:
    return {
        "correlation_id": correlation_id,
        "event_id": event_id,
        "event_type": "identity.tenant.created.v1",
        "function_name": TOPOLOGY.context("billing").resource_name("provision-free-tier"),
        "service": "billing-free-tier",
        "outcome": "ok",
        "attempt": 1,
        "duration_ms": 35.4,
        **fields,
    }


def test_only_the_last_correlation_ids_are_kept() -> None:
    traces = Traces(TOPOLOGY, capacity=3)

    for n in range(5):
        traces.request(seen(f"corr-{n}", request_id=f"req-{n}"))

    assert [n for n in range(5) if traces.chain(f"corr-{n}") is not None] == [2, 3, 4]


def test_a_correlation_id_seen_again_is_kept_as_the_newest() -> None:
    traces = Traces(TOPOLOGY, capacity=2)
    traces.request(seen("old"))
    traces.request(seen("other"))

    traces.activity("event consumed", consumed("old", "evt_1"))
    traces.request(seen("newest"))

    assert traces.chain("old") is not None
    assert traces.chain("other") is None


def test_a_chain_keeps_at_most_its_step_budget_and_says_it_was_cut() -> None:
    traces = Traces(TOPOLOGY)

    for n in range(MAX_STEPS + 10):
        traces.request(seen("busy", request_id=f"req-{n}"))

    chain = traces.chain("busy")
    assert chain is not None
    assert len(chain["requests"]) == MAX_STEPS
    assert chain["truncated"] is True
    assert as_text(chain)[-1].endswith("the rest was not kept)")


def test_the_console_reads_one_line_per_request_and_per_event_consumed() -> None:
    shown: list[str] = []
    traces = Traces(TOPOLOGY, show=shown.append)
    traces.activity("request", {"request_id": "req-1", "tenant_id": "ten_1", "route": "/v1/tenants"})

    traces.request(seen("corr-1"))
    traces.activity("event consumed", consumed("corr-1", "evt_1"))
    traces.activity("event consumed", consumed("corr-1", "evt_1", outcome="duplicate", attempt=2))

    assert [line.split("  ", 1)[1] for line in shown] == [
        "POST /v1/tenants 201 14 ms ten_1 corr=corr-1",
        "identity.tenant.created.v1 -> billing provision-free-tier ok 35 ms corr=corr-1",
        "identity.tenant.created.v1 -> billing provision-free-tier duplicate 35 ms (attempt 2) corr=corr-1",
    ]


def test_a_request_refused_before_any_handler_is_shown_without_a_tenant() -> None:
    shown: list[str] = []
    traces = Traces(TOPOLOGY, show=shown.append)

    traces.request(seen("corr-401", status=401))

    assert shown[0].endswith("POST /v1/tenants 401 14 ms - corr=corr-401")
    chain = traces.chain("corr-401")
    assert chain is not None
    assert chain["requests"][0]["route"] is None


def test_the_local_pages_are_neither_shown_nor_kept() -> None:
    shown: list[str] = []
    traces = Traces(TOPOLOGY, show=shown.append)

    traces.request(RequestSeen("GET", "/_local/traces/corr-1", 200, 1.0, "req-9", "req-9"))

    assert shown == []
    assert traces.chain("req-9") is None


def test_no_control_character_from_a_caller_reaches_the_terminal() -> None:
    shown: list[str] = []
    traces = Traces(TOPOLOGY, show=shown.append)

    traces.request(RequestSeen("GET", "/v1/\x1b[2Jx", 404, 1.0, "req-1", "corr-\x07"))

    assert "\x1b" not in shown[0]
    assert "\x07" not in shown[0]
    assert "/v1/\\x1b[2Jx" in shown[0]
    chain = traces.chain("corr-\x07")
    assert chain is not None
    assert all("\x1b" not in line for line in as_text(chain))
