"""MRR and its movements against hand-computed cases (money in minor units; January 2026 is day 0-30)."""

from __future__ import annotations

from typing import Any

from functions.reporting.domain.facts import Fact
from functions.reporting.domain.projector import Projector
from functions.reporting.domain.reports import ReportService
from tests.unit.reporting import history as h
from tests.unit.reporting.fakes import MemoryModels
from tests.unit.reporting.history import canceled, changed, invoiced, refunded, started

JAN, FEB, MAR, APR = 0, 31, 59, 90


def revenue(*facts: Fact, first: str = "2026-01", last: str = "2026-04") -> dict[tuple[str, str], dict[str, Any]]:
    models = MemoryModels()
    projector = Projector(models)
    for f in facts:
        projector.apply(f)
    rows = ReportService(models).revenue(first=first, last=last)  # type: ignore[arg-type]
    return {(row["month"], row["currency"]): row for row in rows}


def test_an_upgrade_mid_month_counts_as_expansion_in_that_month() -> None:
    # Given pro ($29) from 10 January, upgraded to business ($99) on 15 February
    rows = revenue(started("pro", 2900, days=JAN + 9), changed("business", 9900, days=FEB + 14))
    # Then January gains 29.00 of new MRR, February 70.00 of expansion, and MRR is 99.00 from February on
    assert (rows[("2026-01", "usd")]["new"], rows[("2026-01", "usd")]["mrr"]) == (2900, 2900)
    assert (rows[("2026-02", "usd")]["expansion"], rows[("2026-02", "usd")]["mrr"]) == (7000, 9900)
    assert rows[("2026-04", "usd")]["mrr"] == 9900


def test_an_annual_plan_counts_a_twelfth_of_its_price_each_month() -> None:
    # Given pro annual at $290.00 from 5 January
    rows = revenue(started("pro", 29000, days=JAN + 4, interval="annual"))
    # Then its MRR is 290.00 / 12 = 24.1666... -> 24.17, every month, and ARR is twelve of those
    assert [rows[(m, "usd")]["mrr"] for m in ("2026-01", "2026-02", "2026-03")] == [2417, 2417, 2417]
    assert rows[("2026-01", "usd")]["new"] == 2417
    assert rows[("2026-01", "usd")]["arr"] == 2417 * 12


def test_a_cancellation_at_period_end_churns_in_the_month_the_period_ends() -> None:
    # Given pro from 10 January, cancelled at the end of its period on 10 March
    rows = revenue(started("pro", 2900, days=JAN + 9), canceled("pro", days=MAR + 9))
    # Then February still has the MRR, and March churns it
    assert rows[("2026-02", "usd")]["mrr"] == 2900
    assert (rows[("2026-03", "usd")]["churned"], rows[("2026-03", "usd")]["mrr"]) == (2900, 0)


def test_an_immediate_cancellation_with_a_refund_churns_and_shows_the_refund_apart() -> None:
    # Given pro from 10 January, cancelled on 20 February with 11.60 refunded
    rows = revenue(started("pro", 2900, days=JAN + 9), canceled("pro", days=FEB + 19), refunded(1160, days=FEB + 19))
    # Then February churns 29.00 and shows the refund, which does not touch MRR
    february = rows[("2026-02", "usd")]
    assert (february["churned"], february["refunds"], february["mrr"]) == (2900, 1160, 0)


def test_a_tenant_that_comes_back_is_reactivated_not_new() -> None:
    # Given pro from January, cancelled in February, and business from April
    rows = revenue(
        started("pro", 2900, days=JAN + 9), canceled("pro", days=FEB + 9), started("business", 9900, days=APR + 1)
    )
    # Then April reactivates 99.00 (not new), and the churn stays in February
    assert (rows[("2026-04", "usd")]["reactivated"], rows[("2026-04", "usd")]["new"]) == (9900, 0)
    assert rows[("2026-02", "usd")]["churned"] == 2900


def test_two_currencies_are_reported_apart() -> None:
    # Given one tenant paying in dollars and another in euros
    rows = revenue(
        started("pro", 2900, days=JAN + 2), started("pro", 2700, days=JAN + 3, currency="eur", tenant="ten_b")
    )
    # Then each currency has its own row and its own MRR
    assert rows[("2026-01", "usd")]["mrr"] == 2900
    assert rows[("2026-01", "eur")]["mrr"] == 2700


def test_a_credit_to_the_balance_is_a_credit_note_not_revenue() -> None:
    # Given a downgrade's invoice that credits 35.00
    rows = revenue(started("pro", 2900, days=JAN + 2), invoiced(-3500, days=JAN + 20))
    # Then January shows the credit note and MRR is unchanged
    assert (rows[("2026-01", "usd")]["credit_notes"], rows[("2026-01", "usd")]["mrr"]) == (3500, 2900)


def test_a_trial_brings_mrr_when_it_ends() -> None:
    # Given pro with a 14-day trial from 25 January
    rows = revenue(started("pro", 2900, days=JAN + 24, trial_days=14))
    # Then January has no MRR yet and February gains it as new
    assert ("2026-01", "usd") not in rows
    assert rows[("2026-02", "usd")]["new"] == 2900


def test_trials_converted_and_canceled_give_the_conversion_rate() -> None:
    # Given three trials: one paid after its end, one canceled during it, one still running
    models = MemoryModels()
    for f in (
        h.started("pro", 2900, days=0, trial_days=14),
        h.paid(2900, days=15),
        h.started("pro", 2900, days=1, trial_days=14, tenant="ten_b"),
        h.canceled("pro", days=5, tenant="ten_b"),
        h.started("pro", 2900, days=2, trial_days=14, tenant="ten_c"),
    ):
        Projector(models).apply(f)
    report = ReportService(models).subscriptions()  # type: ignore[arg-type]
    # Then one of the two decided converted, and the one running is trialing
    assert report.trials == {"started": 3, "converted": 1, "canceled": 1, "conversion_rate": 0.5}
    assert {(r["plan"], r["status"]): r["count"] for r in report.rows} == {
        ("pro", "active"): 1,
        ("free", "active"): 1,
        ("pro", "trialing"): 1,
    }


def test_a_paid_plan_starting_before_the_free_plans_own_start_is_not_ended_by_it() -> None:
    # Given the free plan started at sign-up at 10:00:00.700, and Pro at its Stripe period's start, 10:00:00
    free = h.fact(
        "billing.subscription.started.v1",
        {
            "plan": "free",
            "interval": None,
            "amount": 0,
            "currency": "usd",
            "started_at": "2026-01-05T10:00:00.700Z",
            "current_period_end": None,
        },
        days=4,
    )
    pro = h.started("pro", 2900, days=4)
    # When both arrive, in either order
    for order in ((free, pro), (pro, free)):
        rows = revenue(*order)
        # Then Pro's MRR counts from January
        assert rows[("2026-01", "usd")]["mrr"] == 2900
