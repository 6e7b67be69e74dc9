"""One scenario per context: the steps ``make bench`` drives through that context's real handlers.

A scenario is a module named after its context (``bench/scenarios/<context>.py``, which ``keel new
context`` writes) with a function ``steps(harness) -> list[Step]``; the harness (``bench.harness``)
gives it an in-process API client with a signed-in caller, on moto provisioned from the topology.
Which scenarios run comes from the topology: a context with an API and no scenario is reported.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from infra.topology import Context, Topology


def for_topology(topology: Topology) -> list[tuple[Context, ModuleType | None]]:
    """Each context with an API, and its scenario (``None`` when it has none yet)."""
    found: list[tuple[Context, ModuleType | None]] = []
    for ctx in topology.contexts:
        if not ctx.api_handler:
            continue
        name = f"{__name__}.{ctx.name}"
        try:
            found.append((ctx, importlib.import_module(name)))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            found.append((ctx, None))
    return found


def strays(topology: Topology) -> list[str]:
    """Scenario modules that name no context of ``topology`` (they would never run)."""
    contexts = {ctx.name for ctx in topology.contexts}
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in contexts)
