"""The schedule rule over many loans at once (``schedule_frame``) against the same rule on one loan
(``build``), and the float64 fast path of the annuity steering against its exact-decimal path.

``build`` runs ``schedule_frame`` on a one-row frame, so these tests check that a loan's schedule
does not depend on the other loans in the batch (sorting by term, the loans still running, the
per-product business-day roll, the int64/Python-integer switch), and that the float64 figures
never take a rounding decision the 50-digit decimals would take differently. Before the per-loan
implementation was removed, the columnar build was checked equal, to the minor unit, to it on
120,000 random loans and on the golden and property tests in test_schedule.py.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.book.products import DEFAULT, parse_products
from arrears.book.schedule import (
    SCHEDULE_SCHEMA,
    Instalment,
    LoanTerms,
    _annuity_amounts,
    add_months,
    build,
    due_dates,
    first_period_rate,
    periodic_rate,
    rebuild_frame,
    rebuild_future,
    schedule_frame,
)

NANO = 10**9
PRODUCTS = {
    "default": DEFAULT,
    **parse_products(
        '[products.cn]\ncalendar = "CN"\nbusiness_day_rule = "next_business_day"\n'
        '[products.gb]\ncalendar = "GB"\nbusiness_day_rule = "next_business_day"\n'
        '[products.us]\ncalendar = "US"\nbusiness_day_rule = "none"\n'
    ),
}


@st.composite
def loans(draw):
    method = draw(st.sampled_from(["annuity", "annuity", "equal_principal", "interest_only", "bullet"]))
    frequency = draw(st.sampled_from(["monthly", "biweekly", "weekly", "days"]))
    period_days = draw(st.integers(1, 120)) if frequency == "days" else None
    disbursed = draw(st.dates(dt.date(2020, 1, 1), dt.date(2032, 12, 31)))
    first_due = None
    if draw(st.booleans()):
        first_due = disbursed + dt.timedelta(days=draw(st.integers(1, 75)))
    terms = LoanTerms(
        principal=draw(st.one_of(st.integers(1, 2_000), st.integers(1, 10**8), st.integers(1, 10**12))),
        annual_rate_nano=draw(st.one_of(st.just(0), st.integers(1, NANO), st.integers(1, 10 * NANO - 1),
                                        st.sampled_from([60_000_000, 120_000_000, 180_000_000, 365_000_000]))),
        term=draw(st.integers(1, 48)),
        frequency=frequency,
        method=method,
        disbursed_on=disbursed,
        first_due_on=first_due,
        period_days=period_days,
    )
    return terms, draw(st.sampled_from([None, "default", "cn", "gb", "us"]))


def frame_of(batch) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"loan_id": f"L{i}", "product": product, "principal": t.principal,
             "annual_rate_nano": t.annual_rate_nano, "term": t.term, "frequency": t.frequency,
             "method": t.method, "disbursed_on": t.disbursed_on, "first_due_on": t.first_due_on,
             "period_days": t.period_days}
            for i, (t, product) in enumerate(batch)
        ],
        schema_overrides={"first_due_on": pl.Date, "period_days": pl.Int64, "product": pl.String},
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(loans(), min_size=1, max_size=40))
def test_many_loans_at_once_equal_each_loan_alone(batch):
    frame = schedule_frame(frame_of(batch), PRODUCTS)
    assert frame.schema == SCHEDULE_SCHEMA
    # Loan after loan, in the frame's order, instalments in order.
    assert frame["loan_id"].to_list() == [
        f"L{i}" for i, (t, _) in enumerate(batch) for _ in range(1 if t.method == "bullet" else t.term)]
    parts = frame.partition_by("loan_id", as_dict=True, maintain_order=True)
    for i, (t, product) in enumerate(batch):
        p = PRODUCTS[product or "default"]
        alone = build(t, business_day_rule=p.business_day_rule, calendar=p.calendar)
        got = parts[(f"L{i}",)].drop("loan_id").rows()
        assert got == [(s.n, s.due_on, s.adjusted_due_on, s.principal, s.interest) for s in alone], (i, t)
        assert sum(s.principal for s in alone) == t.principal


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(loans(), min_size=1, max_size=30))
def test_annuity_fast_path_takes_the_exact_decisions(batch):
    """Every lo/hi choice taken from float64 is the one the 50-digit decimals take."""
    annuities = [t for t, _ in batch]
    args = []
    for t in annuities:
        r = periodic_rate(t)
        r1 = first_period_rate(t, due_dates(t)[0])
        args.append((t.principal, t.term, r.numerator, r.denominator, r1.numerator, r1.denominator))
    cols = [np.array(c, dtype=np.int64) for c in zip(*args)]
    fast = _annuity_amounts(*cols)
    exact = _annuity_amounts(*cols, always_exact=True)
    assert fast[0].tolist() == exact[0].tolist()
    assert fast[1].tolist() == exact[1].tolist()


def test_exact_tie_is_decided_by_the_decimals():
    """0 % over 58 months on 6.05: the exact balance after 29 payments of 605/58 is 302.5, a tie
    between paying 10 and 11 that float64 sees as exact; the decimals (where 29 x 605/58 is a hair
    above 302.5) decide, so the batch and the one-loan build agree whatever the float rounding."""
    one = lambda v: np.array([v], dtype=np.int64)  # noqa: E731
    fast = _annuity_amounts(one(605), one(58), one(0), one(1), one(0), one(1))
    exact = _annuity_amounts(one(605), one(58), one(0), one(1), one(0), one(1), always_exact=True)
    assert fast[0].tolist() == exact[0].tolist()
    assert int(fast[0].sum()) == 605


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), st.integers(1, 40), st.booleans(),
       st.integers(1, 70))
def test_monthly_due_dates_follow_add_months(disbursed, term, explicit, offset):
    """Due dates of a monthly loan, column-wise, equal the calendar helper's month arithmetic."""
    first = disbursed + dt.timedelta(days=offset) if explicit else None
    t = LoanTerms(100_000, 120_000_000, term, "monthly", "annuity", disbursed, first_due_on=first)
    start = first or add_months(disbursed, 1)
    keep = first.day if first else disbursed.day
    assert due_dates(t) == tuple(add_months(start, k, keep_day=keep) for k in range(term))
    assert periodic_rate(t) == Fraction(120_000_000, NANO) / 12


