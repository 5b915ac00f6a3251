"""Repayment schedules: due dates and the principal / interest of every instalment.

Decisions, and why:
- Each instalment's interest is the periodic rate times the platform's own running balance,
  rounded half-up to the minor unit, so the interest a borrower is shown is always checkable
  against the balance they are shown.
- Annuity instalments follow the exact (unrounded) annuity payment: each is that payment rounded
  down or up, whichever keeps the running balance closest to the exact amortisation. Rounding the
  payment once and repeating it lets the error pile up into the last instalment (18 minor units on a
  36-month loan is typical); steering keeps every instalment but the last within one minor unit
  of the exact payment, with principal summing exactly to the loan. The last instalment takes what
  is left (the remaining balance plus its half-up interest); the one before it is chosen so that
  the last lands as near the exact payment as half-up interest allows (a few minor units at most
  on ordinary loans; on loans of a few minor units it can even come out at zero).
- An odd first period (``first_due_on`` not one regular period after disbursement) accrues
  annual_rate x days / 365 on the principal; the first instalment carries the difference, and the
  principal amortises as in a regular schedule.
- ``adjusted_due_on`` is the due date moved by the product's business-day rule. It decides
  lateness only; interest always runs to the contractual ``due_on``.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import polars as pl

from arrears.calendar import roll
from arrears.money import round_half_up
from arrears.rates import NANO

FREQUENCIES = ("monthly", "biweekly", "weekly", "days")
METHODS = ("annuity", "equal_principal", "interest_only", "bullet")
_STEP_DAYS = {"biweekly": 14, "weekly": 7}
_PER_YEAR = {"monthly": 12, "biweekly": 26, "weekly": 52}


@dataclass(frozen=True, slots=True)
class LoanTerms:
    principal: int
    annual_rate_nano: int
    term: int
    frequency: str
    method: str
    disbursed_on: dt.date
    first_due_on: dt.date | None = None
    period_days: int | None = None


@dataclass(frozen=True, slots=True)
class Instalment:
    n: int
    due_on: dt.date
    adjusted_due_on: dt.date
    principal: int
    interest: int

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def add_months(day: dt.date, months: int, keep_day: int | None = None) -> dt.date:
    """``day`` moved by ``months``, on ``keep_day`` (default ``day.day``) clamped to the month's end."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = _cal.monthrange(year, month)[1]
    return dt.date(year, month, min(keep_day or day.day, last))


def _one_period_after(day: dt.date, terms: LoanTerms) -> dt.date:
    if terms.frequency == "monthly":
        return add_months(day, 1)
    if terms.frequency == "days":
        return day + dt.timedelta(days=terms.period_days or 0)
    return day + dt.timedelta(days=_STEP_DAYS[terms.frequency])


def due_dates(terms: LoanTerms) -> tuple[dt.date, ...]:
    first = terms.first_due_on or _one_period_after(terms.disbursed_on, terms)
    if terms.frequency == "monthly":
        # The day of month of first_due_on; when it defaults, the disbursement's own day, so a loan
        # paid out on 31 January falls due on 28 February, 31 March, 30 April (not the 28th forever).
        keep = first.day if terms.first_due_on else terms.disbursed_on.day
        return tuple(add_months(first, k, keep_day=keep) for k in range(terms.term))
    step = terms.period_days if terms.frequency == "days" else _STEP_DAYS[terms.frequency]
    return tuple(first + dt.timedelta(days=step * k) for k in range(terms.term))


def periodic_rate(terms: LoanTerms) -> Fraction:
    """annual_rate / periods per year; for ``days`` periods, annual_rate x period_days / 365."""
    annual = Fraction(terms.annual_rate_nano, NANO)
    if terms.frequency == "days":
        return annual * (terms.period_days or 0) / 365
    return annual / _PER_YEAR[terms.frequency]


