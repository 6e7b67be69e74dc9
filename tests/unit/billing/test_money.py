"""Money and proration: never negative, never more than was paid, and the parts add up."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.billing.domain.money import (
    format_amount,
    prorate,
    prorated_refund,
    refundable,
    round_half_away_from_zero,
    split,
)

amounts = st.integers(min_value=0, max_value=10**9)
periods = st.integers(min_value=1, max_value=400 * 86400)
FAST = settings(max_examples=300, deadline=None)


@FAST
@given(amount=amounts, period=periods, data=st.data())
def test_a_prorated_part_is_never_negative_nor_more_than_the_whole(
    amount: int, period: int, data: st.DataObject
) -> None:
    remaining = data.draw(st.integers(min_value=-period, max_value=2 * period))
    part = prorate(amount, remaining=remaining, period=period)
    assert 0 <= part <= amount


@FAST
@given(amount=amounts, period=periods, data=st.data())
def test_the_used_and_the_unused_parts_of_a_period_add_up_to_what_was_paid(
    amount: int, period: int, data: st.DataObject
) -> None:
    used = data.draw(st.integers(min_value=0, max_value=period))
    unused = prorate(amount, remaining=period - used, period=period)
    kept = amount - unused
    assert kept + unused == amount
    assert abs(kept - Fraction(amount * used, period)) <= Fraction(1, 2)


@FAST
@given(paid=amounts, data=st.data())
def test_a_prorated_refund_never_exceeds_what_is_left_to_refund(paid: int, data: st.DataObject) -> None:
    refunded = data.draw(st.integers(min_value=0, max_value=paid + 100))
    start = data.draw(st.integers(min_value=0, max_value=10**9))
    length = data.draw(periods)
    at = data.draw(st.integers(min_value=start - length, max_value=start + 2 * length))
    refund = prorated_refund(paid=paid, refunded=refunded, period_start=start, period_end=start + length, at=at)
    assert 0 <= refund <= refundable(paid, refunded) <= paid


@FAST
@given(amount=amounts, weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12))
def test_a_split_adds_up_to_the_amount_and_no_part_is_negative(amount: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = split(amount, weights)
    assert sum(parts) == amount
    assert all(part >= 0 for part in parts)
    total = sum(weights)
    assert all(abs(p - Fraction(amount * w, total)) < 1 for p, w in zip(parts, weights, strict=True))


def test_rounding_takes_halves_away_from_zero_as_stripe_does() -> None:
    assert [round_half_away_from_zero(Fraction(n, 2)) for n in (5, 3, -5, -3, 4)] == [3, 2, -3, -2, 2]
    assert prorate(2900, remaining=15 * 86400, period=30 * 86400) == 1450
    assert prorate(999, remaining=1, period=2) == 500


def test_nothing_is_prorated_from_a_negative_amount_or_an_empty_period() -> None:
    with pytest.raises(ValueError, match="negative"):
        prorate(-1, remaining=1, period=2)
    with pytest.raises(ValueError, match="second"):
        prorate(1, remaining=1, period=0)
    with pytest.raises(ValueError, match="weight"):
        split(10, [0, 0])


def test_amounts_read_in_their_major_unit() -> None:
    assert (format_amount(2900, "usd"), format_amount(-5, "eur")) == ("29.00 USD", "-0.05 EUR")
