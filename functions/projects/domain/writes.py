"""Optimistic concurrency, once for every write of the context."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from functions.projects.domain.errors import StaleVersion

T = TypeVar("T")

#: How often a write without ``If-Match`` is tried when other writers keep moving the version.
LAST_WRITER_WINS_ATTEMPTS = 3


def read_then_write(attempt: Callable[[], T], *, if_match: int | None) -> T:
    """Run ``attempt`` (read, change, write under a version condition). With ``if_match`` a moved
    version is the caller's ``StaleVersion`` (HTTP 412); without it, the write is tried again on
    what is stored then, so the last writer wins."""
    for remaining in reversed(range(LAST_WRITER_WINS_ATTEMPTS)):
        try:
            return attempt()
        except StaleVersion:
            if if_match is not None or not remaining:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
