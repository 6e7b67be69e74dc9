"""One module per context, each defining ``CONTEXT``: what ``infra/topology.py`` collects.

``keel new context NAME`` writes ``NAME.py`` here; nothing else lists the contexts. Every other
list that names them (import rules, assets, settings, bench scenarios) is derived from the topology.
"""

from __future__ import annotations

import importlib
import pkgutil

from infra.model import Context


def collect() -> tuple[Context, ...]:
    """Every context defined in this package, in name order."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        defined = getattr(importlib.import_module(f"{__name__}.{module.name}"), "CONTEXT", None)
        if not isinstance(defined, Context):
            raise TypeError(f"{__name__}.{module.name} must define CONTEXT = Context(...)")
        if defined.name != module.name:
            raise ValueError(f"{__name__}.{module.name} defines the context {defined.name!r}: name them alike")
        found.append(defined)
    return tuple(found)
