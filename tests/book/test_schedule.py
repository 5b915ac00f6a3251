"""Repayment schedules.

Expected figures are derived independently of the code under test: the exact annuity payment from
numpy-financial, interest as periodic rate x the schedule's own running balance (the ipmt-style
definition) rounded half-up by a helper written here, and the named examples by hand arithmetic
shown in comments.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from fractions import Fraction

import numpy_financial as npf
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from arrears.book.products import DEFAULT, parse_products
from arrears.book.schedule import (
    SCHEDULE_SCHEMA,
    LoanTerms,
    build,
    instalments_of,
    schedule_frame,
    terms_from_row,
)

D = dt.date.fromisoformat
PER_YEAR = {"monthly": 12, "biweekly": 26, "weekly": 52}
NANO = 10**9


def half_up(q: Fraction) -> int:
    """Independent half-away-from-zero rounding (not arrears.money.round_half_up)."""
    if q >= 0:
        return math.floor(q + Fraction(1, 2))
    return -math.floor(-q + Fraction(1, 2))


def rate_per_period(annual_nano: int, frequency: str, period_days: int | None = None) -> Fraction:
    annual = Fraction(annual_nano, NANO)
    if frequency == "days":
        return annual * period_days / 365
    return annual / PER_YEAR[frequency]


def check_regular_schedule(t: LoanTerms, sched, *, check_pmt: bool = True) -> None:
    """The invariants of a schedule whose first period is a regular one."""
    r = rate_per_period(t.annual_rate_nano, t.frequency, t.period_days)
    rf = float(r)
    n, p = t.term, t.principal

    # Shape and sums.
    assert len(sched) == (1 if t.method == "bullet" else n)
    assert [i.n for i in sched] == list(range(1, len(sched) + 1))
    assert sum(i.principal for i in sched) == p
    assert all(i.principal >= 0 and i.interest >= 0 for i in sched)
    assert all(i.adjusted_due_on == i.due_on for i in sched)  # default rule: none

    if t.method == "bullet":
        # One payment at maturity: n periods of interest on the principal.
        (only,) = sched
        assert only.principal == p
        assert only.interest == half_up(p * r * n)
        assert abs(only.interest - p * rf * n) <= 1
        return

    # Interest: periodic rate x the schedule's own running balance, half-up.
    balance = p
    for inst in sched:
        assert inst.interest == half_up(balance * r), inst
        assert abs(inst.interest - rf * balance) <= 1, inst  # the ipmt-style definition
        balance -= inst.principal
        assert balance >= 0
    assert balance == 0

    if t.method == "annuity":
        # The exact annuity payment, in rationals; numpy-financial's float one must agree with it
        # within its own rounding: 1 + r is rounded once (a relative error of eps / r in (1+r)^n - 1),
        # which at tiny rates is whole minor units on large loans (a 3-week loan at 10^-5 a year is
        # 0.16 units off on 1.4e9). So the schedule is checked against the exact payment.
        exact = p * r / (1 - (1 + r) ** -n) if r else Fraction(p, n)
        pmt = float(exact)
        assert abs(float(npf.pmt(rf, n, -p)) - pmt) <= 1e-6 + 8 * 2.3e-16 * pmt * (1 + (1 / rf if rf else 0))
        if check_pmt:
            for inst in sched[:-1]:
                assert abs(inst.amount - pmt) <= 1 + 1e-6, (inst, pmt)
        # The last takes what is left, plus its own half-up interest.
        before_last = p - sum(i.principal for i in sched[:-1])
        assert sched[-1].principal == before_last
        assert sched[-1].interest == half_up(before_last * r)
    elif t.method == "equal_principal":
        assert all(i.principal == p // n for i in sched[:-1])
        assert sched[-1].principal == p - (n - 1) * (p // n)
    elif t.method == "interest_only":
        assert all(i.principal == 0 for i in sched[:-1])
        assert sched[-1].principal == p
        assert all(i.interest == half_up(p * r) for i in sched)


def check_due_dates(t: LoanTerms, sched) -> None:
    dates = [i.due_on for i in sched]
    assert dates == sorted(set(dates))
    if t.frequency in ("weekly", "biweekly", "days"):
        step = {"weekly": 7, "biweekly": 14}.get(t.frequency, t.period_days)
        first = t.first_due_on or t.disbursed_on + dt.timedelta(days=step)
        expected = [first + dt.timedelta(days=step * k) for k in range(t.term)]
        assert dates == (expected[-1:] if t.method == "bullet" else expected)


# --- golden: random regular loans with a fixed seed ---------------------------------------------


def _golden_loans(count: int = 240):
    rng = random.Random(20260131)
    loans = []
    for i in range(count):
        method = ("annuity", "equal_principal", "interest_only", "bullet")[i % 4]
        if method == "bullet":
            if rng.random() < 0.5:
                frequency, term, period_days = "days", 1, rng.choice([7, 14, 30, 45, 60, 90])
            else:
                frequency, term, period_days = "monthly", rng.randint(1, 12), None
        else:
            frequency = rng.choice(["monthly", "monthly", "biweekly", "weekly"])
            term, period_days = rng.randint(1, 36), None
        loans.append(
            LoanTerms(
                principal=rng.choice(
                    [rng.randint(300, 999), rng.randint(1_000, 999_999), rng.randint(10**6, 5 * 10**6)]
                ),
                annual_rate_nano=rng.choice([0, rng.randint(0, 360) * 10**6, rng.randint(0, 36 * 10**7)]),
                term=term,
                frequency=frequency,
                method=method,
                disbursed_on=dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 730)),
                period_days=period_days,
            )
        )
    return loans


GOLDEN = _golden_loans()


def test_golden_covers_the_space():
    assert len(GOLDEN) >= 50
    assert {t.method for t in GOLDEN} == {"annuity", "equal_principal", "interest_only", "bullet"}
    assert {t.frequency for t in GOLDEN} == {"monthly", "biweekly", "weekly", "days"}
    assert any(t.annual_rate_nano == 0 for t in GOLDEN)
    assert max(t.term for t in GOLDEN) >= 30


@pytest.mark.parametrize("t", GOLDEN, ids=lambda t: f"{t.method}-{t.frequency}-{t.term}-{t.principal}")
def test_golden(t):
    sched = build(t)
    check_regular_schedule(t, sched)
    check_due_dates(t, sched)


# --- property ---------------------------------------------------------------------------------


@st.composite
def regular_loans(draw):
    method = draw(st.sampled_from(["annuity", "equal_principal", "interest_only", "bullet"]))
    frequency = draw(st.sampled_from(["monthly", "biweekly", "weekly", "days"]))
    period_days = draw(st.integers(1, 365)) if frequency == "days" else None
    return LoanTerms(
        principal=draw(st.integers(1, 10**10)),
        # 0, or at least 10^-5 a year: below that numpy-financial's float pmt loses whole minor units
        # to cancellation in (1+r)^n - 1 and stops being a trustworthy reference.
        annual_rate_nano=draw(st.one_of(st.just(0), st.integers(10_000, NANO))),
        term=draw(st.integers(1, 60)),
        frequency=frequency,
        method=method,
        disbursed_on=draw(st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31))),
        period_days=period_days,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(regular_loans())
# numpy-financial's float payment is 0.16 units high here; the exact one is 459,953,053.90.
@example(LoanTerms(1_379_858_631, 10_000, 3, "weekly", "annuity", dt.date(2020, 1, 1)))
def test_schedule_invariants_property(t):
    sched = build(t)
    # The "within one minor unit of the exact payment" claim needs an exact payment of at least
    # some minor units: when the payment is a handful of minor units, half-up interest on the
    # running balance makes it unattainable for any schedule (see test_tiny_annuity_runs_out_early).
    r = float(rate_per_period(t.annual_rate_nano, t.frequency, t.period_days))
    big_enough = t.method != "annuity" or float(npf.pmt(r, t.term, -t.principal)) >= 1000
    check_regular_schedule(t, sched, check_pmt=big_enough)
    check_due_dates(t, sched)


def test_tiny_annuity_runs_out_early():
    """0.92 yuan over 43 months at 19.88%: the exact payment is 3.008 minor units.

    Paying 3 or 4 a month while half-up interest rounds 1.44 down to 1 repays ~2 of principal a
    month instead of the exact ~1.56, so no schedule of 3s and 4s can last 43 months. The code
    keeps the hard invariants (principal sums to the loan, nothing negative, interest = rate x
    balance); the balance is gone before the last instalment.
    """
    t = LoanTerms(92, 198_762_740, 43, "monthly", "annuity", D("2026-01-15"))
    sched = build(t)
    check_regular_schedule(t, sched, check_pmt=False)
    assert sched[-1].amount < 3


# --- named examples -----------------------------------------------------------------------------


def test_month_end_due_dates_clamp_and_recover():
    t = LoanTerms(1_200_000, 120_000_000, 4, "monthly", "annuity", D("2025-12-31"))
    assert [i.due_on for i in build(t)] == [D("2026-01-31"), D("2026-02-28"), D("2026-03-31"), D("2026-04-30")]
    leap = LoanTerms(1_200_000, 120_000_000, 3, "monthly", "annuity", D("2027-12-31"))
    assert [i.due_on for i in build(leap)] == [D("2028-01-31"), D("2028-02-29"), D("2028-03-31")]
    # An explicit first_due_on on the 31st keeps the 31st (clamped) for every later month.
    explicit = LoanTerms(
        1_200_000, 120_000_000, 4, "monthly", "equal_principal", D("2026-01-10"), first_due_on=D("2026-01-31")
    )
    assert [i.due_on for i in build(explicit)] == [D("2026-01-31"), D("2026-02-28"), D("2026-03-31"), D("2026-04-30")]


def test_monthly_default_first_due_keeps_day_of_month():
    t = LoanTerms(1_200_000, 0, 3, "monthly", "equal_principal", D("2026-01-15"))
    assert [i.due_on for i in build(t)] == [D("2026-02-15"), D("2026-03-15"), D("2026-04-15")]


def test_odd_first_period_equal_principal():
    # Disbursed 1 January 2026, first due 15 February: 31 + 14 = 45 days.
    t = LoanTerms(
        1_200_000, 180_000_000, 3, "monthly", "equal_principal", D("2026-01-01"), first_due_on=D("2026-02-15")
    )
    sched = build(t)
    assert [i.due_on for i in sched] == [D("2026-02-15"), D("2026-03-15"), D("2026-04-15")]
    assert [i.principal for i in sched] == [400_000, 400_000, 400_000]
    # 1_200_000 x 0.18 x 45 / 365 = 9_720_000 / 365 = 26_630.137 -> 26_630
    assert sched[0].interest == 26_630
    assert sched[0].interest == half_up(Fraction(1_200_000) * Fraction(18, 100) * 45 / 365)
    # Later periods use 0.18 / 12 = 0.015: 800_000 x 0.015 = 12_000; 400_000 x 0.015 = 6_000.
    assert [i.interest for i in sched[1:]] == [12_000, 6_000]


def test_odd_first_period_annuity():
    t = LoanTerms(1_000_000, 180_000_000, 6, "monthly", "annuity", D("2026-01-01"), first_due_on=D("2026-02-15"))
    sched = build(t)
    # 1_000_000 x 0.18 x 45 / 365 = 8_100_000 / 365 = 22_191.78 -> 22_192
    assert sched[0].interest == 22_192
    # Later periods: 0.015 x the running balance, half-up.
    balance = 1_000_000 - sched[0].principal
    for inst in sched[1:]:
        assert inst.interest == half_up(balance * Fraction(15, 1000))
        balance -= inst.principal
    assert balance == 0
    # The principal amortises as in a regular schedule: the first instalment is the regular
    # payment with the odd-period interest in place of the regular 15_000.
    pmt = float(npf.pmt(0.015, 6, -1_000_000))  # 175_525.25
    assert abs(sched[0].principal + 15_000 - pmt) <= 1
    assert abs(sched[0].amount - (pmt + 22_192 - 15_000)) <= 1
    for inst in sched[1:-1]:
        assert abs(inst.amount - pmt) <= 1


def test_short_odd_first_period():
    # 20 days: 500_000 x 0.24 x 20 / 365 = 2_400_000 / 365 = 6_575.34 -> 6_575
    t = LoanTerms(500_000, 240_000_000, 2, "monthly", "interest_only", D("2026-03-01"), first_due_on=D("2026-03-21"))
    sched = build(t)
    assert [i.interest for i in sched] == [6_575, 10_000]  # then 500_000 x 0.02
    assert [i.due_on for i in sched] == [D("2026-03-21"), D("2026-04-21")]


def test_30_day_bullet():
    t = LoanTerms(500_000, 240_000_000, 1, "days", "bullet", D("2026-03-01"), period_days=30)
    (only,) = build(t)
    assert only.due_on == D("2026-03-31")
    assert only.principal == 500_000
    # 500_000 x 0.24 x 30 / 365 = 3_600_000 / 365 = 9_863.01 -> 9_863
    assert only.interest == 9_863


def test_30_day_bullet_exact_half_rounds_up():
    # 365 x 0.15 x 30 / 365 = 4.5 exactly -> 5 (banker's rounding would give 4)
    t = LoanTerms(365, 150_000_000, 1, "days", "bullet", D("2026-03-01"), period_days=30)
    (only,) = build(t)
    assert only.interest == 5


def test_bullet_over_several_months():
    # 1_000_000 x 0.12 / 12 x 3 = 30_000, all at the third due date.
    t = LoanTerms(1_000_000, 120_000_000, 3, "monthly", "bullet", D("2026-01-15"))
    (only,) = build(t)
    assert (only.n, only.due_on, only.principal, only.interest) == (1, D("2026-04-15"), 1_000_000, 30_000)


def test_annuity_textbook_example():
    # 10_000.00 at 12% for 12 months: 10_000 x 0.01 / (1 - 1.01^-12) = 888.4879 a month.
    t = LoanTerms(1_000_000, 120_000_000, 12, "monthly", "annuity", D("2026-01-15"))
    sched = build(t)
    assert sched[0].interest == 10_000  # 1_000_000 x 0.01
    assert sched[0].principal in (78_848, 78_849)  # 88_848 or 88_849 less 10_000
    for inst in sched[:-1]:
        assert inst.amount in (88_848, 88_849)
    assert abs(sched[-1].amount - 88_848.79) <= 2
    check_regular_schedule(t, sched)


def test_zero_rate_annuity():
    t = LoanTerms(1000, 0, 3, "monthly", "annuity", D("2026-01-15"))
    sched = build(t)
    assert all(i.interest == 0 for i in sched)
    assert sorted(i.principal for i in sched) == [333, 333, 334]


def test_equal_principal_remainder_in_last():
    # 0.12 / 12 = 0.01: 1000 x 0.01 = 10; 667 x 0.01 = 6.67 -> 7; 334 x 0.01 = 3.34 -> 3
    t = LoanTerms(1000, 120_000_000, 3, "monthly", "equal_principal", D("2026-01-15"))
    sched = build(t)
    assert [i.principal for i in sched] == [333, 333, 334]
    assert [i.interest for i in sched] == [10, 7, 3]


def test_interest_only_balloon():
    t = LoanTerms(1_000_000, 120_000_000, 3, "monthly", "interest_only", D("2026-01-15"))
    sched = build(t)
    assert [i.principal for i in sched] == [0, 0, 1_000_000]
    assert [i.interest for i in sched] == [10_000, 10_000, 10_000]


@pytest.mark.parametrize(("frequency", "step"), [("weekly", 7), ("biweekly", 14)])
def test_weekly_biweekly_step(frequency, step):
    t = LoanTerms(520_000, 520_000_000, 5, frequency, "interest_only", D("2026-01-01"))
    sched = build(t)
    assert [i.due_on for i in sched] == [D("2026-01-01") + dt.timedelta(days=step * k) for k in range(1, 6)]
    # 0.52 / 52 = 0.01 a week; 0.52 / 26 = 0.02 a fortnight.
    per = {"weekly": 5_200, "biweekly": 10_400}[frequency]
    assert all(i.interest == per for i in sched)


def test_days_frequency_rate():
    # 0.365 x 10 / 365 = 0.01 a period.
    t = LoanTerms(100_000, 365_000_000, 4, "days", "equal_principal", D("2026-01-01"), period_days=10)
    sched = build(t)
    assert [i.due_on for i in sched] == [D("2026-01-11"), D("2026-01-21"), D("2026-01-31"), D("2026-02-10")]
    assert [i.principal for i in sched] == [25_000] * 4
    assert [i.interest for i in sched] == [1_000, 750, 500, 250]


# --- business-day rule: lateness only, never interest -------------------------------------------

CN = parse_products('[products.cn]\ncalendar = "CN"\nbusiness_day_rule = "next_business_day"\n')["cn"]


def test_cn_next_business_day_weekly():
    # Due Saturdays 11, 18, 25 October 2025; the 11th is a make-up working Saturday.
    t = LoanTerms(300_000, 240_000_000, 3, "weekly", "annuity", D("2025-10-04"))
    moved = build(t, business_day_rule=CN.business_day_rule, calendar=CN.calendar)
    assert [i.due_on for i in moved] == [D("2025-10-11"), D("2025-10-18"), D("2025-10-25")]
    assert [i.adjusted_due_on for i in moved] == [D("2025-10-11"), D("2025-10-20"), D("2025-10-27")]
    plain = build(t, business_day_rule="none", calendar="CN")
    assert [(i.due_on, i.principal, i.interest) for i in moved] == [
        (i.due_on, i.principal, i.interest) for i in plain
    ]
    assert all(i.adjusted_due_on == i.due_on for i in plain)


def test_cn_next_business_day_golden_week():
    # Due 1 October 2025 (National Day) moves past the Golden Week to Thursday 9 October;
    # 1 November 2025 is a Saturday -> Monday 3 November; 1 December is a Monday.
    t = LoanTerms(1_200_000, 240_000_000, 3, "monthly", "equal_principal", D("2025-09-01"))
    moved = build(t, business_day_rule="next_business_day", calendar="CN")
    assert [i.due_on for i in moved] == [D("2025-10-01"), D("2025-11-01"), D("2025-12-01")]
    assert [i.adjusted_due_on for i in moved] == [D("2025-10-09"), D("2025-11-03"), D("2025-12-01")]
    plain = build(t)
    assert [(i.principal, i.interest) for i in moved] == [(i.principal, i.interest) for i in plain]
    # Interest runs to the contractual date: 1_200_000 x 0.02 = 24_000, not more for 8 extra days.
    assert moved[0].interest == 24_000


def test_odd_period_interest_not_changed_by_roll():
    # First due on the make-up Saturday vs an ordinary Saturday a week later: the odd-period
    # interest counts days to the contractual date whatever the rule.
    for first in (D("2025-10-11"), D("2025-10-18")):
        t = LoanTerms(1_000_000, 180_000_000, 2, "monthly", "annuity", D("2025-09-01"), first_due_on=first)
        days = (first - D("2025-09-01")).days
        for rule in ("none", "next_business_day"):
            s = build(t, business_day_rule=rule, calendar="CN")
            assert s[0].interest == half_up(Fraction(1_000_000) * Fraction(18, 100) * days / 365)


# --- schedule_frame --------------------------------------------------------------------------------


def test_schedule_frame_matches_build():
    loans = pl.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3", "L4", "L5"],
            "product": [None, "cn", "default", "cn", None],
            "principal": [1_000_000, 300_000, 500_000, 1_200_000, 100_000],
            "annual_rate_nano": [120_000_000, 240_000_000, 240_000_000, 180_000_000, 365_000_000],
            "term": [12, 3, 1, 3, 4],
            "frequency": ["monthly", "weekly", "days", "monthly", "days"],
            "method": ["annuity", "annuity", "bullet", "equal_principal", "equal_principal"],
            "disbursed_on": [D("2026-01-15"), D("2025-10-04"), D("2026-03-01"), D("2026-01-01"), D("2026-01-01")],
            "first_due_on": [None, None, None, D("2026-02-15"), None],
            "period_days": [None, None, 30, None, 10],
        },
        schema_overrides={"first_due_on": pl.Date, "period_days": pl.Int64},
    )
    products = {"default": DEFAULT, "cn": CN}
    frame = schedule_frame(loans, products)
    assert frame.schema == SCHEDULE_SCHEMA
    assert frame.height == 12 + 3 + 1 + 3 + 4

    for row in loans.iter_rows(named=True):
        product = products[row["product"] or "default"]
        expected = build(terms_from_row(row), business_day_rule=product.business_day_rule, calendar=product.calendar)
        got = tuple(instalments_of(frame.filter(pl.col("loan_id") == row["loan_id"])))
        assert got == expected, row["loan_id"]

    # The CN loan's make-up Saturday stays; the next Saturday moves to Monday.
    l2 = frame.filter(pl.col("loan_id") == "L2").sort("n")
    assert l2["adjusted_due_on"].to_list() == [D("2025-10-11"), D("2025-10-20"), D("2025-10-27")]
    # The 30-day bullet through the frame: 500_000 x 0.24 x 30 / 365 -> 9_863.
    assert frame.filter(pl.col("loan_id") == "L3")["interest"].to_list() == [9_863]


def test_schedule_frame_empty():
    empty = pl.DataFrame(
        schema={
            "loan_id": pl.String, "product": pl.String, "principal": pl.Int64,
            "annual_rate_nano": pl.Int64, "term": pl.Int64, "frequency": pl.String,
            "method": pl.String, "disbursed_on": pl.Date,
        }
    )
    frame = schedule_frame(empty, {"default": DEFAULT})
    assert frame.height == 0 and frame.schema == SCHEDULE_SCHEMA


def test_default_first_due_keeps_the_disbursement_day_of_month():
    # Disbursed 31 January 2026 with no first_due_on: one month later is 28 February (clamped), and
    # later due dates return to the 31st where the month has one.
    t = LoanTerms(120_000, 180_000_000, 4, "monthly", "annuity", dt.date(2026, 1, 31))
    assert [i.due_on for i in build(t)] == [
        dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