def first_period_rate(terms: LoanTerms, first_due: dt.date) -> Fraction:
    """The regular rate, or annual_rate x days / 365 when the first period is odd."""
    if first_due == _one_period_after(terms.disbursed_on, terms):
        return periodic_rate(terms)
    days = (first_due - terms.disbursed_on).days
    return Fraction(terms.annual_rate_nano, NANO) * days / 365


def _times(amount: int, rate: Fraction) -> int:
    """amount x rate, rounded half-up, in integers (a Fraction per instalment is the slow part of
    building a million schedules; the result is identical to ``round_half_up(amount * rate)``)."""
    num, den = rate.numerator, rate.denominator
    return (2 * amount * num + den) // (2 * den) if amount >= 0 else -((-2 * amount * num + den) // (2 * den))


def _exact_annuity_payment(principal: int, r: Fraction, n: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        if r == 0:
            return Decimal(principal) / n
        rd = Decimal(r.numerator) / Decimal(r.denominator)
        return Decimal(principal) * rd / (1 - (1 + rd) ** -n)


def _annuity(terms: LoanTerms, r: Fraction, r1: Fraction) -> list[tuple[int, int]]:
    n, balance = terms.term, terms.principal
    exact_pmt = _exact_annuity_payment(balance, r, n)
    lo, hi = math.floor(exact_pmt), math.ceil(exact_pmt)
    rows: list[tuple[int, int]] = []
    with localcontext() as ctx:
        ctx.prec = 50
        rd = Decimal(r.numerator) / Decimal(r.denominator)
        exact_balance = Decimal(balance)
        for k in range(1, n + 1):
            regular_interest = _times(balance, r)
            interest = regular_interest if k > 1 else _times(balance, r1)
            exact_balance = exact_balance * (1 + rd) - exact_pmt
            if k == n:
                principal = balance
            else:
                # Called at once, inside this iteration: the loop variables are the ones meant.
                def miss(p: int) -> Decimal:  # noqa: B023
                    after = balance + regular_interest - p  # noqa: B023
                    if k == n - 1:  # noqa: B023
                        # Look ahead: the last instalment takes the rest, so aim it at the payment.
                        return abs(after + _times(after, r) - exact_pmt)
                    return abs(after - exact_balance)  # noqa: B023

                pay = min((lo, hi), key=miss)
                principal = min(max(pay - regular_interest, 0), balance)
            rows.append((principal, interest))
            balance -= principal
    return rows


def _instalment_amounts(terms: LoanTerms, first_due: dt.date) -> list[tuple[int, int]]:
    r = periodic_rate(terms)
    r1 = first_period_rate(terms, first_due)
    n, p = terms.term, terms.principal
    if terms.method == "annuity":
        return _annuity(terms, r, r1)
    if terms.method == "equal_principal":
        rows, balance, each = [], p, p // n
        for k in range(1, n + 1):
            principal = balance if k == n else each
            rows.append((principal, _times(balance, r1 if k == 1 else r)))
            balance -= principal
        return rows
    if terms.method == "interest_only":
        return [
            (p if k == n else 0, _times(p, r1 if k == 1 else r)) for k in range(1, n + 1)
        ]
    if terms.method == "bullet":
        return [(p, round_half_up(p * (r1 + (n - 1) * r)))]
    raise ValueError(f"unknown method {terms.method!r}")


def build(
    terms: LoanTerms, *, business_day_rule: str = "none", calendar: str = "NONE"
) -> tuple[Instalment, ...]:
    """The contractual schedule of one loan."""
    all_dates = due_dates(terms)
    dates = all_dates[-1:] if terms.method == "bullet" else all_dates
    amounts = _instalment_amounts(terms, all_dates[0])
    return tuple(
        Instalment(
            n=k,
            due_on=d,
            adjusted_due_on=roll(d, business_day_rule, calendar),
            principal=principal,
            interest=interest,
        )
        for k, (d, (principal, interest)) in enumerate(zip(dates, amounts), start=1)
    )


SCHEDULE_SCHEMA = pl.Schema(
    {
        "loan_id": pl.String,
        "n": pl.Int32,
        "due_on": pl.Date,
        "adjusted_due_on": pl.Date,
        "principal": pl.Int64,
        "interest": pl.Int64,
    }
)


def terms_from_row(row: Mapping) -> LoanTerms:
    return LoanTerms(
        principal=row["principal"],
        annual_rate_nano=row["annual_rate_nano"],
        term=row["term"],
        frequency=row["frequency"],
        method=row["method"],
        disbursed_on=row["disbursed_on"],
        first_due_on=row.get("first_due_on"),
        period_days=row.get("period_days"),
    )


def schedule_frame(loans: pl.DataFrame, products: Mapping[str, object]) -> pl.DataFrame:
    """Schedules of many loans at once, in ``SCHEDULE_SCHEMA``.

    ``loans`` carries the loan columns in internal units (``principal`` in minor units,
    ``annual_rate_nano``) and ``product``; ``products`` maps codes to ``Product``.
    """
    cols: dict[str, list] = {k: [] for k in SCHEDULE_SCHEMA}
    for row in loans.iter_rows(named=True):
        product = products[row.get("product") or "default"]
        for inst in build(
            terms_from_row(row),
            business_day_rule=product.business_day_rule,
            calendar=product.calendar,
        ):
            cols["loan_id"].append(row["loan_id"])
            cols["n"].append(inst.n)
            cols["due_on"].append(inst.due_on)
            cols["adjusted_due_on"].append(inst.adjusted_due_on)
            cols["principal"].append(inst.principal)
            cols["interest"].append(inst.interest)
    return pl.DataFrame(cols, schema=SCHEDULE_SCHEMA)


def instalments_of(frame: pl.DataFrame) -> Iterable[Instalment]:
    for r in frame.sort("n").iter_rows(named=True):
        yield Instalment(r["n"], r["due_on"], r["adjusted_due_on"], r["principal"], r["interest"])


def rebuild_future(
    terms: LoanTerms,
    future: Sequence[Instalment],
    balance: int,
    mode: str,
    *,
    first_period_regular: bool,
) -> list[tuple[int, int]]:
    """New (principal, interest) for the instalments not yet due, after a principal prepayment
    leaves ``balance`` to repay. Due dates never change.

    - ``reduce_instalment``: the same number of instalments, re-amortised on the new balance.
    - ``reduce_term``: the same instalment (annuity) or the same principal per instalment (equal
      principal), so the loan ends sooner; the instalments left over become zero.
    Interest is rate x the new running balance for each remaining period; the period running when
    the prepayment arrives is charged on the new balance as a whole (in the borrower's favour).
    """
    if not future:
        return []
    m = len(future)
    start = future[0].due_on
    r = periodic_rate(terms)
    if first_period_regular:
        r1 = r
    else:
        r1 = first_period_rate(terms, start)
    rates = [r1] + [r] * (m - 1)
    if terms.method == "bullet" or terms.method == "interest_only":
        return [
            (balance if k == m - 1 else 0, _times(balance, rates[k])) for k in range(m)
        ]
    if mode == "reduce_instalment":
        sub = LoanTerms(balance, terms.annual_rate_nano, m, terms.frequency, terms.method,
                        terms.disbursed_on, terms.first_due_on, terms.period_days)
        if terms.method == "annuity":
            return _annuity(sub, r, r1)
        rows, bal, each = [], balance, balance // m
        for k in range(m):
            p = bal if k == m - 1 else each
            rows.append((p, round_half_up(bal * rates[k])))
            bal -= p
        return rows
    if mode == "reduce_term":
        rows, bal = [], balance
        # The level instalment: the most common amount among those before the last.
        level = Counter(i.amount for i in future[:-1] or future).most_common(1)[0][0]
        for k, inst in enumerate(future):
            interest = round_half_up(bal * rates[k])
            if terms.method == "annuity":
                p = min(max(level - interest, 0), bal) if k < m - 1 else bal
            else:
                p = min(inst.principal, bal) if k < m - 1 else bal
            rows.append((p, interest))
            bal -= p
        return rows
    raise ValueError(f"unknown prepayment mode {mode!r}")
