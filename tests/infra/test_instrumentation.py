"""Every handler the topology names is instrumented by the kernel's one decorator, as its kind: the
API of each context, every consumer and job, the authorizer and the outbox relay."""

from __future__ import annotations

import importlib

import pytest

from infra.model import Topology
from infra.topology import TOPOLOGY
from keel.observability import HandlerKind, instrumentation_of, instrumented


def handlers(topology: Topology) -> list[tuple[str, HandlerKind]]:
    """(module, kind) of every Lambda handler the topology names."""
    named: list[tuple[str, HandlerKind]] = []
    for ctx in topology.contexts:
        if ctx.api_handler:
            named.append((ctx.api_handler, "api"))
        named += [(sub.handler, "consumer") for sub in ctx.subscriptions]
        named += [(job.handler, "job") for job in ctx.jobs]
        named += [(endpoint.handler, "api") for endpoint in ctx.endpoints]  # API Gateway calls them too
    if topology.authorizer_handler:
        named.append((topology.authorizer_handler, "authorizer"))
    named.append((topology.outbox_relay_handler, "relay"))
    return named


@pytest.mark.parametrize(("module", "kind"), handlers(TOPOLOGY), ids=str)
def test_every_handler_the_topology_names_is_instrumented_as_its_kind(module: str, kind: HandlerKind) -> None:
    handler = importlib.import_module(module).handler

    assert instrumentation_of(handler) == kind, f"{module}.handler: decorate it with @instrumented(SERVICE, {kind!r})"


def test_a_plain_function_is_not_instrumented() -> None:
    def handler(event: dict[str, object], context: object) -> None:
        return None

    assert instrumentation_of(handler) is None
    assert instrumentation_of(instrumented("probe", "job")(handler)) == "job"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        instrumented("probe", "cron")  # type: ignore[arg-type]
