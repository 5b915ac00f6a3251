"""Who is in a world's book: borrower types, when trouble starts, the loans and their terms.

Locale-specific parts (names, phones, addresses, references, agents) live in ``cn.py`` and
``us.py``; this module draws everything that is the same shape in every world, as arrays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from arrears.sim.worlds.behaviour import PAYS
from arrears.sim.worlds.ledger import Ledger, build_ledger

NANO = 10**9


@dataclass(frozen=True)
class LoanTerms:
    """The ranges a world draws its loans from (money in major units, rates as fractions)."""

    currency: str
    principal: tuple[int, int, int]  # low, high, step
    terms: tuple[int, ...]
    rate: tuple[float, float]  # APR range, drawn on a 0.5-point grid
    methods: tuple[str, ...]
    method_p: tuple[float, ...]
    penalty_rate_daily: str | None  # decimal text, or None for no penalty
    capped: bool  # CN: rate + penalty on the overdue amount is capped at 24 %
    type_shares: tuple[float, float, float, float]  # PAYS, NEEDS_CONTACT, NEVER, HOSTILE
    second_loan_share: float = 0.1
    disbursal_days: int = 120
    trouble_within_days: int = 300


@dataclass
class Book:
    """Everything drawn at start, as arrays indexed by borrower (b) or loan (l)."""

    borrower_type: np.ndarray  # [b] int
    trouble_day: np.ndarray  # [b] ordinal day on which a troubled borrower stops paying on schedule
    loan_borrower: np.ndarray  # [l] borrower index
    principal: np.ndarray  # [l] minor units
    rate_nano: np.ndarray  # [l]
    term: np.ndarray  # [l]
    method: list[str]  # [l]
    disbursed: list[dt.date]  # [l]
    lag: np.ndarray  # [l, max_term] days after its due date an on-schedule instalment is paid
    onset: np.ndarray  # [l] first instalment (0-based) not paid on schedule; term when none
    ledger: Ledger


def draw_book(rng: np.random.Generator, terms: LoanTerms, loans: int, start: dt.date) -> Book:
    borrowers = max(1, int(round(loans / (1 + terms.second_loan_share))))
    owner = np.concatenate([
        np.arange(borrowers),
        np.sort(rng.choice(borrowers, size=loans - borrowers, replace=loans - borrowers > borrowers)),
    ])
    kinds = rng.choice(4, size=borrowers, p=np.array(terms.type_shares))
    first_day = start.toordinal() - terms.disbursal_days
    disbursed_on = first_day + rng.integers(0, terms.disbursal_days, size=loans)
    # A borrower's trouble starts some time after their first loan was paid out, so two loans of
    # one person go bad together.
    first_of = np.full(borrowers, np.iinfo(np.int64).max)
    np.minimum.at(first_of, owner, disbursed_on)
    trouble = first_of + 1 + rng.integers(0, terms.trouble_within_days, size=borrowers)
    trouble = np.where(kinds == PAYS, np.iinfo(np.int32).max, trouble)

    low, high, step = terms.principal
    principal = rng.integers(low // step, high // step + 1, size=loans) * step * 100
    rate_lo, rate_hi = (round(r * 200) for r in terms.rate)
    rate_nano = rng.integers(rate_lo, rate_hi + 1, size=loans) * (NANO // 200)
    term = rng.choice(np.array(terms.terms), size=loans)
    method_ix = rng.choice(len(terms.methods), size=loans, p=np.array(terms.method_p))
    method = [terms.methods[i] for i in method_ix]
    disbursed = [dt.date.fromordinal(int(d)) for d in disbursed_on]
    penalty = int(round(float(terms.penalty_rate_daily or 0) * NANO))
    ledger = build_ledger(
        principal, rate_nano, term, method, disbursed,
        np.full(loans, penalty, dtype=np.int64), terms.capped,
    )
    onset = (ledger.due < trouble[owner][:, None]).sum(axis=1)
    lag = _lags(rng, ledger.due.shape)
    return Book(kinds, trouble, owner, principal, rate_nano, term, method, disbursed, lag, onset, ledger)


def with_rates(book: Book, rate_nano: np.ndarray, terms: LoanTerms) -> Book:
    """The book with other rates: the schedules are drawn again (the due dates do not change)."""
    penalty = int(round(float(terms.penalty_rate_daily or 0) * NANO))
    ledger = build_ledger(
        book.principal, rate_nano, book.term, book.method, book.disbursed,
        np.full(rate_nano.shape[0], penalty, dtype=np.int64), terms.capped,
    )
    return replace(book, rate_nano=rate_nano, ledger=ledger)


def _lags(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Most instalments are paid on the due date; some days, weeks or a month and more late."""
    u = rng.random(shape)
    late = np.select(
        [u < 0.88, u < 0.95, u < 0.98],
        [0, rng.integers(1, 8, shape), rng.integers(8, 30, shape)],
        rng.integers(30, 46, shape),
    )
    return late.astype(np.int32)


def loans_frame(book: Book, terms: LoanTerms, prefix: str, lender_type: str | None) -> pl.DataFrame:
    n = book.principal.shape[0]
    ids = [f"{prefix}-L{i:06d}" for i in range(n)]
    cols = {
        "loan_id": ids,
        "borrower_id": [f"{prefix}-B{b:06d}" for b in book.loan_borrower],
        "currency": [terms.currency] * n,
        "principal": minor_text(book.principal),
        "annual_rate": [_rate_text(r) for r in book.rate_nano],
        "term": book.term.astype(np.int64),
        "frequency": ["monthly"] * n,
        "method": book.method,
        "disbursed_on": pl.Series(book.disbursed, dtype=pl.Date),
    }
    if terms.penalty_rate_daily is not None:
        cols["penalty_rate_daily"] = [terms.penalty_rate_daily] * n
    if lender_type is not None:
        cols["lender_type"] = [lender_type] * n
    return pl.DataFrame(cols)


def minor_text(minor: np.ndarray) -> pl.Series:
    """Minor units (2-decimal currencies) as decimal text in major units: 123456 -> "1234.56"."""
    s = pl.Series(np.asarray(minor, dtype=np.int64))
    return (
        pl.select((s // 100).cast(pl.String) + "." + (s % 100).cast(pl.String).str.zfill(2))
        .to_series()
        .alias("amount")
    )


def _rate_text(nano: int) -> str:
    whole, frac = divmod(int(nano), NANO)
    return f"{whole}.{frac:09d}".rstrip("0").rstrip(".") if frac else f"{whole}"