@st.composite
def prepaid_loans(draw):
    """A loan, the instalments of its schedule not yet due (some partly paid), what is left after a
    prepayment, and the prepayment's mode."""
    terms, _ = draw(loans())
    sched = build(terms)
    rows = []
    for s in sched[draw(st.integers(0, len(sched) - 1)):]:
        paid_p = draw(st.sampled_from([0, 0, 0, s.principal // 3]))
        paid_i = draw(st.sampled_from([0, 0, 0, s.interest // 2]))
        rows.append(Instalment(s.n, s.due_on, s.adjusted_due_on, s.principal - paid_p, s.interest - paid_i))
    balance = draw(st.integers(0, sum(r.principal for r in rows)))
    mode = draw(st.sampled_from(["reduce_term", "reduce_instalment"]))
    return terms, rows, balance, mode


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(prepaid_loans(), min_size=1, max_size=30))
def test_rebuild_many_loans_at_once_equal_each_loan_alone(batch):
    """``rebuild_frame`` (the allocation's rebuild of every loan that prepaid) gives each loan what
    ``rebuild_future`` gives it alone: the rebuild does not depend on the other loans in the batch
    (their lengths, methods, modes, odd first periods). Before the per-loan loop was removed, the
    columnar rebuild was checked equal to it, to the minor unit, on 6,000 random loans."""
    loans_ = pl.DataFrame(
        [{"principal": t.principal, "annual_rate_nano": t.annual_rate_nano, "term": t.term,
          "frequency": t.frequency, "method": t.method, "disbursed_on": t.disbursed_on,
          "first_due_on": t.first_due_on, "period_days": t.period_days, "balance": balance,
          "prepayment": mode, "first_period_regular": rows[0].n > 1}
         for t, rows, balance, mode in batch],
        schema_overrides={"first_due_on": pl.Date, "period_days": pl.Int64},
    )
    future = pl.DataFrame(
        [{"loan_id": i, "due_on": r.due_on, "principal": r.principal, "interest": r.interest}
         for i, (_, rows, _, _) in enumerate(batch) for r in rows],
        schema={"loan_id": pl.Int64, "due_on": pl.Date, "principal": pl.Int64, "interest": pl.Int64},
    )
    principal, interest = rebuild_frame(loans_, future)
    alone = [pi for t, rows, balance, mode in batch
             for pi in rebuild_future(t, rows, balance, mode, first_period_regular=rows[0].n > 1)]
    assert list(zip(principal.tolist(), interest.tolist())) == alone
    # The principal left is repaid exactly, whatever the mode.
    at = 0
    for _, rows, balance, _ in batch:
        assert int(principal[at:at + len(rows)].sum()) == balance
        at += len(rows)
