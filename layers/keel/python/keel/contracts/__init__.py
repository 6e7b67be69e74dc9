"""Event contracts, one module per producing context, each defined once.

Consumers import the contracts they consume from here (never from another context's code).
``load_all()`` imports every producer module so the registry is complete.
"""

from __future__ import annotations

import importlib
import pkgutil

from keel.events import REGISTRY, Registry


def load_all() -> Registry:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY
