"""Worked examples of adjustments (book/adjustments.py): every type, by hand.

The loan throughout is the 12-month annuity of test_worked_examples (CNY 10,000.00 at 18%, disbursed
2026-01-01, due on the 1st, penalty 0.0005 a day on overdue principal), on a product without a cap
so that every figure is plain arithmetic:
  n  due         principal  interest
  1  2026-02-01  76,680     15,000
  2  2026-03-01  77,830     13,850
  3  2026-04-01  78,998     12,682   (31-day period: accrued = 12,682 x days / 31, half-up)
Penalty a day = overdue principal x 500 micro: inst 1 alone 76,680 x 500 = 38,340,000;
insts 1+2 154,510 x 500 = 77,255,000; inst 2 alone 77,830 x 500 = 38,915,000.
Nothing paid: on 2026-03-15 the loan owes
  principal 1,000,000; interest due 15,000 + 13,850 = 28,850; accrued (inst 3) 12,682 x 14/31
  = 5,727.4 -> 5,727; penalty 28 x 38,340,000 (02-02..03-01) + 14 x 77,255,000 (03-02..03-15)
  = 1,073,520,000 + 1,081,570,000 = 2,155,090,000 -> 2,155; total 1,036,732; dpd 42, dofd 02-02.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from arrears.book.adjustments import ADJUSTMENTS, pauses
from arrears.book.balances import balances
from arrears.book.products import Fee, Product
from arrears.book.replay import replay
from arrears.book.step import Book, step
from tests.book.test_worked_examples import NOCAP, PRIVATE, make_loan, pays

D = dt.date
MAR_15 = D(2026, 3, 15)


def adjs(*rows) -> pl.DataFrame:
    """(id, type, effective_on[, amount[, params]])"""
    return pl.DataFrame(
        [{"adjustment_id": r[0], "loan_id": "A", "type": r[1], "effective_on": r[2],
          "amount": r[3] if len(r) > 3 else None,
          "params": json.dumps(r[4]) if len(r) > 4 and r[4] is not None else None,
          "approved_by": "u1"} for r in rows],
        schema=ADJUSTMENTS,
    )


def schemes(products) -> dict:
    return {k: p.buckets for k, p in products.items()}


class V:
    """The loan replayed to ``until`` with its adjustments: balances first, then state columns."""

    def __init__(self, loan, payments: pl.DataFrame, until: dt.date, adjustments: pl.DataFrame | None = None):
        terms, sched, products = loan
        self.history = replay(terms, sched, payments, until, schemes(products), adjustments)
        self.bal = balances(self.history.book.loans, self.history.book.inst, until).row(0, named=True)
        self.loan = self.history.book.loans.row(0, named=True)
        self.inst = self.history.book.inst.sort("n")

    def __getattr__(self, name):
        return self.bal[name] if name in self.bal else self.loan[name]

    @property
    def age(self):
        return self.status, self.dpd, self.bucket, self.dofd


def day_by_day(loan, payments, adjustments, start: dt.date, until: dt.date) -> Book:
    """What the nightly close does: replay to ``start``, then step every day to ``until``."""
    terms, sched, products = loan
    book = replay(terms, sched, payments, start, schemes(products), adjustments).book
    pz = pauses(adjustments)
    day = start
    while day < until:
        day += dt.timedelta(days=1)
        book = step(book, terms, payments.filter(pl.col("paid_on") == day), day, schemes(products),
                    adjustments.filter(pl.col("effective_on") == day), pz).book
    return book


LOAN = make_loan(NOCAP)


def test_the_unpaid_loan_on_march_15():
    v = V(LOAN, pays(), MAR_15)
    assert v.age == ("delinquent", 42, "30-59", D(2026, 2, 2))
    assert (v.principal_outstanding, v.interest_due, v.accrued_interest, v.penalty) == (1_000_000, 28_850, 5_727, 2_155)
    assert v.total_outstanding == 1_036_732


# --------------------------------------------------------------------------- waivers


def test_waive_penalty_an_amount_and_all():
    # Inst 1 paid on time; inst 2 missed. 03-20: penalty 03-02..03-20 = 19 x 38,915,000 = 739,385,000 -> 739.
    paid = pays(("p1", 91_680, D(2026, 2, 1)))
    v = V(LOAN, paid, D(2026, 3, 20))
    assert (v.penalty_micro, v.penalty) == (739_385_000, 739)
    v = V(LOAN, paid, D(2026, 3, 20), adjs(("w1", "waive_penalty", D(2026, 3, 20), 500)))
    assert (v.penalty, v.penalty_waived) == (739 - 500, 500)
    # A waiver of more than is owed waives what is owed, never a negative penalty.
    v = V(LOAN, paid, D(2026, 3, 20), adjs(("w1", "waive_penalty", D(2026, 3, 20), 5_000)))
    assert (v.penalty, v.penalty_waived) == (0, 739)
    # All (amount omitted); the waiver is not a cure: dpd and dofd stay, and penalty runs on:
    # 03-21: 739,385,000 + 38,915,000 = 778,300,000 -> 778, of which 739 waived -> 39.
    a = adjs(("w1", "waive_penalty", D(2026, 3, 20)))
    v = V(LOAN, paid, D(2026, 3, 20), a)
    assert (v.penalty, v.penalty_waived) == (0, 739)
    assert v.age == ("delinquent", 19, "1-29", D(2026, 3, 2))
    v = V(LOAN, paid, D(2026, 3, 21), a)
    assert (v.penalty_micro, v.penalty) == (778_300_000, 39)


def test_waive_interest_takes_interest_due_oldest_first_never_future_interest():
    # 03-15, nothing paid: interest due inst 1 15,000 + inst 2 13,850. Waive 20,000: inst 1's
    # 15,000, then 5,000 of inst 2 -> 8,850 due. Accrued interest of inst 3 (5,727) is untouched.
    v = V(LOAN, pays(), MAR_15, adjs(("w1", "waive_interest", MAR_15, 20_000)))
    assert v.inst["waived_interest"].to_list()[:3] == [15_000, 5_000, 0]
    assert (v.interest_due, v.accrued_interest) == (8_850, 5_727)
    # All: 28,850 waived; the loan is still late on its principal.
    v = V(LOAN, pays(), MAR_15, adjs(("w1", "waive_interest", MAR_15)))
    assert (v.interest_due, v.accrued_interest, v.total_outstanding) == (0, 5_727, 1_036_732 - 28_850)
    assert v.age == ("delinquent", 42, "30-59", D(2026, 2, 2))


def test_waive_fees_an_amount_and_all():
    product = Product("fee20", cap="none", fees=(Fee("late", "20.00"),))
    loan = make_loan(product, penalty="0")
    # A 20.00 late fee the day after each missed due date: 02-02 and 03-02 -> 4,000 on 03-15.
    assert V(loan, pays(), MAR_15).fees == 4_000
    v = V(loan, pays(), MAR_15, adjs(("w1", "waive_fees", MAR_15, 1_500)))
    assert (v.fees, v.fees_waived) == (2_500, 1_500)
    v = V(loan, pays(), MAR_15, adjs(("w1", "waive_fees", MAR_15)))
    assert (v.fees, v.fees_waived) == (0, 4_000)
    # The next missed instalment draws its fee as before: 04-02 +2,000.
    assert V(loan, pays(), D(2026, 4, 2), adjs(("w1", "waive_fees", MAR_15))).fees == 2_000


# --------------------------------------------------------------------------- pauses

PAID_1 = pays(("p1", 91_680, D(2026, 2, 1)))  # inst 1 paid; inst 2 (due 03-01) missed


def test_dispute_pause_holds_contact_only_the_account_keeps_ageing():
    # Pause 03-10 .. 03-19 (ended by pause_end on 03-20). dpd and penalty as if there were none:
    # 03-25: dpd 24; penalty 03-02..03-25 = 24 x 38,915,000 = 933,960,000 -> 934.
    a = adjs(("s1", "pause_start", D(2026, 3, 10), None, {"reason": "dispute"}),
             ("e1", "pause_end", D(2026, 3, 20), None, {}))
    p = pauses(a).row(0, named=True)
    assert (p["reason"], p["contact_hold"], p["accrual_freeze"], p["ageing_pause"]) == ("dispute", True, False, False)
    for day, dpd in ((D(2026, 3, 15), 14), (D(2026, 3, 25), 24)):
        with_pause, without = V(LOAN, PAID_1, day, a), V(LOAN, PAID_1, day)
        assert with_pause.age == without.age == ("delinquent", dpd, "1-29", D(2026, 3, 2))
        assert with_pause.bal == without.bal
    assert V(LOAN, PAID_1, D(2026, 3, 25), a).penalty_micro == 933_960_000
    # 04-01: dpd 31, into 30-59 on the usual edge.
    assert V(LOAN, PAID_1, D(2026, 4, 1), a).age == ("delinquent", 31, "30-59", D(2026, 3, 2))


def test_forbearance_pause_freezes_dpd_and_accrual():
    # Forbearance 03-10 .. 03-19 (10 days): all three effects.
    a = adjs(("s1", "pause_start", D(2026, 3, 10), None, {"reason": "forbearance"}),
             ("e1", "pause_end", D(2026, 3, 20), None, {}))
    p = pauses(a).row(0, named=True)
    assert (p["contact_hold"], p["accrual_freeze"], p["ageing_pause"]) == (True, True, True)
    # 03-09: dpd 8; penalty 8 x 38,915,000 = 311,320,000.
    v = V(LOAN, PAID_1, D(2026, 3, 9), a)
    assert (v.dpd, v.penalty_micro) == (8, 311_320_000)
    # 03-19, last paused day: dpd still 8 (18 - 10 paused), no penalty added; accrued interest of
    # inst 3 stands at 03-09's 12,682 x 8/31 = 3,272.8 -> 3,273.
    v = V(LOAN, PAID_1, D(2026, 3, 19), a)
    assert (v.dpd, v.penalty_micro, v.accrued_interest) == (8, 311_320_000, 3_273)
    # 03-25: dpd 24 - 10 = 14; penalty 8 + 6 (03-20..03-25) = 14 days x 38,915,000 = 544,810,000 -> 545.
    # Accrued: gross 12,682 x 24/31 = 9,818.3 -> 9,818, less the frozen days' interest
    # 10 x floor(12,682e6 / 31 = 409,096,774.19) = 4,090,967,740 micro -> 4,091: 5,727.
    v = V(LOAN, PAID_1, D(2026, 3, 25), a)
    assert (v.dpd, v.bucket, v.penalty_micro, v.penalty) == (14, "1-29", 544_810_000, 545)
    assert (v.interest_frozen_micro, v.accrued_interest) == (4_090_967_740, 5_727)
    # 04-01: inst 3 falls due with its frozen interest waived: 12,682 - 4,091 = 8,591 of it owed;
    # interest due 13,850 + 8,591 = 22,441. dpd 31 - 10 = 21: still 1-29 (30 without the pause).
    v = V(LOAN, PAID_1, D(2026, 4, 1), a)
    assert v.inst.filter(pl.col("n") == 3)["waived_interest"].item() == 4_091
    assert (v.interest_due, v.dpd, v.bucket, v.dofd) == (22_441, 21, "1-29", D(2026, 3, 2))
    # The bucket edge moves by the paused days: 30 dpd on 04-10 (40 days after 03-01, less 10).
    assert V(LOAN, PAID_1, D(2026, 4, 9), a).bucket == "1-29"
    assert V(LOAN, PAID_1, D(2026, 4, 10), a).age == ("delinquent", 30, "30-59", D(2026, 3, 2))


FORBEARANCE = adjs(("s1", "pause_start", D(2026, 3, 10), None, {"reason": "forbearance"}),
                   ("e1", "pause_end", D(2026, 3, 20), None, {}))


def test_paying_what_the_account_shows_under_a_freeze_pays_the_loan_off():
    # The forbearance above: on 03-25 the account shows 943,442 owed (inst 2 91,680, penalty 545,
    # principal not yet due 845,490, accrued 5,727 net of the frozen days' 4,091). Paying exactly
    # that pays the loan off, whatever the product does with a prepayment. (The payoff once asked
    # for the accrued interest net of the cap only, 9,818: the loan stayed open, on a
    # reduce_term product with 4,091 of principal unpaid and delinquent by May, on
    # hold_as_credit with everything held as credit.)
    for prepayment in ("reduce_term", "hold_as_credit"):
        loan = make_loan(Product(f"nocap_{prepayment}", cap="none", prepayment=prepayment))
        assert V(loan, PAID_1, D(2026, 3, 25), FORBEARANCE).total_outstanding == 943_442
        paid = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 943_442, D(2026, 3, 25)))
        v = V(loan, paid, D(2026, 3, 25), FORBEARANCE)
        assert (v.status, v.total_outstanding, v.credit) == ("paid_off", 0, 0), prepayment
        got = v.history.allocations.filter(pl.col("day") == D(2026, 3, 25))
        assert got.filter(pl.col("component") != "principal").select("component", "n", "amount").sort("n").rows() == [
            ("penalty", 0, 545), ("interest", 2, 13_850), ("interest", 3, 5_727)], prepayment
        # Inst 2's principal, then all the principal not yet due.
        assert got.filter(pl.col("component") == "principal")["amount"].sum() == 77_830 + 845_490, prepayment


def test_a_prepayment_of_all_principal_under_a_freeze_pays_the_earned_interest_net_of_it():
    # On a reduce_term product, 03-25: 1,000 short of the 943,442 payoff. What is due is paid
    # (inst 2, penalty 545), then the interest earned, net of the freeze: 5,727; then principal,
    # 844,490, leaving 1,000. The frozen days' 4,091 is waived then (not at the due date as well),
    # so inst 3 falls due on 04-01 with only the rebuilt period's interest on what was left:
    # 1,000 x 1.5% = 15, and its 1,000 of principal. (The prepayment once took 9,818 of interest,
    # frozen days included, and left 5,091 of principal.)
    loan = make_loan(Product("nocap_reduce_term", cap="none", prepayment="reduce_term"))
    paid = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 943_442 - 1_000, D(2026, 3, 25)))
    v = V(loan, paid, D(2026, 3, 25), FORBEARANCE)
    got = v.history.allocations.filter(pl.col("day") == D(2026, 3, 25)).select("component", "n", "amount").rows()
    assert sorted(got) == sorted([("penalty", 0, 545), ("interest", 2, 13_850), ("principal", 2, 77_830),
                                  ("interest", 3, 5_727), ("principal", 0, 844_490)])
    assert (v.status, v.principal_outstanding, v.interest_frozen_posted) == ("current", 1_000, 4_091)
    assert v.inst.filter(pl.col("n") == 3).select("paid_interest", "waived_interest").row(0) == (5_727, 4_091)
    v = V(loan, paid, D(2026, 4, 1), FORBEARANCE)
    assert (v.interest_due, v.total_outstanding) == (15, 1_015)


# --------------------------------------------------------------------------- restructure


def _restructure(treatment: str, day: dt.date = MAR_15) -> pl.DataFrame:
    return adjs(("r1", "restructure", day, None, {
        "term": 6, "annual_rate": "0.12", "reason": "hardship",
        "arrears": {"penalty": treatment, "interest": treatment, "fees": treatment}}))


def test_restructure_capitalise_keeps_dofd_resets_dpd():
    # Capitalised: 1,000,000 + 28,850 + 5,727 + 2,155 = 1,036,732 over 6 months at 1% from 03-15.
    # Annuity 1,036,732 x 0.01 / (1 - 1.01^-6) = 178,885.9 -> 178,886; first instalment due 04-15:
    # interest 1,036,732 x 1% = 10,367.3 -> 10,367, principal 178,886 - 10,367 = 168,519.
    a = _restructure("capitalise")
    v = V(LOAN, pays(), MAR_15, a)
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("restructured", 0, "current", D(2026, 2, 2))
    assert (v.restructured_on, v.probation_until, v.pre_restructure_bucket) == (MAR_15, D(2027, 3, 15), "30-59")
    old, new = v.inst.filter(pl.col("n") <= 12), v.inst.filter(pl.col("n") > 12)
    assert (old["principal"] - old["paid_principal"] - old["waived_principal"]).sum() == 0  # closed out
    assert new["due_on"].to_list() == [D(2026, m, 15) for m in range(4, 10)]
    assert (new["principal"][0], new["interest"][0]) == (168_519, 10_367)
    assert new["principal"].sum() == 1_036_732
    assert (v.principal_outstanding, v.interest_due, v.accrued_interest, v.penalty, v.total_outstanding) == (
        1_036_732, 0, 0, 0, 1_036_732)
    # Paid on time, it stays restructured and current; dofd stays through the probation.
    v = V(LOAN, pays(("p1", 178_886, D(2026, 4, 15))), D(2026, 4, 20), a)
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("restructured", 0, "current", D(2026, 2, 2))


def test_restructure_overlap_one_running_period_per_loan():
    # After the 03-15 restructure the old inst 3 (03-01 .. 04-01, closed out) and the new inst 13
    # (03-15 .. 04-15) both span 03-20. Only the new one runs: 03-20 accrues 10,367 x 5/31
    # = 1,672.1 -> 1,672. The closed-out instalment once counted as a second running period: the
    # balances had two rows for the loan (the portfolio snapshot counted it twice, the account
    # showed 1,036,732 without the accrual) and a payoff paid inst 13's principal four times.
    a = _restructure("capitalise")
    day = D(2026, 3, 20)
    v = V(LOAN, pays(), day, a)
    bal = balances(v.history.book.loans, v.history.book.inst, day)
    assert bal.select("loan_id", "current_n", "accrued_interest", "total_outstanding").rows() == [
        ("A", 13, 1_672, 1_036_732 + 1_672)]
    v = V(LOAN, pays(("p1", 1_038_404, day)), day, a)
    alloc = v.history.allocations.filter(pl.col("day") == day)
    assert alloc.filter(pl.col("component") == "interest")[["n", "amount"]].rows() == [(13, 1_672)]
    assert alloc.filter(pl.col("component") == "principal")["amount"].sum() == 1_036_732
    assert (v.status, v.total_outstanding, v.credit) == ("paid_off", 0, 0)


def test_restructure_carry_keeps_the_carried_interest_owed_every_day():
    # Carried: principal 1,000,000 re-amortised: 10,000 / (1 - 1.01^-6) = 172,548.4 -> 172,548;
    # first (04-15): interest 10,000, principal 162,548. The interest arrears stay owed as they are:
    # 28,850 due on insts 1-2, and inst 3's period ends on 03-15 with the 5,727 it earned, all
    # payable by 04-15; penalty 2,155 stays owed as it is. So nothing owed changes on 03-15:
    # 1,000,000 + 34,577 + 2,155 = 1,036,732. (The 34,577 once rode on the first new instalment,
    # 44,577, accruing pro rata: owed 1,002,155 on 03-15, the carried interest hidden until 04-15.)
    v = V(LOAN, pays(), MAR_15, _restructure("carry"))
    first = v.inst.filter(pl.col("n") == 13).row(0, named=True)
    assert (first["principal"], first["interest"]) == (162_548, 10_000)
    assert v.inst.filter(pl.col("n") == 3)[["due_on", "adjusted_due_on", "interest"]].row(0) == (
        MAR_15, D(2026, 4, 15), 5_727)
    assert (v.principal_outstanding, v.interest_due, v.penalty, v.penalty_waived, v.total_outstanding) == (
        1_000_000, 34_577, 2_155, 0, 1_036_732)
    assert (v.dpd, v.dofd, v.overdue) == (0, D(2026, 2, 2), 2_155)
    # 03-20: only the new period accrues, 10,000 x 5/31 = 1,612.9 -> 1,613 (it once accrued
    # 44,577 x 5/31 = 7,190, carried interest included).
    v = V(LOAN, pays(), D(2026, 3, 20), _restructure("carry"))
    assert (v.interest_due, v.accrued_interest, v.total_outstanding) == (34_577, 1_613, 1_036_732 + 1_613)
    # On 04-15 the first instalment's interest falls due too: 34,577 + 10,000 = 44,577; missed, the
    # loan is 1 day past due on 04-16, the carried interest included.
    assert V(LOAN, pays(), D(2026, 4, 15), _restructure("carry")).interest_due == 44_577
    v = V(LOAN, pays(), D(2026, 4, 16), _restructure("carry"))
    assert (v.dpd, v.overdue - v.penalty) == (1, 44_577 + 162_548)


def test_restructure_capitalise_on_a_capped_loan_never_makes_capped_interest_principal():
    # The 15% bullet loan under the 13.8% private-lending cap (test_worked_examples, (d)),
    # restructured on 2024-03-11 capitalising its arrears: interest earned 03-02 .. 03-11 is
    # 12,329 x 10/30 = 4,109.7 -> 4,110, of which the cap removed 10 x 32,884,475 = 328,844,750
    # -> 329. Only the 3,781 still receivable is capitalised: 1,000,000 + 3,781 = 1,003,781 (it
    # once capitalised 1,004,110 and took the 329 back off the new instalment's interest at its
    # due date). The 329 is recorded as capped on the closed-out instalment.
    loan = make_loan(PRIVATE, rate="0.15", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    a = adjs(("r1", "restructure", D(2024, 3, 11), None, {
        "term": 1, "annual_rate": "0.15", "reason": "hardship", "arrears": {"interest": "capitalise"}}))
    v = V(loan, pays(), D(2024, 3, 11), a)
    old, new = v.inst.filter(pl.col("n") == 1).row(0, named=True), v.inst.filter(pl.col("n") == 2)
    assert new["principal"].sum() == v.principal_outstanding == 1_003_781
    assert (old["interest"], old["interest_capped"], v.interest_capped_posted) == (329, 329, 329)
    assert v.total_outstanding == 1_003_781
    # At the new due date (04-10) only what the cap removed from 03-12 on comes off its interest.
    v = V(loan, pays(), D(2024, 4, 10), a)
    posted = v.inst.filter(pl.col("n") == 2)["interest_capped"].item()
    assert posted == (v.interest_capped_micro + 500_000) // 1_000_000 - 329 == v.interest_capped_posted - 329


def test_restructure_waive_forgives_the_arrears():
    v = V(LOAN, pays(), MAR_15, _restructure("waive"))
    first = v.inst.filter(pl.col("n") == 13).row(0, named=True)
    assert (first["principal"], first["interest"]) == (162_548, 10_000)
    assert v.inst.filter(pl.col("n") <= 2)["waived_interest"].to_list() == [15_000, 13_850]
    assert (v.penalty, v.penalty_waived, v.total_outstanding) == (0, 2_155, 1_000_000)
    assert (v.status, v.dpd, v.dofd) == ("restructured", 0, D(2026, 2, 2))


def test_restructure_waive_records_the_accrued_interest_it_waives():
    # The running period's interest earned to 03-15 (inst 3: 12,682 x 14/31 -> 5,727) is waived
    # too, so it is recorded on inst 3 as waived (it once vanished unrecorded). Then the receivable
    # on 03-15, 1,036,732 (test_the_unpaid_loan_on_march_15), less everything recorded as waived,
    # 15,000 + 13,850 + 5,727 of interest and 2,155 of penalty, is what is left: 1,000,000.
    v = V(LOAN, pays(), MAR_15, _restructure("waive"))
    assert v.inst.filter(pl.col("n") <= 3)["waived_interest"].to_list() == [15_000, 13_850, 5_727]
    waived = v.inst["waived_interest"].sum() + v.inst["waived_principal"].sum() + v.penalty_waived + v.fees_waived
    assert (waived, v.total_outstanding) == (36_732, 1_036_732 - 36_732)
    # Inst 3 owes nothing when its date comes: its interest is what was waived.
    later = V(LOAN, pays(), D(2026, 4, 2), _restructure("waive"))
    assert later.inst.filter(pl.col("n") == 3)[["interest", "waived_interest"]].row(0) == (5_727, 5_727)


def test_missed_payment_on_probation_returns_the_pre_restructure_bucket():
    # The first new instalment (04-15) is missed: on 04-16 dpd is 1, which alone would be 1-29; on
    # probation the account goes back to its pre-restructure bucket, 30-59.
    a = _restructure("capitalise")
    v = V(LOAN, pays(), D(2026, 4, 16), a)
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 1, "30-59", D(2026, 2, 2))
    # Penalty from 04-16 on the new instalment's principal: 168,519 x 500 = 84,259,500 micro,
    # on top of the 2,155,090,000 the capitalisation waived.
    assert v.penalty_micro == 2_155_090_000 + 84_259_500 and v.penalty == 84


# --------------------------------------------------------------------------- settlement

SETTLE = adjs(("s1", "settlement", MAR_15, 500_000, {"pay_by": "2026-03-31"}))


def test_settlement_paid_by_pay_by_closes_the_loan_settled_with_the_rest_forgiven():
    # 03-31, before the payment: principal 1,000,000; interest due 28,850; accrued 12,682 x 30/31
    # = 12,273.2 -> 12,273; penalty 28 x 38,340,000 + 30 x 77,255,000 (03-02..03-31)
    # = 1,073,520,000 + 2,317,650,000 = 3,391,170,000 -> 3,391. Total 1,044,514.
    v = V(LOAN, pays(), D(2026, 3, 31), SETTLE)
    assert v.total_outstanding == 1_044_514 and v.settlement_amount is None  # lapsed, unpaid
    v = V(LOAN, pays(("p1", 500_000, D(2026, 3, 31))), D(2026, 3, 31), SETTLE)
    # The agreed 500,000 is kept whole; the rest, 1,044,514 - 500,000 = 544,514, is forgiven.
    assert (v.status, v.closed_on, v.forgiven, v.written_off) == ("settled", D(2026, 3, 31), 544_514, 0)
    assert (v.total_outstanding, v.credit, v.payoff_amount) == (0, 0, 0)
    # Settlement is not a cure: dofd stays; dpd and bucket are those of the day before (03-30: 57).
    assert (v.dpd, v.bucket, v.dofd) == (57, "30-59", D(2026, 2, 2))
    alloc = v.history.allocations
    assert alloc.filter(pl.col("source") == "p1")["amount"].sum() == 500_000
    assert alloc.filter(pl.col("component") != "credit")["amount"].sum() == 500_000
    # Nothing more happens to it.
    later = V(LOAN, pays(("p1", 500_000, D(2026, 3, 31))), D(2026, 5, 1), SETTLE)
    assert (later.status, later.total_outstanding, later.forgiven) == ("settled", 0, 544_514)


def test_settlement_paid_one_day_late_is_an_ordinary_payment():
    # 04-01: the 500,000 pays penalty 3,391 + 77,255,000 micro (04-01) = 3,468,425,000 -> 3,468,
    # insts 1, 2 and 3 (due that day), 3 x 91,680 = 275,040, and leaves 500,000 - 3,468 - 275,040 = 221,492 held as credit. Nothing is waived.
    v = V(LOAN, pays(("p1", 500_000, D(2026, 4, 1))), D(2026, 4, 1), SETTLE)
    assert (v.status, v.forgiven, v.written_off, v.penalty_waived) == ("current", 0, 0, 0)
    assert (v.credit, v.principal_outstanding) == (221_492, 766_492)


def test_settlement_paid_short_by_pay_by_is_an_ordinary_payment():
    v = V(LOAN, pays(("p1", 499_999, D(2026, 3, 31))), D(2026, 3, 31), SETTLE)
    assert (v.status, v.forgiven, v.written_off, v.penalty_waived) == ("current", 0, 0, 0)
    # 499,999 - penalty 3,391 - insts 1 and 2 (183,360) = 313,248 held as credit.
    assert v.credit == 313_248 and v.settlement_amount is None


def test_settled_state_is_the_same_stepped_daily_or_replayed():
    """The nightly close steps every day; the view jumps between event days. Both must agree."""
    paid = pays(("p1", 500_000, D(2026, 3, 31)))
    closed = day_by_day(LOAN, paid, SETTLE, D(2026, 3, 1), D(2026, 4, 3)).loans.row(0, named=True)
    viewed = V(LOAN, paid, D(2026, 4, 3), SETTLE).loan
    assert closed == viewed


# --------------------------------------------------------------------------- charge-off, write-off


def test_charge_off_by_decision():
    # Charged off on 03-15 at dpd 42 (below the product's 120): interest and penalty stop.
    a = adjs(("c1", "charge_off", MAR_15))
    v = V(LOAN, pays(), MAR_15, a)
    assert (v.status, v.charged_off_on, v.dpd, v.dofd) == ("charged_off", MAR_15, 42, D(2026, 2, 2))
    # Interest of days not yet run is never charged; what inst 3 earned to 03-15, 5,727, is written
    # off (test_charge_off_mid_period_writes_off_the_interest_earned_to_the_day).
    assert (v.principal_outstanding, v.interest_due, v.accrued_interest, v.penalty) == (1_000_000, 28_850, 0, 2_155)
    v = V(LOAN, pays(("p1", 10_000, D(2026, 4, 15))), D(2026, 4, 15), a)
    # Nothing accrued since; the account keeps ageing (dpd 73); a payment is a recovery.
    assert (v.penalty_micro, v.dpd, v.bucket) == (2_155_090_000, 73, "60-89")
    assert (v.recovered, v.penalty) == (10_000, 0)


def test_charge_off_mid_period_writes_off_the_interest_earned_to_the_day():
    # On 03-15 the loan owes 1,036,732, of which 5,727 is inst 3's interest earned 03-02..03-15
    # (12,682 x 14/31, half-up). Charged off that day, interest stops, but what was earned does not
    # vanish: it is waived off inst 3 and recorded in written_off, so receivable + written off is
    # still 1,036,732 (the charge-off once dropped the 5,727 unrecorded).
    v = V(LOAN, pays(), MAR_15, adjs(("c1", "charge_off", MAR_15)))
    assert (v.status, v.total_outstanding, v.written_off) == ("charged_off", 1_036_732 - 5_727, 5_727)
    assert v.inst.filter(pl.col("n") == 3)[["interest", "waived_interest"]].row(0) == (5_727, 5_727)
    assert v.history.movements.filter(pl.col("day") == MAR_15)["written_off"].to_list() == [5_727]
    # Nothing of it is owed later; inst 3 falls due on 04-01 owing only its principal.
    later = V(LOAN, pays(), D(2026, 4, 2), adjs(("c1", "charge_off", MAR_15)))
    assert (later.interest_due, later.written_off) == (28_850, 5_727)


def test_charge_off_at_charge_off_dpd_writes_off_the_interest_earned_to_the_day():
    # The ageing rule's charge-off: at 45 dpd, on 03-18 (inst 1 unpaid since 02-01). Inst 3 has
    # earned 12,682 x 17/31 = 6,954.8 -> 6,955 by then: written off, not dropped.
    loan = make_loan(Product("co45", cap="none", charge_off_dpd=45))
    before = V(loan, pays(), D(2026, 3, 17))
    assert (before.status, before.accrued_interest) == ("delinquent", 6_546)  # 12,682 x 16/31 = 6,545.5
    v = V(loan, pays(), D(2026, 3, 18))
    assert (v.status, v.charged_off_on, v.dpd) == ("charged_off", D(2026, 3, 18), 45)
    assert (v.written_off, v.accrued_interest) == (6_955, 0)
    assert v.inst.filter(pl.col("n") == 3)["waived_interest"].item() == 6_955


def test_write_off_closes_the_loan_with_everything_owed_written_off():
    a = adjs(("w1", "write_off", MAR_15))
    v = V(LOAN, pays(), MAR_15, a)
    # Everything owed on 03-15: 1,036,732 (above).
    assert (v.status, v.closed_on, v.written_off, v.total_outstanding) == ("written_off", MAR_15, 1_036_732, 0)
    assert (v.dpd, v.bucket, v.dofd) == (41, "30-59", D(2026, 2, 2))  # frozen as of 03-14
    later = V(LOAN, pays(), D(2026, 6, 1), a)
    assert (later.status, later.total_outstanding, later.written_off) == ("written_off", 0, 1_036_732)
    stepped = day_by_day(LOAN, pays(), a, D(2026, 3, 10), D(2026, 3, 16)).loans.row(0, named=True)
    assert stepped == V(LOAN, pays(), D(2026, 3, 16), a).loan


def test_write_off_of_a_capped_loan_writes_off_what_was_owed_not_what_the_cap_removed():
    # The 15% private loan capped at 13.8% (test_worked_examples, test_d_payoff_mid_period...): on
    # 2024-03-11 it owes 1,000,000 + 4,110 of interest earned less the 329 the cap removed = 1,003,781.
    # Written off that day, 1,003,781 is written off; the 329 is posted as capped (it once was
    # written off as well: 1,004,110, more than was ever owed).
    loan = make_loan(PRIVATE, rate="0.15", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    day = D(2024, 3, 11)
    assert V(loan, pays(), day).total_outstanding == 1_003_781
    v = V(loan, pays(), day, adjs(("w1", "write_off", day)))
    assert (v.status, v.total_outstanding, v.written_off) == ("written_off", 0, 1_003_781)
    assert v.inst[["interest", "interest_capped", "waived_interest"]].row(0) == (4_110, 329, 3_781)
    assert v.history.movements.filter(pl.col("day") == day)["written_off"].to_list() == [1_003_781]
