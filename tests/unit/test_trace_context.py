"""The trace context in its two forms: W3C ``traceparent`` (envelopes) and X-Ray's header (Lambda, EventBridge)."""

from __future__ import annotations

import time

import pytest

from keel import trace_context
from keel.trace_context import TraceContext

XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACEPARENT = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def test_an_xray_header_and_a_traceparent_name_the_same_trace() -> None:
    from_xray = trace_context.from_xray(XRAY)

    assert from_xray == TraceContext("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", sampled=True)
    assert from_xray.traceparent == TRACEPARENT
    assert trace_context.from_traceparent(TRACEPARENT) == from_xray
    assert from_xray.xray_header == XRAY


def test_lambdas_header_with_lineage_and_an_unsampled_trace_is_read() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1"

    parsed = trace_context.from_xray(header)

    assert parsed is not None
    assert parsed.sampled is False
    assert parsed.traceparent.endswith("-00")


def test_an_xray_header_without_a_parent_gets_a_span_of_its_own() -> None:
    parsed = trace_context.from_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")

    assert parsed is not None
    assert parsed.trace_id == "5759e988bd862e3fe1be46a994272793"
    assert len(parsed.span_id) == 16


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8",  # no flags
        "00-5759E988BD862E3FE1BE46A994272793-53995c3f42cd8ad8-01",  # upper case
        "01-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",  # a version this level does not know
        "00-00000000000000000000000000000000-53995c3f42cd8ad8-01",  # all-zero trace id
        "00-5759e988bd862e3fe1be46a994272793-0000000000000000-01",  # all-zero span id
    ],
)
def test_a_malformed_traceparent_names_no_trace(value: str | None) -> None:
    assert trace_context.from_traceparent(value) is None


@pytest.mark.parametrize("header", [None, "", "Root=2-5759e988-bd862e3fe1be46a994272793", "Parent=53995c3f42cd8ad8"])
def test_an_xray_header_without_a_valid_root_names_no_trace(header: str | None) -> None:
    assert trace_context.from_xray(header) is None


def test_a_new_trace_is_a_valid_xray_root_starting_with_the_current_time() -> None:
    before = int(time.time())

    new = TraceContext.new()

    assert before <= int(new.trace_id[:8], 16) <= int(time.time())
    assert trace_context.from_xray(new.xray_header) == new
    assert trace_context.from_traceparent(new.traceparent) == new


def test_a_child_continues_the_trace_in_a_new_span() -> None:
    parent = TraceContext.new(sampled=True)

    child = parent.child()

    assert (child.trace_id, child.sampled) == (parent.trace_id, True)
    assert child.span_id != parent.span_id
