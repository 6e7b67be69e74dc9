"""The local Stripe's arithmetic (periods, proration) and its form decoding, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.local.stripe.errors import StripeError
from infra.local.stripe.forms import parse_form
from infra.local.stripe.params import Params, merge_metadata
from infra.local.stripe.periods import add_interval, day_label, next_boundary, prorate

JAN_31 = int(datetime(2030, 1, 31, 12, tzinfo=UTC).timestamp())


def day(timestamp: int) -> tuple[int, int, int]:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.year, moment.month, moment.day


# -- periods --------------------------------------------------------------------------------------


def test_monthly_periods_keep_the_anchor_day_and_clamp_short_months() -> None:
    boundaries = [add_interval(JAN_31, "month", n) for n in range(1, 5)]

    assert [day(b) for b in boundaries] == [(2030, 2, 28), (2030, 3, 31), (2030, 4, 30), (2030, 5, 31)]
    assert datetime.fromtimestamp(boundaries[0], UTC).hour == 12  # the time of day is kept


def test_leap_years_and_other_intervals() -> None:
    feb_29 = int(datetime(2032, 2, 29, tzinfo=UTC).timestamp())

    assert day(add_interval(feb_29, "year", 1)) == (2033, 2, 28)
    assert day(add_interval(feb_29, "year", 4)) == (2036, 2, 29)
    assert add_interval(feb_29, "week", 2) - feb_29 == 14 * 86400
    assert add_interval(feb_29, "day", 3) - feb_29 == 3 * 86400


@settings(max_examples=60)
@given(
    anchor=st.integers(min_value=1_500_000_000, max_value=2_500_000_000),
    interval=st.sampled_from(["week", "month", "year"]),
    count=st.integers(min_value=1, max_value=3),
    offset=st.integers(min_value=0, max_value=12 * 366 * 86400),
)
def test_next_boundary_is_the_first_boundary_after(anchor: int, interval: str, count: int, offset: int) -> None:
    after = anchor + offset

    boundary = next_boundary(anchor, interval, count, after)

    n = 1  # the reference: step from the anchor one period at a time
    while add_interval(anchor, interval, n * count) <= after:
        n += 1
    assert boundary == add_interval(anchor, interval, n * count)


# -- proration ------------------------------------------------------------------------------------


def test_proration_is_second_based_and_rounds_half_away_from_zero() -> None:
    start, end = 0, 31 * 86400

    assert prorate(2900, start=start, end=end, at=15 * 86400) == 1497  # 1496.77
    assert prorate(-2900, start=start, end=end, at=15 * 86400) == -1497
    assert prorate(3, start=0, end=2, at=1) == 2  # 1.5 rounds up
    assert prorate(2900, start=start, end=end, at=start) == 2900
    assert prorate(2900, start=start, end=end, at=end) == 0


amounts = st.integers(min_value=0, max_value=10_000_000)
periods = st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=400 * 86400))


@given(amount=amounts, period=periods, where=st.floats(min_value=0, max_value=1))
def test_a_proration_is_never_negative_nor_more_than_the_price(
    amount: int, period: tuple[int, int], where: float
) -> None:
    start, length = period
    at = start + int(length * where)

    part = prorate(amount, start=start, end=start + length, at=at)

    assert 0 <= part <= amount


@given(amount=amounts, period=periods, where=st.floats(min_value=0, max_value=1))
def test_a_credit_and_a_charge_for_the_same_price_cancel_exactly(
    amount: int, period: tuple[int, int], where: float
) -> None:
    start, length = period
    at = start + int(length * where)

    credit = prorate(-amount, start=start, end=start + length, at=at)
    charge = prorate(amount, start=start, end=start + length, at=at)

    assert credit + charge == 0


@given(amount=amounts, period=periods, cut=st.floats(min_value=0, max_value=1))
def test_the_used_and_unused_parts_add_up_to_the_price_within_a_cent(
    amount: int, period: tuple[int, int], cut: float
) -> None:
    start, length = period
    at = start + int(length * cut)

    unused = prorate(amount, start=start, end=start + length, at=at)
    used = amount - unused

    assert 0 <= used <= amount
    assert abs(used - amount * (at - start) / length) <= 0.5 + 1e-9


def test_dates_are_written_the_way_stripe_writes_them() -> None:
    assert day_label(JAN_31) == "31 Jan 2030"


# -- forms ----------------------------------------------------------------------------------------


def test_nested_and_indexed_keys_decode_into_hashes() -> None:
    form = parse_form("a[b][c]=1&items[0][price]=p&items[1][price]=q&expand[]=x&expand[]=y&plain=%20v")

    assert form == {
        "a": {"b": {"c": "1"}},
        "items": {"0": {"price": "p"}, "1": {"price": "q"}},
        "expand": {"0": "x", "1": "y"},
        "plain": " v",
    }
    assert [item.req("price") for item in Params(form).hashes("items")] == ["p", "q"]
    assert Params(form).expand() == ["x", "y"]


@pytest.mark.parametrize("body", ["a=1&a[b]=2", "a[b]=2&a=1", "a]=1", "a" + "[x]" * 7 + "=1"])
def test_malformed_keys_are_400(body: str) -> None:
    with pytest.raises(StripeError) as caught:
        parse_form(body)

    assert caught.value.status == 400


def test_params_name_nested_parameters_the_way_stripe_does() -> None:
    params = Params(parse_form("items[0][quantity]=two"))

    with pytest.raises(StripeError) as caught:
        params.hashes("items")[0].integer("quantity")

    assert caught.value.param == "items[0][quantity]"
    assert caught.value.code == "parameter_invalid_integer"


def test_metadata_updates_merge_unset_and_clear() -> None:
    current = {"a": "1", "b": "2"}

    assert merge_metadata(current, {"b": "", "c": "3"}) == {"a": "1", "c": "3"}
    assert merge_metadata(current, {}) == {}
    assert merge_metadata(current, None) == current
