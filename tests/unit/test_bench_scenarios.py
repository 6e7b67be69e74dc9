"""``make bench`` runs the scenario of every context of the topology, and says which one is missing."""

from __future__ import annotations

import dataclasses

from bench import scenarios
from infra.model import Context
from infra.topology import TOPOLOGY


def test_every_context_with_an_api_has_a_scenario_and_every_scenario_a_context() -> None:
    missing = [ctx.name for ctx, scenario in scenarios.for_topology(TOPOLOGY) if scenario is None]
    assert missing == [], "write bench/scenarios/<context>.py for these"
    assert scenarios.strays(TOPOLOGY) == []


def test_a_context_without_a_scenario_is_reported_not_skipped() -> None:
    # Given the topology with a context that has an API and no scenario yet
    newcomer = Context(
        name="inventory", api_handler="functions.inventory.handlers.api", api_prefixes=("/v1/inventory",)
    )
    grown = dataclasses.replace(TOPOLOGY, contexts=(*TOPOLOGY.contexts, newcomer))
    # Then the bench lists it, without a scenario
    assert (newcomer, None) in scenarios.for_topology(grown)
