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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
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
    """``day`` moved by ``months``, on ``keep_day`` (default ``day.day``) clamped to the month's end.

    A calendar helper for single dates (restructure windows, probation ends); schedules move many
    dates at once with ``_month_add``, which follows the same rule."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = _cal.monthrange(year, month)[1]
    return dt.date(year, month, min(keep_day or day.day, last))


# --- the columnar rule ----------------------------------------------------------------------------
#
# Everything below works on NumPy arrays of many loans at once; ``schedule_frame`` is its Polars
# face and ``build`` / ``due_dates`` / ``periodic_rate`` call it on one loan's arrays, so there is a single
# implementation of the schedule whatever the caller. Dates are days since 1970-01-01 (Polars'
# own Date representation); rates are exact fractions num / den of int64 arrays.

_EPOCH = dt.date(1970, 1, 1)
_FREQ_CODE = {f: i for i, f in enumerate(FREQUENCIES)}  # monthly 0, biweekly 1, weekly 2, days 3
_METHOD_CODE = {m: i for i, m in enumerate(METHODS)}  # annuity 0, equal_principal 1, interest_only 2, bullet 3
_PER_YEAR_BY_CODE = np.array([12, 26, 52, 1], dtype=np.int64)
_STEP_BY_CODE = np.array([0, 14, 7, 0], dtype=np.int64)
_EPS = float(np.finfo(np.float64).eps)
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class _Loans:
    """The terms of many loans as arrays (``first_due`` is meaningful where ``has_first``)."""

    principal: np.ndarray
    annual: np.ndarray
    term: np.ndarray
    freq: np.ndarray
    method: np.ndarray
    disbursed: np.ndarray
    first_due: np.ndarray
    has_first: np.ndarray
    period_days: np.ndarray


def _codes(values: pl.Series, codes: Mapping[str, int], what: str) -> np.ndarray:
    out = values.replace_strict(codes, default=-1, return_dtype=pl.Int64).to_numpy()
    if (out < 0).any():
        bad = values.filter(pl.Series(out < 0)).first()
        raise ValueError(f"unknown {what} {bad!r}")
    return out


def _loans_of(frame: pl.DataFrame) -> _Loans:
    def ints(name: str, fill: int = 0) -> np.ndarray:
        if name not in frame.columns:
            return np.full(frame.height, fill, dtype=np.int64)
        return frame.get_column(name).cast(pl.Int64).fill_null(fill).to_numpy().astype(np.int64, copy=False)

    def days(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in frame.columns:
            return np.zeros(frame.height, dtype=np.int64), np.zeros(frame.height, dtype=bool)
        s = frame.get_column(name).cast(pl.Date)
        return s.to_physical().cast(pl.Int64).fill_null(0).to_numpy(), s.is_not_null().to_numpy()

    first_due, has_first = days("first_due_on")
    return _Loans(
        principal=ints("principal"),
        annual=ints("annual_rate_nano"),
        term=ints("term"),
        freq=_codes(frame.get_column("frequency"), _FREQ_CODE, "frequency"),
        method=_codes(frame.get_column("method"), _METHOD_CODE, "method"),
        disbursed=days("disbursed_on")[0],
        first_due=first_due,
        has_first=has_first,
        period_days=ints("period_days"),
    )


def _one(terms: LoanTerms) -> _Loans:
    def arr(v, dtype=np.int64) -> np.ndarray:
        return np.array([v], dtype=dtype)

    first = terms.first_due_on
    return _Loans(
        principal=arr(terms.principal), annual=arr(terms.annual_rate_nano), term=arr(terms.term),
        freq=arr(_FREQ_CODE[terms.frequency]), method=arr(_METHOD_CODE.get(terms.method, -1)),
        disbursed=arr((terms.disbursed_on - _EPOCH).days),
        first_due=arr((first - _EPOCH).days if first else 0), has_first=arr(first is not None, bool),
        period_days=arr(terms.period_days or 0),
    )


def _day_of_month(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def _month_add(days: np.ndarray, months: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The month of ``days`` moved by ``months``, on day ``keep`` clamped to that month's end."""
    month = days.astype("datetime64[D]").astype("datetime64[M]") + months
    start = month.astype("datetime64[D]").astype(np.int64)
    length = (month + 1).astype("datetime64[D]").astype(np.int64) - start
    return start + np.minimum(keep, length) - 1


