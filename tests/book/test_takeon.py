"""Take-on worked example (book/takeon.py): a loan adopted 200 days into its life, 65 days late.

The loan: CNY 10,000.00 at 18%, 8 instalments every 45 days (annuity), disbursed 2026-01-01, no
cap, penalty 0.0005 a day on overdue principal. Periodic rate 0.18 x 45/365 = 2.2192%.
  n  due         principal  interest
  1  2026-02-15  115,611    22,192   (1,000,000 x 0.0221918 = 22,191.8)
  2  2026-04-01  118,176    19,626
  3  2026-05-16  120,798    17,004
  4  2026-06-30  123,480    14,323
  5  2026-08-14  126,220    11,583
  6..8           ...        (principal 3..8 sums to 766,213)
Take-on 2026-07-20 (day 200): insts 1-2 paid elsewhere, 3-4 unpaid, so dpd = 07-20 - 05-16 = 65.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.balances import balances
from arrears.book.replay import replay
from tests.book.test_worked_examples import NOCAP, make_loan, pays

D = dt.date
TAKEON = D(2026, 7, 20)
OUTSTANDING = 120_798 + 123_480 + 126_220 + 129_020 + 131_885 + 134_810  # 766,213
INTEREST_DUE = 17_004 + 14_323  # 31,327
PENALTY, FEES = 123_456, 2_000


def takeon_loan(principal_outstanding: int = OUTSTANDING):
    terms, sched, products = make_loan(NOCAP, term=8, frequency="days", period_days=45)
    terms = terms.with_columns(
        pl.lit(TAKEON).alias("takeon_date"),
        pl.lit(principal_outstanding).alias("takeon_principal_outstanding"),
        pl.lit(INTEREST_DUE).alias("takeon_interest_due"),
        pl.lit(PENALTY).alias("takeon_penalty_due"),
        pl.lit(FEES).alias("takeon_fees_due"),
        pl.lit(D(2026, 5, 16)).alias("takeon_oldest_unpaid_due_on"),
        pl.lit(D(2026, 5, 17)).alias("takeon_dofd"),
    )
    return terms, sched, products


def view(loan, payments, until):
    terms, sched, products = loan
    h = replay(terms, sched, payments, until, {k: p.buckets for k, p in products.items()})
    return h, {**h.book.loans.row(0, named=True), **balances(h.book.loans, h.book.inst, until).row(0, named=True)}


def test_schedule_used_below():
    _, sched, _ = takeon_loan()
    s = sched.sort("n")
    assert list(zip(s["due_on"], s["principal"], s["interest"]))[:5] == [
        (D(2026, 2, 15), 115_611, 22_192), (D(2026, 4, 1), 118_176, 19_626), (D(2026, 5, 16), 120_798, 17_004),
        (D(2026, 6, 30), 123_480, 14_323), (D(2026, 8, 14), 126_220, 11_583)]
    assert s.filter(pl.col("n") >= 3)["principal"].sum() == OUTSTANDING


def test_takeon_day_shows_the_given_balances_and_dpd():
    _, s = view(takeon_loan(), pays(), TAKEON)
    assert (s["status"], s["dpd"], s["bucket"], s["dofd"]) == ("delinquent", 65, "60-89", D(2026, 5, 17))
    # accrued: inst 5 (06-30 .. 08-14, 45 days) 11,583 x 20/45 = 5,148.0
    assert (s["principal_outstanding"], s["interest_due"], s["penalty"], s["fees"], s["accrued_interest"]) == (
        OUTSTANDING, INTEREST_DUE, PENALTY, FEES, 5_148)
    assert s["overdue"] == 120_798 + 17_004 + 123_480 + 14_323 + PENALTY + FEES


def test_a_principal_gap_comes_off_the_last_instalments_and_leaves_dpd_alone():
    # The other system says 10,000 less principal: taken off inst 8 (134,810 -> 124,810).
    h, s = view(takeon_loan(OUTSTANDING - 10_000), pays(), TAKEON)
    inst = h.book.inst.sort("n")
    assert inst["paid_principal"].to_list() == [115_611, 118_176, 0, 0, 0, 0, 0, 10_000]
    assert (s["principal_outstanding"], s["dpd"]) == (OUTSTANDING - 10_000, 65)


def test_takeon_loan_ages_onward_and_allocates_normally():
    # Penalty after take-on: overdue principal 120,798 + 123,480 = 244,278 x 500 = 122,139,000 a day.
    # A payment dated before take-on (07-10) is the other system's business: ignored.
    before = pays(("old", 50_000, D(2026, 7, 10)))
    _, s = view(takeon_loan(), before, D(2026, 7, 21))
    assert (s["dpd"], s["bucket"]) == (66, "60-89")
    assert s["penalty_micro"] == PENALTY * 1_000_000 + 122_139_000 and s["penalty"] == 123_578
    assert s["principal_outstanding"] == OUTSTANDING and s["credit"] == 0
    # 07-25: penalty 123,456 + 5 x 122.139 = 124,066.695 -> 124,067. 263,869 pays the penalty, the
    # fees 2,000, inst 3's interest 17,004 and principal 120,798 (124,067 + 2,000 + 137,802).
    paid = pays(("old", 50_000, D(2026, 7, 10)), ("p1", 263_869, D(2026, 7, 25)))
    h, s = view(takeon_loan(), paid, D(2026, 7, 25))
    assert [(r["component"], r["n"], r["amount"]) for r in h.allocations.iter_rows(named=True)] == [
        ("penalty", 0, 124_067), ("fees", 0, 2_000), ("interest", 3, 17_004), ("principal", 3, 120_798)]
    # Oldest unpaid is now inst 4 (06-30): dpd 25; the dofd stays (not fully cured).
    assert (s["status"], s["dpd"], s["bucket"], s["dofd"]) == ("delinquent", 25, "1-29", D(2026, 5, 17))
    assert (s["principal_outstanding"], s["interest_due"], s["penalty"], s["fees"]) == (
        OUTSTANDING - 120_798, 14_323, 0, 0)


def test_takeon_bucket_moves_at_the_right_edges():
    # Unpaid: dpd 89 on 08-13 (60-89), 90 on 08-14 (90-119), 120 on 09-13 (charge-off, 120-179).
    loan = takeon_loan()
    for day, dpd, bucket, status in ((D(2026, 8, 13), 89, "60-89", "delinquent"),
                                     (D(2026, 8, 14), 90, "90-119", "delinquent"),
                                     (D(2026, 9, 12), 119, "90-119", "delinquent"),
                                     (D(2026, 9, 13), 120, "120-179", "charged_off")):
        h, s = view(loan, pays(), day)
        assert (s["dpd"], s["bucket"], s["status"]) == (dpd, bucket, status), day
    assert h.transitions.select("day", "to_bucket").rows() == [(D(2026, 8, 14), "90-119"), (D(2026, 9, 13), "120-179")]
