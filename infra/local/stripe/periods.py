"""Billing periods and proration, as Stripe computes them.

Periods: a subscription's periods are counted from its billing cycle anchor. Monthly and yearly
periods keep the anchor's day of the month (and time of day); a month without that day ends on
its last day (an anchor on the 31st renews on 28/29 Feb, then on 31 Mar). Each boundary is
computed from the anchor, never from the previous boundary, so short months do not drift.

Proration is second-based. For a change at ``t`` inside the period ``[start, end)``::

    unused time credit = -round(old amount * (end - t) / (end - start))
    remaining time     = +round(new amount * (end - t) / (end - start))

where an amount is ``unit_amount * quantity`` in minor units and ``round`` is half away from
zero, per line. Each line is rounded on its own, so a credit and a charge for the same price
cancel exactly.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

DAY = 86400


def add_interval(anchor: int, interval: str, count: int) -> int:
    """``anchor`` moved ``count`` intervals forward, keeping the anchor's day of the month."""
    moment = datetime.fromtimestamp(anchor, UTC)
    if interval in ("day", "week"):
        days = count * (7 if interval == "week" else 1)
        return int((moment + timedelta(days=days)).timestamp())
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return int(moment.replace(year=year, month=month + 1, day=day).timestamp())


def next_boundary(anchor: int, interval: str, count: int, after: int) -> int:
    """The first period boundary counted from ``anchor`` that is later than ``after``."""
    n = 1
    if after > anchor:
        # Jump to a boundary no later than ``after`` (periods are at most this long), then step.
        longest = {"day": 1, "week": 7, "month": 31, "year": 366}[interval] * DAY * count
        n = max(1, (after - anchor) // longest)
    while (boundary := add_interval(anchor, interval, n * count)) <= after:
        n += 1
    return boundary


def prorate(amount: int, *, start: int, end: int, at: int) -> int:
    """The part of ``amount`` for ``[at, end)`` out of ``[start, end)``, rounded half away from zero."""
    if end <= start:
        return 0
    remaining = min(max(end - at, 0), end - start)
    numerator = abs(amount) * remaining
    whole, rest = divmod(numerator, end - start)
    rounded = whole + (1 if 2 * rest >= end - start else 0)
    return rounded if amount >= 0 else -rounded


def day_label(timestamp: int) -> str:
    """``15 Mar 2026``, as Stripe writes dates in line descriptions."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment.day} {moment.strftime('%b %Y')}"
