"""The current time as identity records it: UTC, to the millisecond (what items and events carry)."""

from __future__ import annotations

from datetime import datetime

from keel.clock import Clock


def now(clock: Clock) -> datetime:
    at = clock.now()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
