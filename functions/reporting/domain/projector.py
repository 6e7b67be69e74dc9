"""Applies events to the read models: read what the event touches, compute the changes, commit them
in one transaction; read again and retry when another event changed the same state meanwhile."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Literal

from functions.reporting.domain import projects_events  # noqa: F401 - registers the projects readers
from functions.reporting.domain.facts import Fact, read
from functions.reporting.domain.model import changes
from functions.reporting.domain.ports import AlreadyApplied, Contended, Models

#: Attempts at one event in one invocation before SQS delivers it again.
ATTEMPTS = 6

Applied = Literal["ok", "duplicate"]


class Projector:
    """Builds the read models of one version from events, in any order, each applied once."""

    def __init__(self, models: Models, *, pause: Callable[[float], None] = time.sleep) -> None:
        self._models = models
        self._pause = pause

    def apply(self, fact: Fact) -> Applied:
        """Apply ``fact``: ``ok``, or ``duplicate`` when the model holds it already."""
        reading = read(fact)
        keys = list(dict.fromkeys((kind, entity_id) for kind, entity_id, _ in reading.lifecycles))
        for attempt in range(ATTEMPTS):
            tenant, entities = self._models.load(fact.tenant_id, keys)
            try:
                self._models.commit(changes(fact, reading, tenant, entities))
            except AlreadyApplied:
                return "duplicate"
            except Contended:
                if attempt == ATTEMPTS - 1:
                    raise
                self._pause(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 - jitter, not a secret
                continue
            return "ok"
        raise AssertionError("unreachable")
