"""The world's own view of what each borrower owes: schedules as arrays, paid so far, penalty.

A borrower in the world knows their instalments and what they have paid; they do not see the
platform's books. So the world keeps its own view, in integer minor units, one row per loan:

- the contractual schedule comes from ``arrears.book.schedule`` (the same pure functions the
  platform uses at import), so an instalment the world pays is the amount the platform expects;
- penalty is an *estimate*: the daily penalty rate on overdue principal, cut to what the CN cap on
  the overdue amount leaves (contract rate + penalty <= 24 %), accrued in micro-units;
- ``cap`` is the most a borrower will ever pay on a day: principal not yet repaid, interest already
  due and estimated penalty. It leaves out accrued and future interest, so it never exceeds the
  platform's payoff amount except by the error of the penalty estimate (a few minor units, held by
  the platform as credit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from arrears.book.products import DEFAULT
from arrears.book.schedule import LoanTerms, due_dates, schedule_frame

NANO = 10**9
FAR = np.iinfo(np.int32).max  # the due day of an instalment a loan does not have
CN_CAP_NANO = 240_000_000  # 24 % a year: the licensed lenders' cap on rate + penalty


@dataclass
class Ledger:
    due: np.ndarray  # [loans, max_term] int32 ordinal day of each instalment, FAR when absent
    cum_principal: np.ndarray  # [loans, max_term + 1] int64 principal due after k instalments
    cum_interest: np.ndarray  # [loans, max_term + 1] int64
    disbursed: np.ndarray  # [loans] int32 ordinal day
    penalty_nano_daily: np.ndarray  # [loans] int64 effective daily penalty rate on overdue principal
    paid: np.ndarray  # [loans] int64
    penalty_micro: np.ndarray  # [loans] int64 estimated penalty accrued, micro-units
    penalty_paid: np.ndarray  # [loans] int64 of ``paid``, what went to penalty when it was paid
    closed: np.ndarray  # [loans] bool: settled in full, nothing more will be paid

    @property
    def size(self) -> int:
        return self.due.shape[0]

    def due_count(self, day: int) -> np.ndarray:
        return (self.due <= day).sum(axis=1)

    def figures(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(arrears, cap, instalments due) on ``day``, before that day's payments."""
        k = self.due_count(day)
        rows = np.arange(self.size)
        due_now = self.cum_principal[rows, k] + self.cum_interest[rows, k]
        penalty = (self.penalty_micro + 999_999) // 1_000_000
        arrears = np.maximum(due_now + penalty - self.paid, 0)
        principal_total = self.cum_principal[:, -1]
        cap = np.maximum(principal_total + self.cum_interest[rows, k] + penalty - self.paid, 0)
        arrears = np.where(self.closed | (self.disbursed > day), 0, arrears)
        cap = np.where(self.closed | (self.disbursed > day), 0, cap)
        return arrears, cap, k

    def upto(self, instalment: np.ndarray) -> np.ndarray:
        """What bringing each loan up to date through ``instalment`` (0-based) costs, before penalty."""
        rows = np.arange(instalment.shape[0])
        return self.cum_principal[rows, instalment + 1] + self.cum_interest[rows, instalment + 1]

    def accrue_penalty(self, day: int) -> None:
        """One day of estimated penalty on the principal that is overdue at the end of ``day``."""
        k = self.due_count(day)
        rows = np.arange(self.size)
        principal_due = self.cum_principal[rows, k]
        interest_due = self.cum_interest[rows, k]
        # Payments go to penalty, then interest, then principal: what is left over after those is
        # the principal repaid.
        penalty = self.penalty_micro // 1_000_000
        principal_paid = np.clip(self.paid - penalty - interest_due, 0, None)
        overdue = np.clip(principal_due - principal_paid, 0, None)
        self.penalty_micro += overdue * self.penalty_nano_daily // 1000

    def pay(self, amount: np.ndarray) -> None:
        """Take the day's payments: penalty owed at the time first (only ``take_on`` reads the
        split; the borrower's own figures use ``paid``)."""
        owed = np.maximum((self.penalty_micro + 999_999) // 1_000_000 - self.penalty_paid, 0)
        self.penalty_paid += np.minimum(amount, owed)
        self.paid += amount

    def dpd(self, day: int) -> np.ndarray:
        """Days past the oldest instalment not covered by what was paid (0 when current)."""
        cum_due = self.cum_principal + self.cum_interest
        covered = (cum_due[:, 1:] <= self.paid[:, None]).sum(axis=1)
        oldest = self.due[np.arange(self.size), np.minimum(covered, self.due.shape[1] - 1)]
        late = (covered < self.due_count(day)) & ~self.closed
        return np.where(late, day - oldest, 0)


def _amounts(principal, rate_nano, term, method, disbursed) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
    """Cumulative principal and interest per distinct (principal, rate, term, method): the
    schedules of all of them in one ``schedule_frame`` (the column-wise rule, not a call a loan)."""
    first: dict[tuple, int] = {}
    for i in range(principal.shape[0]):
        first.setdefault((int(principal[i]), int(rate_nano[i]), int(term[i]), method[i]), i)
    keys = list(first)
    loans = pl.DataFrame(
        {
            "loan_id": [str(j) for j in range(len(keys))],
            "principal": [k[0] for k in keys],
            "annual_rate_nano": [k[1] for k in keys],
            "term": [k[2] for k in keys],
            "frequency": ["monthly"] * len(keys),
            "method": [k[3] for k in keys],
            "disbursed_on": [disbursed[i] for i in first.values()],
        },
        schema_overrides={"principal": pl.Int64, "annual_rate_nano": pl.Int64, "term": pl.Int64,
                          "disbursed_on": pl.Date},
    )
    sched = schedule_frame(loans, {"default": DEFAULT})
    ends = np.cumsum(np.where(loans["method"].to_numpy() == "bullet", 1, loans["term"].to_numpy()))
    cum_p = np.split(sched["principal"].to_numpy(), ends[:-1])
    cum_i = np.split(sched["interest"].to_numpy(), ends[:-1])
    return {key: (np.cumsum(p), np.cumsum(i)) for key, p, i in zip(keys, cum_p, cum_i)}


def build_ledger(
    principal: np.ndarray,
    rate_nano: np.ndarray,
    term: np.ndarray,
    method: list[str],
    disbursed: list[dt.date],
    penalty_nano: np.ndarray,
    capped: bool,
) -> Ledger:
    """Schedules for many loans. Amounts are cached per (principal, rate, term, method) and dates per
    (disbursement, term): a regular first period makes the amounts independent of the dates."""
    n, width = principal.shape[0], int(term.max())
    due = np.full((n, width), FAR, dtype=np.int32)
    cum_p = np.zeros((n, width + 1), dtype=np.int64)
    cum_i = np.zeros((n, width + 1), dtype=np.int64)
    amounts = _amounts(principal, rate_nano, term, method, disbursed)
    dates: dict[tuple, np.ndarray] = {}
    for i in range(n):
        t = int(term[i])
        key = (int(principal[i]), int(rate_nano[i]), t, method[i])
        dkey = (disbursed[i], t)
        if dkey not in dates:
            terms = LoanTerms(0, 0, t, "monthly", "annuity", disbursed[i])
            dates[dkey] = np.array([d.toordinal() for d in due_dates(terms)], dtype=np.int32)
        cp, ci = amounts[key]
        cum_p[i, 1 : t + 1], cum_i[i, 1 : t + 1] = cp, ci
        cum_p[i, t + 1 :], cum_i[i, t + 1 :] = cp[-1], ci[-1]
        due[i, :t] = dates[dkey]
    effective = penalty_nano
    if capped:
        effective = np.minimum(penalty_nano, np.clip(CN_CAP_NANO - rate_nano, 0, None) // 365)
    return Ledger(
        due=due,
        cum_principal=cum_p,
        cum_interest=cum_i,
        disbursed=np.array([d.toordinal() for d in disbursed], dtype=np.int32),
        penalty_nano_daily=effective.astype(np.int64),
        paid=np.zeros(n, dtype=np.int64),
        penalty_micro=np.zeros(n, dtype=np.int64),
        penalty_paid=np.zeros(n, dtype=np.int64),
        closed=np.zeros(n, dtype=bool),
    )