def _first_due(a: _Loans) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(first due date, one regular period after disbursement, step in days, day of month to keep)."""
    monthly = a.freq == 0
    step = np.where(a.freq == 3, a.period_days, _STEP_BY_CODE[a.freq])
    disbursed_day = _day_of_month(a.disbursed)
    one_after = np.where(monthly, _month_add(a.disbursed, np.ones_like(a.disbursed), disbursed_day),
                         a.disbursed + step)
    first = np.where(a.has_first, a.first_due, one_after)
    # Monthly: the day of month of first_due_on; when it defaults, the disbursement's own day, so a
    # loan paid out on 31 January falls due on 28 February, 31 March, 30 April (not the 28th forever).
    keep = np.where(a.has_first, _day_of_month(first), disbursed_day)
    return first, one_after, step, keep


def _due_days(a: _Loans, loan: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The due date (days) of instalment ``k`` (0-based) of loan ``loan``, for rows of (loan, k)."""
    first, _, step, keep = _first_due(a)
    out = first[loan] + step[loan] * k
    monthly = a.freq[loan] == 0
    if monthly.any():
        rows = loan[monthly]
        out[monthly] = _month_add(first[rows], k[monthly], keep[rows])
    return out


def _reduce(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.gcd(num, den)
    g = np.where(g == 0, 1, g)
    return num // g, den // g


def _rates(a: _Loans) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(r num, r den, r1 num, r1 den): the periodic rate, annual_rate / periods per year (for
    ``days`` periods annual_rate x period_days / 365), and the first period's: the regular rate, or
    annual_rate x days / 365 when the first period is odd."""
    first, one_after, _, _ = _first_due(a)
    days_freq = a.freq == 3
    num = np.where(days_freq, a.annual * a.period_days, a.annual)
    den = np.where(days_freq, 365, _PER_YEAR_BY_CODE[a.freq]) * NANO
    num, den = _reduce(num, den)
    odd = first != one_after
    n1, d1 = _reduce(np.where(odd, a.annual * (first - a.disbursed), num), np.where(odd, 365 * NANO, den))
    return num, den, n1, d1


def _absmax(x: np.ndarray) -> int:
    return int(np.abs(x).max()) if x.size else 0


def _wide(amount: int, num: np.ndarray, den: np.ndarray) -> bool:
    """Whether amount x num / den could overflow int64 in ``_times``."""
    return 2 * amount * _absmax(num) + 2 * _absmax(den) > _INT64_MAX


def _times(amount: np.ndarray, num: np.ndarray, den: np.ndarray, wide: bool | None = None) -> np.ndarray:
    """amount x num / den, rounded half-up (away from zero), in integers: exactly
    ``round_half_up(amount * Fraction(num, den))``. In int64 when no intermediate can overflow,
    otherwise (``wide``) in Python integers (huge loans only)."""
    if wide if wide is not None else _wide(_absmax(amount), num, den):
        amount, num, den = (np.asarray(x).astype(object) for x in (amount, num, den))
    twice = 2 * amount * num
    up = (twice + den) // (2 * den)
    down = -((-twice + den) // (2 * den))
    return np.where(amount >= 0, up, down).astype(np.int64)


def _exact_annuity_payment(principal: int, r: Fraction, n: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        if r == 0:
            return Decimal(principal) / n
        rd = Decimal(r.numerator) / Decimal(r.denominator)
        return Decimal(principal) * rd / (1 - (1 + rd) ** -n)


class _Exact:
    """The exact (50-digit decimal) annuity payment and amortisation of one loan, computed only
    where the float64 figures cannot decide a rounding (see ``_annuity_amounts``)."""

    __slots__ = ("pmt", "balance", "growth", "k")

    def __init__(self, principal: int, num: int, den: int, n: int) -> None:
        self.pmt = _exact_annuity_payment(principal, Fraction(num, den), n)
        with localcontext() as ctx:
            ctx.prec = 50
            self.growth = 1 + Decimal(num) / Decimal(den)
        self.balance = Decimal(principal)
        self.k = 0

    def balance_after(self, k: int) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 50
            while self.k < k:
                self.balance = self.balance * self.growth - self.pmt
                self.k += 1
        return self.balance


def _annuity_amounts(
    principal: np.ndarray, n: np.ndarray, rn: np.ndarray, rd: np.ndarray, r1n: np.ndarray, r1d: np.ndarray,
    *, always_exact: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(principal, interest) of every instalment of many annuity loans, loan after loan.

    The rule (module docstring): instalment k's payment is the exact annuity payment rounded down
    (lo) or up (hi), whichever leaves the running balance nearer the exact amortisation after k
    periods; instalment n-1 instead aims the last at the payment; the last takes the rest.

    One step per instalment number over all loans still running. The exact payment and
    amortisation are taken in float64 with a running bound on their error; a choice between lo and
    hi is only taken from the floats when they are further than that bound from the tie, otherwise
    (a few in a million, or a zero rate with exact halves) from the 50-digit decimals, so the
    result is the exact rule's to the minor unit. ``always_exact`` takes every choice from the
    decimals (slow; the tests compare it with the fast path).
    """
    offsets = np.zeros(n.size + 1, dtype=np.int64)
    np.cumsum(n, out=offsets[1:])
    out_p = np.zeros(offsets[-1], dtype=np.int64)
    out_i = np.zeros(offsets[-1], dtype=np.int64)
    if n.size == 0:
        return out_p, out_i
    order = np.argsort(-n, kind="stable")  # longest first: the loans still running are a prefix
    P, n, rn, rd, r1n, r1d, start = (x[order] for x in (principal, n, rn, rd, r1n, r1d, offsets[:-1]))
    rf = rn / rd
    g = 1.0 + rf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pmt = np.where(rn == 0, P / n, P * rf / -np.expm1(-n * np.log1p(rf)))
    e_pmt = np.abs(pmt) * 1e-12 + 8 * _EPS  # a generous bound on pmt's float error (about 10 ulp)
    exact: dict[int, _Exact] = {}

    def exact_of(i: int) -> _Exact:
        if i not in exact:
            exact[i] = _Exact(int(P[i]), int(rn[i]), int(rd[i]), int(n[i]))
        return exact[i]

    # lo and hi: the exact payment rounded down and up (equal when it is a whole number).
    lo = np.floor(pmt).astype(np.int64)
    frac = pmt - lo
    unsure = ~((frac > 2 * e_pmt) & (frac < 1 - 2 * e_pmt)) | always_exact
    zero = rn == 0
    lo[zero] = P[zero] // n[zero]
    for i in np.flatnonzero(unsure & ~zero):
        lo[i] = math.floor(exact_of(int(i)).pmt)
    hi = np.where(zero, -(-P // n), lo + 1)
    for i in np.flatnonzero(unsure & ~zero):
        hi[i] = math.ceil(exact_of(int(i)).pmt)

    balance = P.copy()
    amort = P.astype(np.float64)  # the exact amortisation's balance, in float64
    err = np.zeros(P.size)  # a bound on |amort - exact|
    # Whether interest needs Python integers (decided once: amounts never exceed P + its interest + 1).
    top = _absmax(P) + math.ceil(_absmax(P) * float(np.max(rf)) * 1.01) + 3
    wide = _wide(top, rn, rd) or _wide(_absmax(P), r1n, r1d)
    running = np.searchsorted(-n, -np.arange(int(n[0]) + 2), side="right")  # loans with n >= k
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for k in range(1, int(n[0]) + 1):
            m, m_next, m_after = int(running[k]), int(running[k + 1]), int(running[min(k + 2, n[0] + 1)])
            b, lo_k, hi_k, g_k, pmt_k = balance[:m], lo[:m], hi[:m], g[:m], pmt[:m]
            regular = _times(b, rn[:m], rd[:m], wide)
            interest = regular if k > 1 else _times(b, r1n[:m], r1d[:m], wide)
            before = amort[:m]
            after = before * g_k - pmt_k
            err[:m] = (err[:m] * g_k * (1 + 4 * _EPS) + e_pmt[:m]
                       + 8 * _EPS * (np.abs(before) * g_k + np.abs(pmt_k) + np.abs(after)))
            amort[:m] = after
            # Steer: hi when paying lo would leave the balance more than half a unit above the exact one.
            left = b + regular - lo_k  # the balance after paying lo
            miss = left.astype(np.float64) - after
            take_hi = miss > 0.5
            unsure = ~(np.abs(miss - 0.5) > 2 * err[:m] + 8 * _EPS * (np.abs(miss) + np.abs(after)))
            # The one before the last (n = k + 1: positions m_after..m_next) looks ahead: the last pays
            # what is left plus its interest (f(x) = x + interest on x), which should land nearest
            # the payment; lo on a tie.
            ahead = slice(m_after, m_next)
            if m_next > m_after:
                x = left[ahead] - (hi_k[ahead] - lo_k[ahead])
                f_hi = x + _times(x, rn[ahead], rd[ahead], wide)
                f_lo = x + 1 + _times(x + 1, rn[ahead], rd[ahead], wide)
                twice_mid = (f_hi + f_lo).astype(np.float64)
                take_hi[ahead] = 2 * pmt[ahead] < twice_mid
                unsure[ahead] = ~(np.abs(2 * pmt[ahead] - twice_mid) > 4 * e_pmt[ahead] + 8 * _EPS * np.abs(twice_mid))
            unsure[m_next:] = False  # the last instalment takes the rest
            if always_exact:
                unsure[:m_next] = True
            unsure &= lo_k != hi_k
            for i in np.flatnonzero(unsure):
                ex = exact_of(int(i))
                exact_balance = ex.balance_after(k)
                with localcontext() as ctx:
                    ctx.prec = 50  # the misses too: at the default 28 digits a near-tie becomes a tie
                    if n[i] == k + 1:
                        x = int(b[i] + regular[i] - hi[i])
                        r = Fraction(int(rn[i]), int(rd[i]))
                        miss_lo = abs(x + 1 + round_half_up((x + 1) * r) - ex.pmt)
                        miss_hi = abs(x + round_half_up(x * r) - ex.pmt)
                    else:
                        miss_lo = abs(int(left[i]) - exact_balance)
                        miss_hi = abs(int(left[i]) - 1 - exact_balance)
                take_hi[i] = miss_hi < miss_lo
            paid = np.minimum(np.maximum(np.where(take_hi, hi_k, lo_k) - regular, 0), b)
            paid[m_next:] = b[m_next:]
            rows = start[:m] + (k - 1)
            out_p[rows] = paid
            out_i[rows] = interest
            balance[:m] = b - paid
    return out_p, out_i


def _amounts(a: _Loans, loan: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(principal, interest) for rows of (loan, k) that list every instalment of every loan in order."""
    rn, rd, r1n, r1d = _rates(a)
    method = a.method[loan]
    P, n = a.principal[loan], a.term[loan]
    first = k == 0
    last = k == n - 1
    num = np.where(first, r1n[loan], rn[loan])
    den = np.where(first, r1d[loan], rd[loan])
    principal = np.zeros(loan.size, dtype=np.int64)
    interest = np.zeros(loan.size, dtype=np.int64)

    rows = method == 1  # equal principal: the same principal each time, the remainder in the last
    if rows.any():
        each = P[rows] // n[rows]
        balance = P[rows] - k[rows] * each
        principal[rows] = np.where(last[rows], balance, each)
        interest[rows] = _times(balance, num[rows], den[rows])
    rows = method == 2  # interest only: the principal at the end
    if rows.any():
        principal[rows] = np.where(last[rows], P[rows], 0)
        interest[rows] = _times(P[rows], num[rows], den[rows])
    rows = method == 3  # bullet: one payment, the first period's interest and n - 1 regular ones
    if rows.any():
        b = loan[rows]
        o = lambda x: x.astype(object)  # noqa: E731 - sums of fractions: in Python integers
        principal[rows] = P[rows]
        interest[rows] = _times(
            o(P[rows]), o(r1n[b]) * o(rd[b]) + (o(n[rows]) - 1) * o(rn[b]) * o(r1d[b]), o(r1d[b]) * o(rd[b])
        )
    rows = method == 0
    if rows.any():
        ids = np.flatnonzero(a.method == 0)
        principal[rows], interest[rows] = _annuity_amounts(
            a.principal[ids], a.term[ids], rn[ids], rd[ids], r1n[ids], r1d[ids]
        )
    return principal, interest


def _rows(a: _Loans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loan, k, date k): one row per instalment, loans in order; a bullet's single row is dated
    at the last due date."""
    count = np.where(a.method == 3, 1, a.term)
    loan = np.repeat(np.arange(a.term.size), count)
    starts = np.zeros(a.term.size, dtype=np.int64)
    np.cumsum(count[:-1], out=starts[1:])
    k = np.arange(loan.size, dtype=np.int64) - starts[loan]
    return loan, k, np.where(a.method[loan] == 3, a.term[loan] - 1, k)


def _roll_days(days: np.ndarray, rule: str, calendar: str) -> np.ndarray:
    """``calendar.roll`` of many due dates: each distinct date is rolled once."""
    if rule == "none" or days.size == 0:
        return days
    low, high = int(days.min()), int(days.max())
    if high - low <= 4 * days.size + 64:  # dense: a table of every day in the span
        span = np.arange(low, high + 1)
        table = np.array([(roll(_EPOCH + dt.timedelta(days=int(d)), rule, calendar) - _EPOCH).days for d in span])
        return table[days - low]
    distinct, where = np.unique(days, return_inverse=True)
    table = np.array([(roll(_EPOCH + dt.timedelta(days=int(d)), rule, calendar) - _EPOCH).days for d in distinct])
    return table[where]


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


def _schedule(a: _Loans, rules: Sequence[tuple[np.ndarray, str, str]]) -> tuple[np.ndarray, ...]:
    """(loan, n, due, adjusted due, principal, interest) arrays: the schedule rule over many loans.

    ``rules``: (loans mask, business-day rule, calendar) for the loans that roll their due dates."""
    if (a.method < 0).any():
        raise ValueError("unknown method")
    loan, k, k_date = _rows(a)
    due = _due_days(a, loan, k_date)
    principal, interest = _amounts(a, loan, k)
    adjusted = due.copy()
    for mask, rule, calendar in rules:
        if rule == "none":
            continue
        rows = mask[loan]
        adjusted[rows] = _roll_days(due[rows], rule, calendar)
    return loan, k + 1, due, adjusted, principal, interest


def schedule_frame(loans: pl.DataFrame, products: Mapping[str, object]) -> pl.DataFrame:
    """The contractual schedules of many loans, in ``SCHEDULE_SCHEMA``: the schedule rule.

    ``loans`` carries the loan columns in internal units (``principal`` in minor units,
    ``annual_rate_nano``; ``first_due_on``, ``period_days`` and ``product`` may be absent);
    ``products`` maps codes to ``Product`` (its business-day rule and calendar). Rows come loan by
    loan in the frame's order, instalments in order.
    """
    if loans.is_empty():
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    codes = (loans.get_column("product").fill_null("default") if "product" in loans.columns
             else pl.Series("product", ["default"] * loans.height))
    rules = []
    for code in codes.unique().to_list():
        product = products[code]
        rules.append(((codes == code).to_numpy(), product.business_day_rule, product.calendar))
    loan, n, due, adjusted, principal, interest = _schedule(_loans_of(loans), rules)
    return pl.DataFrame(
        {
            "loan_id": loans.get_column("loan_id").gather(loan),
            "n": pl.Series(n, dtype=pl.Int32),
            "due_on": pl.Series(due.astype(np.int32)).cast(pl.Date),
            "adjusted_due_on": pl.Series(adjusted.astype(np.int32)).cast(pl.Date),
            "principal": pl.Series(principal, dtype=pl.Int64),
            "interest": pl.Series(interest, dtype=pl.Int64),
        },
        schema=SCHEDULE_SCHEMA,
    )


# --- one loan: the same rule on one loan's arrays ---------------------------------------------------


def build(
    terms: LoanTerms, *, business_day_rule: str = "none", calendar: str = "NONE"
) -> tuple[Instalment, ...]:
    """The contractual schedule of one loan: the schedule rule (``_schedule``) on one loan."""
    if terms.method not in _METHOD_CODE:
        raise ValueError(f"unknown method {terms.method!r}")
    _, n, due, adjusted, principal, interest = _schedule(
        _one(terms), [(np.ones(1, dtype=bool), business_day_rule, calendar)])
    day = lambda d: _EPOCH + dt.timedelta(days=d)  # noqa: E731
    return tuple(
        Instalment(k, day(d), day(a), p, i)
        for k, d, a, p, i in zip(n.tolist(), due.tolist(), adjusted.tolist(), principal.tolist(), interest.tolist())
    )


def due_dates(terms: LoanTerms) -> tuple[dt.date, ...]:
    """Every contractual due date of one loan (a bullet's included: it is paid at the last)."""
    a = _one(terms)
    days = _due_days(a, np.zeros(terms.term, dtype=np.int64), np.arange(terms.term, dtype=np.int64))
    return tuple(_EPOCH + dt.timedelta(days=int(d)) for d in days)


def periodic_rate(terms: LoanTerms) -> Fraction:
    """annual_rate / periods per year; for ``days`` periods, annual_rate x period_days / 365."""
    rn, rd, _, _ = _rates(_one(terms))
    return Fraction(int(rn[0]), int(rd[0]))


def first_period_rate(terms: LoanTerms, first_due: dt.date) -> Fraction:
    """The regular rate, or annual_rate x days / 365 when the first period (to ``first_due``) is odd."""
    _, _, r1n, r1d = _rates(replace(_one(terms), first_due=np.array([(first_due - _EPOCH).days]),
                                    has_first=np.array([True])))
    return Fraction(int(r1n[0]), int(r1d[0]))


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


def instalments_of(frame: pl.DataFrame) -> Iterable[Instalment]:
    for r in frame.sort("n").iter_rows(named=True):
        yield Instalment(r["n"], r["due_on"], r["adjusted_due_on"], r["principal"], r["interest"])


_MODE_CODE = {"reduce_instalment": 0, "reduce_term": 1}


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

    The rule on one loan's arrays (``_rebuilt``, which ``rebuild_frame`` runs over many loans).
    """
    if not future:
        return []
    if mode not in _MODE_CODE and terms.method not in ("bullet", "interest_only"):
        raise ValueError(f"unknown prepayment mode {mode!r}")
    p, i = _rebuilt(
        _one(terms), np.array([len(future)]), np.array([(future[0].due_on - _EPOCH).days]),
        np.array([first_period_regular]), np.array([balance], dtype=np.int64), np.array([_MODE_CODE.get(mode, -1)]),
        np.array([f.principal for f in future], dtype=np.int64), np.array([f.amount for f in future], dtype=np.int64),
    )
    return list(zip(p.tolist(), i.tolist()))


def rebuild_frame(loans: pl.DataFrame, future: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``rebuild_future`` over many loans: (principal, interest) arrays for the rows of ``future``.

    ``loans``: one row a loan, its terms columns (as ``schedule_frame`` reads them) and
    ``balance`` (left to repay), ``prepayment`` (the mode) and ``first_period_regular``.
    ``future``: the loans' instalments not yet due, ``principal`` and ``interest`` left on each,
    loan after loan in the order of ``loans``, each loan's in order of number.
    """
    if loans.is_empty():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = _loans_of(loans)
    mode = loans.get_column("prepayment").replace_strict(_MODE_CODE, default=-1, return_dtype=pl.Int64).to_numpy()
    bad = (mode < 0) & ~np.isin(a.method, (2, 3))
    if bad.any():
        raise ValueError(f"unknown prepayment mode {loans.get_column('prepayment').filter(pl.Series(bad)).first()!r}")
    first = _run_starts(future.get_column("loan_id"))
    count = np.diff(np.r_[first, future.height])
    if count.size != loans.height:
        raise ValueError("rebuild_frame: future does not list the loans' instalments loan after loan")
    principal = future.get_column("principal").cast(pl.Int64).to_numpy()
    return _rebuilt(
        a, count, future.get_column("due_on").cast(pl.Date).to_physical().cast(pl.Int64).to_numpy()[first],
        loans.get_column("first_period_regular").to_numpy(), loans.get_column("balance").cast(pl.Int64).to_numpy(),
        mode, principal, principal + future.get_column("interest").cast(pl.Int64).to_numpy(),
    )


def _run_starts(ids: pl.Series) -> np.ndarray:
    """The positions where a run of equal ``ids`` starts."""
    if ids.is_empty():
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((ids != ids.shift(1)).fill_null(True).to_numpy())


def _rebuilt(
    a: _Loans, m: np.ndarray, start: np.ndarray, regular: np.ndarray, balance: np.ndarray, mode: np.ndarray,
    principal: np.ndarray, amount: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The rebuild rule (``rebuild_future``) over many loans. Per loan: ``m`` instalments not yet
    due, the first falling due on ``start`` (days), ``regular`` (its period is a regular one),
    ``balance``, ``mode`` (``_MODE_CODE``). Per row (loan after loan, ``m`` each): the
    ``principal`` and ``amount`` (principal plus interest) left on it. Returns (principal, interest)
    per row."""
    loans = m.size
    offsets = np.zeros(loans + 1, dtype=np.int64)
    np.cumsum(m, out=offsets[1:])
    loan = np.repeat(np.arange(loans), m)
    k = np.arange(loan.size, dtype=np.int64) - offsets[loan]
    rn, rd, _, _ = _rates(a)
    # The first period's rate: the regular one, or that of the period to ``start`` when it is odd.
    _, _, sn, sd = _rates(replace(a, first_due=start.astype(np.int64), has_first=np.ones(loans, dtype=bool)))
    r1n, r1d = np.where(regular, rn, sn), np.where(regular, rd, sd)
    num, den = np.where(k == 0, r1n[loan], rn[loan]), np.where(k == 0, r1d[loan], rd[loan])
    last = k == m[loan] - 1
    out_p = np.zeros(loan.size, dtype=np.int64)
    out_i = np.zeros(loan.size, dtype=np.int64)

    # Interest only and bullet: the principal at the end, interest on the whole balance.
    flat = np.isin(a.method, (2, 3))
    rows = flat[loan]
    if rows.any():
        out_p[rows] = np.where(last[rows], balance[loan[rows]], 0)
        out_i[rows] = _times(balance[loan[rows]], num[rows], den[rows])
    # Reduce instalment: an annuity re-amortised over the same number; otherwise the same
    # principal each time, the remainder in the last.
    annuity = (mode == 0) & (a.method == 0) & ~flat
    ids = np.flatnonzero(annuity)
    if ids.size:
        rows = annuity[loan]
        out_p[rows], out_i[rows] = _annuity_amounts(balance[ids], m[ids], rn[ids], rd[ids], r1n[ids], r1d[ids])
    rows = ((mode == 0) & (a.method != 0) & ~flat)[loan]
    if rows.any():
        each = balance[loan[rows]] // m[loan[rows]]
        left = balance[loan[rows]] - k[rows] * each
        out_p[rows] = np.where(last[rows], left, each)
        out_i[rows] = _times(left, num[rows], den[rows])
    # Reduce term: the same instalment (annuity: the level one, the most common amount before the
    # last, the earliest on a tie) or the same principal, until the balance is repaid.
    term = np.flatnonzero((mode == 1) & ~flat)
    if term.size:
        level = _level(loan, k, m, amount, term)
        order = term[np.argsort(-m[term], kind="stable")]  # longest first: the loans still running are a prefix
        bal = balance[order].copy()
        n = m[order]
        running = np.searchsorted(-n, -np.arange(int(n[0]) + 2), side="right")  # loans with n >= k
        level_o, annuity_o, start_o = level[order], a.method[order] == 0, offsets[order]
        for step in range(int(n[0])):
            c = int(running[step + 1])
            b = bal[:c]
            at = start_o[:c] + step
            interest = _times(b, num[at], den[at])
            paid = np.where(annuity_o[:c], np.maximum(level_o[:c] - interest, 0), principal[at])
            paid = np.where(last[at], b, np.minimum(paid, b))
            out_p[at], out_i[at] = paid, interest
            bal[:c] = b - paid
    return out_p, out_i


def _level(loan: np.ndarray, k: np.ndarray, m: np.ndarray, amount: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Per loan (those in ``of``; others 0): the most common ``amount`` among its rows before the
    last (its only row when it has one), the earliest to occur on a tie."""
    level = np.zeros(m.size, dtype=np.int64)
    rows = np.isin(loan, of) & ((k < m[loan] - 1) | (m[loan] == 1))
    lo, am, kk = loan[rows], amount[rows], k[rows]
    order = np.lexsort((kk, am, lo))
    lo, am, kk = lo[order], am[order], kk[order]
    runs = np.flatnonzero(np.r_[True, (lo[1:] != lo[:-1]) | (am[1:] != am[:-1])])
    count = np.diff(np.r_[runs, lo.size])
    run_loan, run_amount, run_first = lo[runs], am[runs], kk[runs]
    best = np.lexsort((run_first, -count, run_loan))
    pick = best[np.r_[True, run_loan[best][1:] != run_loan[best][:-1]]]
    level[run_loan[pick]] = run_amount[pick]
    return level
