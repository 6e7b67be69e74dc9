"""Money: integer minor units with a currency, never floats. Proration and splitting that add up.

Proration is second-based and rounds half away from zero to the minor unit, as Stripe prorates a
period: the part of ``amount`` for ``remaining`` of ``period`` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def round_half_away_from_zero(value: Fraction) -> int:
    """``value`` to the nearest integer; a half goes away from zero (2.5 -> 3, -2.5 -> -3)."""
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


def prorate(amount: int, *, remaining: int, period: int) -> int:
    """The part of ``amount`` that ``remaining`` seconds of a ``period``-second period are worth:
    between 0 and ``amount`` (``remaining`` is clamped to the period)."""
    if amount < 0:
        raise ValueError("an amount to prorate is never negative")
    if period <= 0:
        raise ValueError("a period lasts at least a second")
    share = min(max(remaining, 0), period)
    return round_half_away_from_zero(Fraction(amount * share, period))


def refundable(paid: int, refunded: int) -> int:
    """What is left to refund of ``paid`` once ``refunded`` went back (never negative)."""
    return max(0, paid - max(refunded, 0))


def prorated_refund(*, paid: int, refunded: int, period_start: int, period_end: int, at: int) -> int:
    """The refund for the unused part of a period paid in full, if it ends at ``at`` (Unix seconds):
    ``paid`` prorated over the time left, never more than is left to refund, never negative."""
    unused = prorate(paid, remaining=period_end - at, period=max(period_end - period_start, 1))
    return min(unused, refundable(paid, refunded))


def split(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` in parts proportional to ``weights`` (largest remainder): the parts add up to
    ``amount`` exactly, and none is negative."""
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts and weights are never negative")
    total = sum(weights)
    if not weights or total == 0:
        raise ValueError("at least one positive weight is needed")
    exact = [Fraction(amount * w, total) for w in weights]
    parts = [int(x) for x in exact]
    short = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - parts[i], -i), reverse=True)
    for i in by_remainder[:short]:
        parts[i] += 1
    return parts


def format_amount(amount: int, currency: str) -> str:
    """``2900, "usd"`` -> ``"29.00 USD"`` (two-decimal currencies; for messages, not arithmetic)."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d} {currency.upper()}"
