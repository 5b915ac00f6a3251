"""Replay: fold the day step over a loan's history, from disbursement to any date.

Only event days are stepped (disbursement, due dates, the first late day after grace, bucket edges
and charge-off of every instalment, cap changes, payments); the quiet days between them accrue in
one go inside ``step``. A two-year loan replays in a few dozen steps instead of 730, so the view of
one account, a backdated payment and ``--known-at`` all re-derive from the facts cheaply, through
exactly the rules the nightly close runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from arrears.book.state import ALLOCATIONS, MOVEMENTS, TRANSITIONS, initial_state
from arrears.book.step import Book, step


@dataclass(frozen=True, slots=True)
class History:
    book: Book
    allocations: pl.DataFrame
    transitions: pl.DataFrame
    movements: pl.DataFrame


def event_days(
    terms: pl.DataFrame,
    inst: pl.DataFrame,
    payments: pl.DataFrame,
    schemes: Mapping[str, tuple[int, ...]],
    after: dt.date,
    until: dt.date,
    extra: tuple[dt.date, ...] = (),
) -> list[dt.date]:
    """Every day in (after, until] on which something can change for these loans, and ``until``."""
    edges = sorted({e for s in schemes.values() for e in s} | {1})
    j = inst.join(terms.select("loan_id", "grace_days", "charge_off_dpd"), on="loan_id")
    days: set[dt.date] = set(extra) | {until}
    days |= set(terms["disbursed_on"].to_list())
    days |= set(terms["cap_switch_on"].drop_nulls().to_list())
    days |= set(j["due_on"].to_list()) | set(j["adjusted_due_on"].to_list())
    offsets = j.select(
        *[(pl.col("adjusted_due_on") + pl.duration(days=e)).alias(f"e{e}") for e in edges],
        (pl.col("adjusted_due_on") + pl.duration(days=1) * (pl.col("grace_days") + 1)).alias("grace"),
        (pl.col("adjusted_due_on") + pl.duration(days=1) * pl.col("charge_off_dpd")).alias("co"),
    )
    for c in offsets.columns:
        days |= set(offsets[c].to_list())
    days |= set(payments["paid_on"].to_list())
    return sorted(d for d in days if d is not None and after < d <= until)


def replay(
    terms: pl.DataFrame,
    schedule: pl.DataFrame,
    payments: pl.DataFrame,
    until: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
) -> History:
    """The state of ``terms``' loans at the end of ``until``, from their facts alone."""
    loans, inst = initial_state(terms, schedule)
    start = terms["disbursed_on"].min() - dt.timedelta(days=1) if not terms.is_empty() else until
    book = Book(loans.with_columns(pl.lit(start, pl.Date).alias("as_of")), inst)
    allocations, transitions, movements = [], [], []
    for day in event_days(terms, inst, payments, schemes, start, until):
        result = step(book, terms, payments.filter(pl.col("paid_on") == day), day, schemes)
        book = result.book
        allocations.append(result.allocations)
        transitions.append(result.transitions)
        movements.append(result.movements)
    return History(
        book,
        pl.concat(allocations) if allocations else pl.DataFrame(schema=ALLOCATIONS),
        pl.concat(transitions) if transitions else pl.DataFrame(schema=TRANSITIONS),
        pl.concat(movements) if movements else pl.DataFrame(schema=MOVEMENTS),
    )
