"""Worked examples of the book: balances, dpd, bucket, dofd, penalty and the cap at named dates.

Every expected figure is derived by hand from the schedule and the rules (INTERFACE.md Definitions,
FIELD-NOTES §4 CN-CAP, the docstrings of book/accrual.py, allocation.py, ageing.py); the arithmetic
is in the comments. Units: money in minor units (fen / cents); running accruals in micro-units
(10^-6 of a minor unit), rounded half-up only when viewed or posted.

Rules used throughout:
- penalty for day d accrues on the start-of-day base (overdue principal) from the day after the
  due date (+ grace), so on day d with base B at 0.0005/day: B x 500 micro;
- cap rule 1 (licensed 24%, contract 18%): the penalty on the overdue base is held to
  (24% - 18%) / 365 a day: floor(B x 60_000 / 365) micro (cap and rate in micro-units of a unit);
- cap rule 2: interest + penalty + fees for day d <= floor(principal outstanding x cap / 365);
- accrued interest = the current instalment's interest x elapsed / period length, half-up.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from arrears.book.balances import balances
from arrears.book.caps import CapError, resolve
from arrears.book.payments import effective
from arrears.book.products import Fee, Product
from arrears.book.replay import replay
from arrears.book.schedule import schedule_frame
from arrears.book.terms import loan_terms
from arrears.rates import parse_rate

D = dt.date

# --------------------------------------------------------------------------- helpers

LICENSED = Product("lic", calendar="CN", cap="cn_licensed_24")
NOCAP = Product("nocap", cap="none")
PRODUCTS: dict[str, Product] = {"default": Product("default"), "lic": LICENSED, "nocap": NOCAP}
JAN_1 = D(2026, 1, 1)


def make_loan(
    product: Product,
    *,
    principal: int = 1_000_000,
    rate: str = "0.18",
    term: int = 12,
    frequency: str = "monthly",
    period_days: int | None = None,
    method: str = "annuity",
    disbursed: dt.date = JAN_1,
    contract: dt.date | None = None,
    penalty: str = "0.0005",
    lender_type: str | None = None,
    currency: str = "CNY",
):
    products = {**PRODUCTS, product.code: product}
    frame = pl.DataFrame(
        [{"loan_id": "A", "borrower_id": "B", "product": product.code, "currency": currency,
          "principal_minor": principal, "annual_rate_nano": parse_rate(rate), "term": term,
          "frequency": frequency, "period_days": period_days, "method": method,
          "disbursed_on": disbursed, "first_due_on": None, "contract_date": contract or disbursed,
          "penalty_rate_daily_nano": parse_rate(penalty), "lender_type": lender_type}],
        schema_overrides={"period_days": pl.Int64, "first_due_on": pl.Date, "lender_type": pl.String},
    )
    terms = loan_terms(frame, products)
    return terms, schedule_frame(terms, products), products


def pays(*rows: tuple[str, int, dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        {"payment_id": [r[0] for r in rows], "loan_id": ["A"] * len(rows),
         "amount": [r[1] for r in rows], "paid_on": [r[2] for r in rows]},
        schema={"payment_id": pl.String, "loan_id": pl.String, "amount": pl.Int64, "paid_on": pl.Date},
    )


class View:
    """One loan after replay to ``until``: its balances, its state row, instalments, allocations."""

    def __init__(self, loan, payments: pl.DataFrame, until: dt.date):
        terms, sched, products = loan
        self.history = replay(terms, sched, payments, until, {k: p.buckets for k, p in products.items()})
        self.bal = balances(self.history.book.loans, self.history.book.inst, until).row(0, named=True)
        self.loan = self.history.book.loans.row(0, named=True)
        self.inst = self.history.book.inst.sort("n")
        self.alloc = self.history.allocations

    def __getattr__(self, name):  # balances first, then the loan's state columns
        if name in self.bal:
            return self.bal[name]
        return self.loan[name]

    def alloc_rows(self, day: dt.date) -> list[tuple[str, int, int]]:
        return [(r["component"], r["n"], r["amount"])
                for r in self.alloc.filter(pl.col("day") == day).iter_rows(named=True)]


def check_balances(v: View, **expected: int) -> None:
    got = {k: v.bal[k] for k in expected}
    assert got == expected
    # the account-view identity (INTERFACE.md)
    assert v.total_outstanding == (v.principal_outstanding + v.interest_due + v.accrued_interest
                                   + v.penalty + v.fees)


# The 12-month annuity at 18% on CNY 10,000.00 (1,000,000 fen), disbursed 2026-01-01, due on the
# 1st. Monthly rate 1.5%; exact payment 1e6 x 0.015 / (1 - 1.015^-12) = 91,679.99 -> 91,680.
#   n  due         interest                         principal
#   1  2026-02-01  1,000,000 x 1.5% = 15,000        91,680 - 15,000 = 76,680   balance 923,320
#   2  2026-03-01  923,320 x 1.5% = 13,849.8 -> 13,850   91,680 - 13,850 = 77,830   balance 845,490
#   3  2026-04-01  845,490 x 1.5% = 12,682.35 -> 12,682  91,680 - 12,682 = 78,998   balance 766,492
#   4  2026-05-01  766,492 x 1.5% = 11,497.38 -> 11,497  91,679 - 11,497 = 80,182   balance 686,310
#   5  2026-06-01  686,310 x 1.5% = 10,294.65 -> 10,295  91,680 - 10,295 = 81,385
ANNUITY = [(76_680, 15_000), (77_830, 13_850), (78_998, 12_682), (80_182, 11_497), (81_385, 10_295)]


def test_annuity_schedule_used_below():
    _, sched, _ = make_loan(LICENSED)
    head = sched.sort("n").head(5)
    assert list(zip(head["principal"], head["interest"])) == ANNUITY


# --------------------------------------------------------------------------- (a) annuity, capped


def test_a_annuity_missed_two_instalments_capped_penalty():
    loan = make_loan(LICENSED, lender_type="licensed")
    payments = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 50_000, D(2026, 4, 15)))
    # Penalty per day, rule 1: 18% + 18.25% (0.0005 x 365) breaks 24%; only 6% a year remains.
    #   base 77,830 (inst 2):            gross 77,830 x 500 = 38,915,000; kept floor(77,830 x 60,000 / 365)
    #                                    = floor(12,793,972.6) = 12,793,972; capped 26,121,028
    #   base 77,830 + 78,998 = 156,828:  kept floor(25,779,945.2) = 25,779,945; capped 78,414,000 - that
    #                                    = 52,634,055
    # Rule 2 never binds: e.g. in March, interest 12,682e6 // 31 = 409,096,774 + 12,793,972 is well
    # under 923,320 x 240,000 // 365 = 607,114,520 a day.

    # 2026-03-31: inst 2 (due 03-01) unpaid; penalty days 03-02 .. 03-31 = 30.
    v = View(loan, payments, D(2026, 3, 31))
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 30, "30-59", D(2026, 3, 2))
    assert v.penalty_micro == 30 * 12_793_972 == 383_819_160  # -> 383.8 -> 384 fen
    assert v.capped_micro == 30 * 26_121_028 == 783_630_840
    check_balances(
        v,
        principal_outstanding=1_000_000 - 76_680,  # 923,320
        interest_due=13_850,  # inst 2
        accrued_interest=12_273,  # inst 3: 12,682 x 30/31 = 12,273.2
        penalty=384,
        fees=0,
        overdue=91_680 + 384,  # inst 2 in full + penalty = 92,064
        total_outstanding=923_320 + 13_850 + 12_273 + 384,  # 949,827
        payoff_amount=949_827,
        credit=0,
    )

    # 2026-04-15: days 03-02 .. 04-01 (31) on 77,830; 04-02 .. 04-15 (14) on 156,828.
    #   penalty 31 x 12,793,972 + 14 x 25,779,945 = 396,613,132 + 360,919,230 = 757,532,362 -> 758
    # The 500.00 pays penalty 758, inst 2 interest 13,850, inst 2 principal 50,000 - 14,608 = 35,392.
    v = View(loan, payments, D(2026, 4, 15))
    assert v.penalty_micro == 757_532_362
    assert v.capped_micro == 31 * 26_121_028 + 14 * 52_634_055 == 1_546_628_638
    assert v.alloc_rows(D(2026, 4, 15)) == [("penalty", 0, 758), ("interest", 2, 13_850),
                                            ("principal", 2, 35_392)]
    # inst 2 still owes 77,830 - 35,392 = 42,438: dpd counts from 03-01 still; dofd unchanged.
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 45, "30-59", D(2026, 3, 2))
    check_balances(
        v,
        principal_outstanding=923_320 - 35_392,  # 887,928
        interest_due=12_682,  # inst 3
        accrued_interest=5_365,  # inst 4: 11,497 x 14/30 = 5,365.3
        penalty=0,
        fees=0,
        overdue=42_438 + 91_680,  # 134,118
        total_outstanding=887_928 + 12_682 + 5_365,  # 905,975
        payoff_amount=905_975,
        credit=0,
    )

    # 2026-05-10: inst 4 (05-01) missed as well.
    #   04-16 .. 05-01 (16 days) base 42,438 + 78,998 = 121,436: floor(19,962,082.2) = 19,962,082
    #   05-02 .. 05-10 (9 days)  base 121,436 + 80,182 = 201,618: floor(33,142,684.9) = 33,142,684
    #   penalty 757,532,362 + 16 x 19,962,082 + 9 x 33,142,684 = 1,375,209,830 -> 1,375; paid 758 -> 617
    #   capped: 121,436 x 500 - 19,962,082 = 40,755,918 ; 201,618 x 500 - 33,142,684 = 67,666,316
    v = View(loan, payments, D(2026, 5, 10))
    assert v.penalty_micro == 757_532_362 + 16 * 19_962_082 + 9 * 33_142_684 == 1_375_209_830
    assert v.capped_micro == 1_546_628_638 + 16 * 40_755_918 + 9 * 67_666_316 == 2_807_720_170
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 70, "60-89", D(2026, 3, 2))
    check_balances(
        v,
        principal_outstanding=887_928,
        interest_due=12_682 + 11_497,  # insts 3 and 4: 24,179
        accrued_interest=2_989,  # inst 5: 10,295 x 9/31 = 2,988.9
        penalty=1_375 - 758,
        fees=0,
        overdue=42_438 + 91_680 + 91_679 + 617,  # 226,414
        total_outstanding=887_928 + 24_179 + 2_989 + 617,  # 915,713
        payoff_amount=915_713,
        credit=0,
    )
    # No contractual interest was capped here (rule 2 never bound).
    assert v.interest_capped_micro == 0


# --------------------------------------------------------------------------- (b) equal principal


def test_b_equal_principal_missed_two_instalments_capped_penalty():
    # Equal principal: 1,000,000 // 12 = 83,333 a month (the last takes 83,337).
    #   1: 1,000,000 x 1.5% = 15,000;  2: 916,667 x 1.5% = 13,750.0 -> 13,750;
    #   3: 833,334 x 1.5% = 12,500.0 -> 12,500;  4: 750,001 x 1.5% = 11,250.0 -> 11,250;
    #   5: 666,668 x 1.5% = 10,000.0 -> 10,000
    loan = make_loan(LICENSED, method="equal_principal", lender_type="licensed")
    sched = loan[1].sort("n").head(5)
    assert list(zip(sched["principal"], sched["interest"])) == [
        (83_333, 15_000), (83_333, 13_750), (83_333, 12_500), (83_333, 11_250), (83_333, 10_000)]
    payments = pays(("p1", 98_333, D(2026, 2, 1)), ("p2", 50_000, D(2026, 4, 15)))
    # Kept penalty per day: floor(83,333 x 60,000 / 365) = floor(13,698,575.3) = 13,698,575
    #   (gross 41,666,500, capped 27,967,925)

    v = View(loan, payments, D(2026, 3, 31))  # 30 penalty days
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 30, "30-59", D(2026, 3, 2))
    assert v.penalty_micro == 30 * 13_698_575 == 410_957_250  # -> 411
    assert v.capped_micro == 30 * 27_967_925
    check_balances(
        v, principal_outstanding=916_667, interest_due=13_750,
        accrued_interest=12_097,  # 12,500 x 30/31 = 12,096.8
        penalty=411, fees=0, overdue=97_083 + 411,
        total_outstanding=916_667 + 13_750 + 12_097 + 411,  # 942,925
        payoff_amount=942_925, credit=0,
    )

    # 04-15: 31 days x 13,698,575 + 14 days x floor(166,666 x 60,000 / 365 = 27,397,150.7)
    #   = 424,655,825 + 383,560,100 = 808,215,925 -> 808
    # 500.00 -> penalty 808, inst 2 interest 13,750, inst 2 principal 35,442 (83,333 - 35,442 = 47,891 left)
    v = View(loan, payments, D(2026, 4, 15))
    assert v.penalty_micro == 808_215_925
    assert v.alloc_rows(D(2026, 4, 15)) == [("penalty", 0, 808), ("interest", 2, 13_750),
                                            ("principal", 2, 35_442)]
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 45, "30-59", D(2026, 3, 2))
    check_balances(
        v, principal_outstanding=916_667 - 35_442, interest_due=12_500,
        accrued_interest=5_250,  # 11,250 x 14/30 = 5,250 exactly
        penalty=0, fees=0, overdue=47_891 + 95_833,
        total_outstanding=881_225 + 12_500 + 5_250, payoff_amount=898_975, credit=0,
    )

    # 05-10: 16 days on 47,891 + 83,333 = 131,224 -> floor(21,571,068.5) = 21,571,068
    #         9 days on 131,224 + 83,333 = 214,557 -> floor(35,269,643.8) = 35,269,643
    #   808,215,925 + 345,137,088 + 317,426,787 = 1,470,779,800 -> 1,471; less 808 paid = 663
    v = View(loan, payments, D(2026, 5, 10))
    assert v.penalty_micro == 1_470_779_800
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 70, "60-89", D(2026, 3, 2))
    check_balances(
        v, principal_outstanding=881_225, interest_due=12_500 + 11_250,
        accrued_interest=2_903,  # 10,000 x 9/31 = 2,903.2
        penalty=663, fees=0, overdue=47_891 + 95_833 + 94_583 + 663,  # 238,970
        total_outstanding=881_225 + 23_750 + 2_903 + 663, payoff_amount=908_541, credit=0,
    )


# --------------------------------------------------------------------------- (c) bullet, 45 days late


def test_c_bullet_paid_45_days_late():
    # 30-day bullet: 5,000.00 at 12%: interest 500,000 x 0.12 x 30/365 = 4,931.5 -> 4,932, due 01-31.
    # No cap: penalty 500,000 x 0.0005 = 250 fen = 250,000,000 micro a day from 02-01.
    loan = make_loan(NOCAP, principal=500_000, rate="0.12", term=1, frequency="days", period_days=30,
                     method="bullet")
    assert loan[1]["due_on"].to_list() == [D(2026, 1, 31)]
    assert loan[1]["interest"].to_list() == [4_932]
    pay_day = D(2026, 1, 31) + dt.timedelta(days=45)  # 2026-03-17

    # Before the payment (on 03-17, not yet paid): 45 penalty days 02-01 .. 03-17 = 11,250.
    v = View(loan, pays(), pay_day)
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 45, "30-59", D(2026, 2, 1))
    assert v.penalty_micro == 45 * 250_000_000
    check_balances(v, principal_outstanding=500_000, interest_due=4_932, accrued_interest=0,
                   penalty=11_250, fees=0, overdue=516_182, total_outstanding=516_182,
                   payoff_amount=516_182, credit=0)

    # Paid on 03-17: 500,000 + 4,932 + 11,250 = 516,182 (a payment on d owes d's penalty).
    payments = pays(("p1", 516_182, pay_day))
    v = View(loan, payments, pay_day)
    assert v.alloc_rows(pay_day) == [("penalty", 0, 11_250), ("interest", 1, 4_932),
                                     ("principal", 1, 500_000)]
    assert (v.status, v.dpd, v.bucket, v.closed_on) == ("paid_off", 0, "current", pay_day)
    assert v.total_outstanding == 0 and v.payoff_amount == 0 and v.credit == 0
    # and nothing accrues afterwards
    later = View(loan, payments, D(2026, 5, 31))
    assert later.status == "paid_off" and later.penalty_micro == 45 * 250_000_000
    assert later.total_outstanding == 0


# --------------------------------------------------------------------------- (d) CN private lending


PRIVATE = Product("cnp", calendar="CN", cap="cn_private_4lpr")


def test_d_private_lending_cap_4_lpr_penalty():
    # Contract 2024-03-01: the one-year LPR fixing in force is 3.45% (from 2023-08-21), so the cap
    # is 4 x 3.45% = 13.8%. A 30-day bullet at 12% on 10,000.00: interest 1e6 x 0.12 x 30/365 =
    # 9,863.0 -> 9,863, due 2024-03-31. Penalty 0.0005/day (18.25%/yr).
    loan = make_loan(PRIVATE, rate="0.12", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    assert loan[0]["cap_rate_nano"].to_list() == [138_000_000]
    # Rule 1: penalty held to 13.8% - 12% = 1.8%: floor(1e6 x 18,000 / 365) = 49,315,068 a day
    #   (gross 1e6 x 500 = 500,000,000; capped 450,684,932).
    # Rule 2: after maturity no contractual interest runs; allowance floor(1e6 x 138,000 / 365)
    #   = 378,082,191 > 49,315,068. During the term: 9,863e6 // 30 = 328,766,666 < 378,082,191.
    v = View(loan, pays(), D(2024, 4, 30))  # penalty days 04-01 .. 04-30 = 30
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 30, "30-59", D(2024, 4, 1))
    assert v.penalty_micro == 30 * 49_315_068 == 1_479_452_040  # -> 1,479
    assert v.capped_micro == 30 * 450_684_932 == 13_520_547_960
    assert v.interest_capped_micro == 0
    check_balances(v, principal_outstanding=1_000_000, interest_due=9_863, accrued_interest=0,
                   penalty=1_479, fees=0, overdue=1_000_000 + 9_863 + 1_479,
                   total_outstanding=1_011_342, payoff_amount=1_011_342, credit=0)


def test_d_private_lending_contract_rate_above_cap():
    # 15% > 13.8%: the contractual interest itself is capped (rule 2), and no penalty survives rule 1
    # (13.8% - 15% < 0 leaves nothing).
    # Interest 1e6 x 0.15 x 30/365 = 12,328.8 -> 12,329, a day 12,329e6 // 30 = 410,966,666 micro;
    # allowance 378,082,191 a day, so 32,884,475 a day is capped, for the 30 days 03-02 .. 03-31
    # (accrual starts the day after disbursement): 986,534,250 -> 987 taken off the instalment on
    # its due date: 12,329 - 987 = 11,342 (~ 13.8% x 30/365 x 1e6 = 11,342.5).
    loan = make_loan(PRIVATE, rate="0.15", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    v = View(loan, pays(), D(2024, 3, 31))
    assert v.interest_capped_micro == 30 * 32_884_475 == 986_534_250
    assert v.inst["interest_capped"].to_list() == [987]
    assert v.interest_due == 11_342
    v = View(loan, pays(), D(2024, 4, 30))
    # 30 overdue days: penalty wholly capped: 30 x 500,000,000 more capped, nothing receivable.
    assert v.penalty_micro == 0 and v.penalty == 0
    assert v.capped_micro == 986_534_250 + 30 * 500_000_000
    assert v.total_outstanding == 1_000_000 + 11_342


def test_d_payoff_mid_period_with_capped_interest():
    # The 15% loan above, paid off on 2024-03-11 (10 accrual days 03-02 .. 03-11):
    #   accrued 12,329 x 10/30 = 4,109.7 -> 4,110; capped so far 10 x 32,884,475 = 328,844,750 -> 329;
    #   accrued net of the cap 4,110 - 329 = 3,781 (~ 1e6 x 13.8% x 10/365 = 3,780.8);
    #   payoff 1,000,000 + 3,781 = 1,003,781.
    loan = make_loan(PRIVATE, rate="0.15", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    v = View(loan, pays(), D(2024, 3, 11))
    assert (v.accrued_interest, v.payoff_amount) == (3_781, 1_003_781)
    payments = pays(("p1", 1_003_781, D(2024, 3, 11)))
    v = View(loan, payments, D(2024, 3, 11))
    assert v.alloc_rows(D(2024, 3, 11)) == [("interest", 1, 3_781), ("principal", 1, 1_000_000)]
    assert (v.status, v.credit) == ("paid_off", 0)
    # On the contractual due date the cap's 329 must not come off interest already settled
    # (it once did, leaving interest_due = -329).
    v = View(loan, payments, D(2024, 4, 30))
    assert (v.status, v.interest_due, v.total_outstanding, v.payoff_amount) == ("paid_off", 0, 0, 0)
    assert v.inst["interest"].to_list() == [3_781] and v.inst["paid_interest"].to_list() == [3_781]


def _capped_loan_prepaid():
    """The 15% bullet loan under the 13.8% cap on a reduce_term product, with all its principal
    (1,000,000, short of the 1,003,781 payoff) paid on 2024-03-11."""
    product = Product("cnp_rt", calendar="CN", cap="cn_private_4lpr", prepayment="reduce_term")
    loan = make_loan(product, rate="0.15", term=1, frequency="days", period_days=30, method="bullet",
                     disbursed=D(2024, 3, 1), lender_type="private")
    return loan, pays(("p1", 1_000_000, D(2024, 3, 11)))


def test_d_cap_after_a_prepayment_counts_only_the_interest_still_accruing():
    # The 15% loan above on a reduce_term product; on 2024-03-11 the borrower pays 1,000,000, all the
    # principal but short of the payoff (1,003,781): the interest earned, 3,781 net of the cap, is
    # paid first and 996,219 of principal, leaving 3,781. The period is rebuilt on that balance:
    # 3,781 x 15% x 30/365 = 46.6 -> 47 more, so the instalment's interest is 3,781 + 47 = 3,828.
    # From 03-12 the day's interest is what is still to accrue, 47e6 // 30 = 1,566,666, against an
    # allowance of 3,781 x 138,000 // 365 = 1,429,528: 137,138 a day is capped, for the 20 days
    # 03-12 .. 03-31. (It once spread the whole 3,828, interest already earned and paid included,
    # over the period: 127,600,000 a day, 126,170,472 of it "capped", twenty times the loan's
    # remaining interest.)
    loan, payments = _capped_loan_prepaid()
    v = View(loan, payments, D(2024, 3, 11))
    assert v.alloc_rows(D(2024, 3, 11)) == [("interest", 1, 3_781), ("principal", 0, 996_219)]
    assert (v.capped_micro, v.principal_outstanding) == (328_844_750, 3_781)
    # The instalment's contractual interest is 4,110 earned + 47 rebuilt = 4,157, of which the
    # cap's 329 is recorded as capped at the prepayment (see the test below).
    assert v.inst[["interest", "paid_interest", "interest_capped"]].row(0) == (4_157, 3_781, 329)
    v = View(loan, payments, D(2024, 3, 31))
    assert v.capped_micro == v.interest_capped_micro == 328_844_750 + 20 * 137_138 == 331_587_510


def test_d_interest_capped_before_a_prepayment_is_not_taken_off_the_rebuilt_period():
    # The prepayment above paid the 3,781 earned net of the cap; the cap's 329 (328,844,750 micro)
    # is recorded as capped then. At the due date (03-31) only what the cap removed since comes off:
    # 331,587,510 -> 332, less the 329 already recorded, 3; so 47 - 3 = 44 is due
    # (~ 3,781 x 13.8% x 30/365 = 42.9, the capped rate on what was left). It was once 0: the 329
    # stayed set aside and came off the rebuilt period's 47 as well.
    loan, payments = _capped_loan_prepaid()
    v = View(loan, payments, D(2024, 3, 11))
    assert (v.interest_capped_posted, v.accrued_interest, v.total_outstanding) == (329, 0, 3_781)
    v = View(loan, payments, D(2024, 3, 31))
    assert v.inst[["interest_capped", "paid_interest"]].row(0) == (332, 3_781)
    assert (v.interest_due, v.total_outstanding) == (44, 3_781 + 44)


def test_d_private_lending_contract_date_past_lpr_table_is_an_error():
    # The table is valid through 2025-10-20; a later contract date is an error, never the last rate.
    with pytest.raises(CapError):
        make_loan(PRIVATE, disbursed=D(2025, 10, 21), lender_type="private")
    assert resolve("cn_private_4lpr", "private", D(2025, 10, 20)).rate_nano == 4 * 30_000_000
    # Before 2020-08-20: 24% until the switch, then 4 x the LPR of 2020-08-20 (3.85%) = 15.4%.
    old = resolve("cn_private_4lpr", "private", D(2019, 9, 1))
    assert (old.rate_nano, old.switch_on, old.rate_after_nano) == (240_000_000, D(2020, 8, 20), 154_000_000)


# --------------------------------------------------------------------------- (e) allocation orders


def test_e_one_payment_under_each_allocation_order():
    # No cap; late fee 20.00 per late instalment; inst 1 paid, insts 2 and 3 missed; 1,000.00 paid
    # on 04-15.
    #   penalty: 03-02 .. 04-01 (31 days) x 77,830 x 500 = 1,206,365,000
    #            04-02 .. 04-15 (14 days) x 156,828 x 500 = 1,097,796,000 -> 2,304,161,000 -> 2,304
    #   fees: 03-02 (inst 2) and 04-02 (inst 3): 2 x 2,000 = 4,000
    fee = (Fee("late", "20.00", max_per_period=1),)
    expected = {
        # penalty, fees, then inst 2 interest + principal, then inst 3 interest with the rest:
        # 100,000 - 2,304 - 4,000 - 13,850 - 77,830 = 2,016
        "oldest_first_penalty_fees_interest_principal": [
            ("penalty", 0, 2_304), ("fees", 0, 4_000), ("interest", 2, 13_850),
            ("principal", 2, 77_830), ("interest", 3, 2_016)],
        # penalty, fees, all due interest (13,850 + 12,682), then principal oldest first:
        # 100,000 - 2,304 - 4,000 - 26,532 = 67,164
        "component_major": [
            ("penalty", 0, 2_304), ("fees", 0, 4_000), ("interest", 2, 13_850),
            ("interest", 3, 12_682), ("principal", 2, 67_164)],
        # all due principal first: 77,830 then 100,000 - 77,830 = 22,170 of inst 3's 78,998
        "principal_first": [("principal", 2, 77_830), ("principal", 3, 22_170)],
    }
    # dpd after the payment: oldest_first clears inst 2 (oldest unpaid is inst 3: 04-15 - 04-01);
    # the other two leave part of inst 2 unpaid (dpd 45 from 03-01).
    dpd = {"oldest_first_penalty_fees_interest_principal": 14, "component_major": 45,
           "principal_first": 45}
    payments = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 100_000, D(2026, 4, 15)))
    rows = {}
    for order, want in expected.items():
        product = Product(f"o_{order[:5]}", cap="none", allocation=order, fees=fee)
        v = View(make_loan(product), payments, D(2026, 4, 15))
        assert v.penalty_micro == 2_304_161_000 and v.fees_micro == 4_000 * 10**6
        rows[order] = v.alloc_rows(D(2026, 4, 15))
        assert rows[order] == want, order
        assert sum(a for _, _, a in rows[order]) == 100_000
        assert v.dpd == dpd[order]
    assert len({tuple(r) for r in rows.values()}) == 3


# --------------------------------------------------------------------------- (f) reversal


def test_f_reversal_of_a_curing_payment_restores_delinquency_and_dofd():
    loan = make_loan(LICENSED, lender_type="licensed")
    # Inst 1 (91,680, due 02-01) is missed; on 02-20 it is paid with its penalty:
    #   19 days 02-02 .. 02-20 x floor(76,680 x 60,000 / 365 = 12,604,931.5) = 239,493,689 -> 239
    #   91,680 + 239 = 91,919; a reversal of it follows on 02-25.
    raw = pl.DataFrame(
        {"payment_id": ["p1", "r1"], "loan_id": ["A", "A"], "amount": [91_919, 91_919],
         "paid_on": [D(2026, 2, 20), D(2026, 2, 25)], "reverses": [None, "p1"]},
        schema={"payment_id": pl.String, "loan_id": pl.String, "amount": pl.Int64,
                "paid_on": pl.Date, "reverses": pl.String},
    )
    before = View(loan, pays(), D(2026, 2, 19))
    assert (before.status, before.dpd, before.dofd) == ("delinquent", 18, D(2026, 2, 2))

    cured = View(loan, effective(raw.filter(pl.col("payment_id") == "p1")), D(2026, 2, 28))
    assert cured.alloc_rows(D(2026, 2, 20)) == [("penalty", 0, 239), ("interest", 1, 15_000),
                                                ("principal", 1, 76_680)]
    assert (cured.status, cured.dpd, cured.bucket, cured.dofd) == ("current", 0, "current", None)
    assert cured.penalty == 0 and cured.overdue == 0

    eff = effective(raw)
    assert eff.is_empty()  # the reversal and the reversed payment both drop out
    again = View(loan, eff, D(2026, 2, 28))
    # 27 penalty days 02-02 .. 02-28: 27 x 12,604,931 = 340,333,137 -> 340
    assert (again.status, again.dpd, again.bucket, again.dofd) == ("delinquent", 27, "1-29", D(2026, 2, 2))
    assert again.penalty_micro == 340_333_137 and again.penalty == 340
    assert again.overdue == 91_680 + 340


# --------------------------------------------------------------------------- (g) prepayment options


def _prepay_case(option: str, until: dt.date, extra: int = 200_000) -> View:
    product = Product(f"pp_{option}", calendar="CN", cap="cn_licensed_24", prepayment=option)
    payments = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", extra, D(2026, 2, 10)))
    return View(make_loan(product), payments, until)


def test_g_prepayment_hold_as_credit():
    # 2,000.00 on 02-10, nothing due: the whole amount is held as credit.
    # payoff on 02-10: principal 923,320 + inst 2 accrued 13,850 x 9/28 = 4,451.8 -> 4,452 = 927,772;
    # less the credit: 727,772.
    v = _prepay_case("hold_as_credit", D(2026, 2, 10))
    assert v.alloc_rows(D(2026, 2, 10)) == [("credit", 0, 200_000)]
    assert (v.credit, v.principal_outstanding, v.accrued_interest) == (200_000, 923_320, 4_452)
    assert v.payoff_amount == 927_772 - 200_000
    assert v.inst["principal"].to_list()[1:3] == [77_830, 78_998]  # schedule unchanged
    # 03-01: inst 2 falls due and the credit pays it: 200,000 - 91,680 = 108,320 left.
    v = _prepay_case("hold_as_credit", D(2026, 3, 1))
    assert v.alloc.filter(pl.col("day") == D(2026, 3, 1))["source"].to_list() == ["credit", "credit"]
    assert v.alloc_rows(D(2026, 3, 1)) == [("interest", 2, 13_850), ("principal", 2, 77_830)]
    assert (v.credit, v.status, v.dpd) == (108_320, "current", 0)
    # 04-01: inst 3 too: 108,320 - 91,680 = 16,640.
    v = _prepay_case("hold_as_credit", D(2026, 4, 1))
    assert (v.credit, v.status, v.dpd) == (16_640, "current", 0)


def test_g_prepayment_reduce_term():
    # 2,000.00 repays principal now: 923,320 - 200,000 = 723,320; the instalment stays 91,680 and
    # the loan ends sooner. Interest on the new balance for the whole running period (in the
    # borrower's favour):
    #   2: 723,320 x 1.5% = 10,849.8 -> 10,850, p 80,830 -> 642,490
    #   3: 9,637.35 -> 9,637, p 82,043 -> 560,447      4: 8,406.7 -> 8,407, p 83,273 -> 477,174
    #   5: 7,157.6 -> 7,158, p 84,522 -> 392,652       6: 5,889.8 -> 5,890, p 85,790 -> 306,862
    #   7: 4,602.9 -> 4,603, p 87,077 -> 219,785       8: 3,296.8 -> 3,297, p 88,383 -> 131,402
    #   9: 1,971.0 -> 1,971, p 89,709 -> 41,693        10: 625.4 -> 625, p 41,693 -> 0; 11, 12: 0
    v = _prepay_case("reduce_term", D(2026, 2, 10))
    assert v.alloc_rows(D(2026, 2, 10)) == [("principal", 0, 200_000)]
    assert v.principal_prepaid == 200_000 and v.credit == 0
    future = v.inst.filter(pl.col("n") >= 2)
    assert list(zip(future["principal"], future["interest"])) == [
        (80_830, 10_850), (82_043, 9_637), (83_273, 8_407), (84_522, 7_158), (85_790, 5_890),
        (87_077, 4_603), (88_383, 3_297), (89_709, 1_971), (41_693, 625), (0, 0), (0, 0)]
    remaining = future.filter(pl.col("principal") + pl.col("interest") > 0)
    assert remaining.height == 9 and remaining["due_on"].max() == D(2026, 11, 1)  # 11 -> 9
    # accrued on 02-10: 10,850 x 9/28 = 3,487.5 -> 3,488 (half-up)
    check_balances(v, principal_outstanding=723_320, interest_due=0, accrued_interest=3_488,
                   penalty=0, fees=0, overdue=0, total_outstanding=726_808,
                   payoff_amount=726_808, credit=0)


def test_g_prepayment_reduce_instalment():
    # Same 723,320 re-amortised over the same 11 instalments at 1.5%:
    #   723,320 x 0.015 / (1 - 1.015^-11) = 71,821.22 -> instalments of 71,821 (the last within a few
    #   fen); inst 2: interest 10,850, principal 71,821 - 10,850 = 60,971.
    v = _prepay_case("reduce_instalment", D(2026, 2, 10))
    future = v.inst.filter(pl.col("n") >= 2)
    amounts = (future["principal"] + future["interest"]).to_list()
    assert future.height == 11 and all(a > 0 for a in amounts)  # same count
    assert (future["principal"][0], future["interest"][0]) == (60_971, 10_850)
    assert all(abs(a - 71_821) <= 1 for a in amounts[:-1]) and abs(amounts[-1] - 71_821) <= 5
    assert future["principal"].sum() == 723_320
    assert v.principal_outstanding == 723_320 and v.accrued_interest == 3_488


def test_g_full_payoff_charges_no_future_interest():
    # payoff on 02-10 = 923,320 + 4,452 accrued = 927,772 (see hold_as_credit above).
    v = _prepay_case("hold_as_credit", D(2026, 2, 10), extra=927_772)
    assert v.alloc_rows(D(2026, 2, 10)) == [("interest", 2, 4_452)] + [
        ("principal", n, p) for n, p in zip(range(2, 13), v.inst["principal"].to_list()[1:])]
    assert (v.status, v.closed_on, v.credit) == ("paid_off", D(2026, 2, 10), 0)
    # inst 2's interest becomes what accrued; later instalments carry none.
    assert v.inst["interest"].to_list() == [15_000, 4_452] + [0] * 10
    later = _prepay_case("hold_as_credit", D(2026, 12, 31), extra=927_772)
    assert later.status == "paid_off" and later.total_outstanding == 0
    assert later.inst["paid_interest"].sum() == 15_000 + 4_452


# --------------------------------------------------------------------------- (h) late fee maximum


FEE_50 = (Fee("late", "20.00", max_per_period=1, max_total="50.00"),)


def test_h_late_fee_stops_at_max_total_without_cap():
    product = Product("fee_nocap", cap="none", fees=FEE_50)
    loan = make_loan(product, penalty="0")
    # Nothing paid. Fee days: the day after each due date: 02-02, 03-02, 04-02, 05-02, ...
    #   02-02 +2,000 (2,000), 03-02 +2,000 (4,000), 04-02 +min(2,000, 5,000 - 4,000) = 1,000 (5,000),
    #   05-02 +min(2,000, 0) = 0.
    fees_on = {D(2026, 2, 2): 2_000, D(2026, 3, 2): 4_000, D(2026, 4, 1): 4_000,
               D(2026, 4, 2): 5_000, D(2026, 5, 2): 5_000, D(2026, 5, 31): 5_000}
    for day, want in fees_on.items():
        v = View(loan, pays(), day)
        assert (v.fees, v.fees_gross, v.capped_micro) == (want, want, 0), day
    # Every late instalment drew its one late fee (the fourth drew 0.00 of it): max_per_period = 1.
    assert v.inst.filter(pl.col("due_on") < D(2026, 5, 31))["late_fees"].to_list() == [1] * 4


def test_h_late_fee_is_subject_to_the_cap():
    product = Product("fee_cap", calendar="CN", cap="cn_licensed_24", fees=FEE_50)
    loan = make_loan(product, penalty="0", lender_type="licensed")
    # 02-02: interest of inst 2's period 13,850e6 // 28 = 494,642,857; allowance on 1,000,000 of
    # principal: 1e6 x 240,000 // 365 = 657,534,246. Excess = 494,642,857 + 2,000,000,000
    # - 657,534,246 = 1,837,108,611, taken from the fee: 2,000,000,000 - 1,837,108,611 = 162,891,389.
    v = View(loan, pays(), D(2026, 2, 2))
    assert v.fees_micro == 162_891_389 and v.fees == 163
    assert v.capped_micro == 1_837_108_611
    # The product's maximum counts the fees charged, after the cap: 1.63 of the 50.00 is used, not
    # the 20.00 before the cap (fees_gross keeps that figure). It once counted fees_gross, and the
    # 04-02 fee was cut to 1,000 and none was charged after it.
    assert v.fees_gross == 2_000
    # 03-02: inst 3 period 12,682e6 // 31 = 409,096,774: excess 1,751,562,528, fee kept 248,437,472.
    # 04-02: inst 4 11,497e6 // 30 = 383,233,333: excess 2e9 + 383,233,333 - 657,534,246
    #   = 1,725,699,087; kept 274,300,913.
    # 05-02: inst 5 10,295e6 // 31 = 332,096,774: excess 1,674,562,528; kept 325,437,472.
    v = View(loan, pays(), D(2026, 5, 31))  # before the charge-off on 06-01
    assert v.fees_micro == 162_891_389 + 248_437_472 + 274_300_913 + 325_437_472 == 1_011_067_246
    assert v.fees == 1_011 and v.fees_gross == 8_000
    assert v.capped_micro == 1_837_108_611 + 1_751_562_528 + 1_725_699_087 + 1_674_562_528
    assert v.interest_capped_micro == 0


def test_h_late_fee_max_total_counts_what_was_charged_and_is_never_exceeded():
    # The loan above with max_total 3.00 (300 fen). 02-02: a 3.00 fee, of which the cap lets
    # 162,891,389 micro through (1.63). 03-02: room 300 - 163 (what was charged, rounded up so the
    # limit is never passed) = 137: a 1.37 fee, below the cap's room (248,437,472), charged whole:
    # 299,891,389 micro -> 3.00. 04-02 on: no room, no fee.
    product = Product("fee_cap_3", calendar="CN", cap="cn_licensed_24",
                      fees=(Fee("late", "20.00", max_per_period=1, max_total="3.00"),))
    loan = make_loan(product, penalty="0", lender_type="licensed")
    assert View(loan, pays(), D(2026, 2, 2)).fees_micro == 162_891_389
    assert View(loan, pays(), D(2026, 3, 2)).fees_micro == 162_891_389 + 137_000_000
    v = View(loan, pays(), D(2026, 5, 31))
    assert (v.fees_micro, v.fees, v.fees_gross) == (299_891_389, 300, 300 + 137)


# --------------------------------------------------------------------------- (i) tolerance, residual


def test_i_shortfall_within_tolerance_keeps_loan_current():
    product = Product("tol", cap="none", arrears_tolerance="1.00")
    loan = make_loan(product)
    # 91,630 pays interest 15,000 and principal 76,630: 50 fen short of inst 1, under 100.
    v = View(loan, pays(("p1", 91_630, D(2026, 2, 1))), D(2026, 2, 28))
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("current", 0, "current", None)
    # The instalment counts as paid: no penalty on its 50 fen either.
    assert v.penalty_micro == 0
    assert v.principal_outstanding == 923_320 + 50
    # 91,500 leaves 180 > 100: delinquent from 02-02; penalty 27 days x 180 x 500 = 2,430,000 -> 2.
    v = View(loan, pays(("p1", 91_500, D(2026, 2, 1))), D(2026, 2, 28))
    assert (v.status, v.dpd, v.bucket, v.dofd) == ("delinquent", 27, "1-29", D(2026, 2, 2))
    assert v.penalty_micro == 2_430_000 and v.penalty == 2


def test_i_residual_below_threshold_is_written_off():
    product = Product("resid", cap="none", residual_writeoff_below="5.00")
    # Bullet 5,000.00 at 12% for 30 days: interest 4,932, due 01-31. 504,632 on the due date
    # pays interest 4,932 and principal 499,700, leaving 300 < 500: written off.
    loan = make_loan(product, principal=500_000, rate="0.12", term=1, frequency="days",
                     period_days=30, method="bullet")
    v = View(loan, pays(("p1", 504_632, D(2026, 1, 31))), D(2026, 1, 31))
    assert v.alloc_rows(D(2026, 1, 31)) == [("interest", 1, 4_932), ("principal", 1, 499_700)]
    assert (v.status, v.written_off, v.closed_on) == ("paid_off", 300, D(2026, 1, 31))
    assert v.history.movements.filter(pl.col("day") == D(2026, 1, 31))["written_off"].to_list() == [300]
    assert v.total_outstanding == 0
    # 600 left is above the threshold: not written off, and late from the next day.
    v = View(loan, pays(("p1", 504_332, D(2026, 1, 31))), D(2026, 2, 5))
    assert (v.status, v.written_off, v.dpd) == ("delinquent", 0, 5)
    assert v.principal_outstanding == 600


# --------------------------------------------------------------------------- (j) charge-off


def test_j_charge_off_at_120_dpd_and_recovery():
    loan = make_loan(NOCAP)  # the annuity above, never paid; no cap
    # Oldest unpaid: inst 1 due 02-01, so dpd 120 on 02-01 + 120 = 06-01.
    v = View(loan, pays(), D(2026, 5, 31))
    assert (v.status, v.dpd, v.bucket) == ("delinquent", 119, "90-119")
    # Penalty through 06-01 (its day accrues before the charge-off at the end of the day):
    #   02-02 .. 03-01 (28) on 76,680; 03-02 .. 04-01 (31) on 154,510; 04-02 .. 05-01 (30) on
    #   233,508; 05-02 .. 06-01 (31) on 313,690:
    #   500 x (2,147,040 + 4,789,810 + 7,005,240 + 9,724,390) = 11,833,240,000 -> 11,833
    v = View(loan, pays(), D(2026, 6, 1))
    assert (v.status, v.dpd, v.bucket, v.charged_off_on, v.dofd) == (
        "charged_off", 120, "120-179", D(2026, 6, 1), D(2026, 2, 2))
    assert v.penalty_micro == 11_833_240_000
    assert v.history.movements.filter(pl.col("charged_off"))["day"].to_list() == [D(2026, 6, 1)]
    # Interest of instalments not yet due is never charged (insts 6..12); 1..5 remain owed:
    #   15,000 + 13,850 + 12,682 + 11,497 + 10,295 = 63,324
    assert v.inst["interest"].to_list()[5:] == [0] * 7
    check_balances(v, principal_outstanding=1_000_000, interest_due=63_324, accrued_interest=0,
                   penalty=11_833, fees=0, total_outstanding=1_075_157)

    # Six weeks later: nothing has accrued; a payment of 200.00 is a recovery.
    payments = pays(("p1", 20_000, D(2026, 7, 15)))
    v = View(loan, payments, D(2026, 7, 15))
    assert v.penalty_micro == 11_833_240_000 and v.interest_capped_micro == 0
    assert (v.status, v.dpd, v.bucket) == ("charged_off", 164, "120-179")
    # penalty first (11,833), then inst 1 interest with the rest (8,167)
    assert v.alloc_rows(D(2026, 7, 15)) == [("penalty", 0, 11_833), ("interest", 1, 8_167)]
    assert v.alloc["recovery"].to_list() == [True, True]
    assert v.recovered == 20_000
    check_balances(v, principal_outstanding=1_000_000, interest_due=63_324 - 8_167,
                   accrued_interest=0, penalty=0, fees=0, total_outstanding=1_055_157)


def test_g_paying_just_under_the_payoff_never_costs_less_than_the_payoff():
    # Loan (a) on 02-10: payoff 927,772 = principal 923,320 + interest earned 4,452. Paying 300 fen
    # less under reduce_term: the earned interest is paid first (4,452 on instalment 2), then
    # principal 923,020; 300 of principal stays owed on the rebuilt schedule. Nothing earned is
    # forgiven, so paying less never costs less than the payoff.
    v = _prepay_case("reduce_term", D(2026, 2, 10), extra=927_472)
    assert v.alloc_rows(D(2026, 2, 10)) == [("interest", 2, 4_452), ("principal", 0, 923_020)]
    assert (v.status, v.credit, v.principal_outstanding) == ("current", 0, 300)
    # Instalment 2 rebuilt on 300: 300 x 1.5% = 4.5 -> 5 for the period, plus the 4,452 earned and paid.
    inst2 = v.inst.filter(pl.col("n") == 2).row(0, named=True)
    assert (inst2["principal"], inst2["interest"], inst2["paid_interest"]) == (300, 4_457, 4_452)
    assert 927_472 + v.payoff_amount >= 927_772


def test_i_residual_short_of_a_payoff_is_written_off_even_when_held_as_credit():
    # hold_as_credit, residual_writeoff_below 5.00: paying the 02-10 payoff (927,772) less 3.00
    # settles the loan; the 300-fen shortfall is written off instead of sitting as owed.
    product = Product("res_credit", calendar="CN", cap="cn_licensed_24", prepayment="hold_as_credit",
                      residual_writeoff_below="5.00")
    payments = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 927_772 - 300, D(2026, 2, 10)))
    v = View(make_loan(product), payments, D(2026, 2, 10))
    assert (v.status, v.written_off, v.credit, v.total_outstanding) == ("paid_off", 300, 0, 0)
    # 6.00 short is beyond the threshold: held as credit, nothing written off.
    payments = pays(("p1", 91_680, D(2026, 2, 1)), ("p2", 927_772 - 600, D(2026, 2, 10)))
    v = View(make_loan(product), payments, D(2026, 2, 10))
    assert (v.status, v.written_off, v.credit) == ("current", 0, 927_772 - 600)
