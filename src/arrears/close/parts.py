"""The touched book in parts, each stepped on its own (each loan's step is its own).

The stored book comes in id order (read through the primary key); the loans that start today (new,
taken on, re-derived) are few and in id order among themselves, but fall between the stored ones.
Rather than merging them in (a copy of every loan and instalment), they are a part of their own,
and the stored book is cut at ids into runs of consecutive loans: zero-copy slices. Each part gets
only its own facts: another part's would keep its step off integer keys (``keys.encode``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from arrears.book.step import Book


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a book in id order was cut: the first id of each slice after the first."""

    heads: list[str]

    def slices(self, book: Book) -> list[Book]:
        """``book`` (in id order) as slices, one a run of ids between the heads."""
        loan_at = _starts(book.loans["loan_id"], self.heads)
        inst_at = _starts(book.inst["loan_id"], self.heads)
        return [Book(book.loans.slice(a, b - a), book.inst.slice(c, d - c))
                for a, b, c, d in zip(loan_at, loan_at[1:], inst_at, inst_at[1:])]


def cut(book: Book, parts: int) -> Cut:
    """Where to cut ``book`` (in id order) into ``parts`` slices of about as many loans."""
    ids = book.loans["loan_id"]
    n = ids.len()
    parts = max(1, min(parts, n))
    return Cut([ids[n * i // parts] for i in range(1, parts)])


def own_facts(frame: pl.DataFrame, at: Cut, extras: list[pl.Series]) -> list[pl.DataFrame]:
    """``frame``'s rows (facts of a loan each) shared out as ``at`` cut the stored book, then to
    each of ``extras`` (the ids of a part of its own). Rows keep their order. A row of a loan in no
    part goes where its id falls among the stored ones (that part then steps on strings)."""
    ids = pl.col("loan_id")
    index = pl.sum_horizontal(pl.lit(0, pl.Int32), *[(ids >= h).cast(pl.Int32) for h in at.heads])
    for i, extra in enumerate(extras):
        if not extra.is_empty():
            index = pl.when(ids.is_in(extra.implode())).then(pl.lit(len(at.heads) + 1 + i, pl.Int32)).otherwise(index)
    count = len(at.heads) + 1 + len(extras)
    if frame.is_empty() or count == 1:
        return [frame] * count
    # A filter a part, on the part index worked out once: half the CPU of a ``partition_by``.
    # As a column: with no head and no extra the index is a literal, which ``select`` leaves one row long.
    part = frame.with_columns(index.alias("_part")).get_column("_part")
    return [frame.filter(part == i) for i in range(count)]


def _starts(ids: pl.Series, heads: list[str]) -> list[int]:
    if not heads:
        return [0, ids.len()]
    at = ids.search_sorted(pl.Series(heads, dtype=ids.dtype), side="left").to_list()
    return [0, *at, ids.len()]


@dataclass(frozen=True, slots=True)
class Part:
    """A part of the day: its loans as of yesterday (``book``; for a part not stepped, as of the
    end of today), their stored rows (``stored``: what the writes compare with), its own facts."""

    book: Book
    stored: Book
    terms: pl.DataFrame
    payments: pl.DataFrame
    adjustments: pl.DataFrame
    stepped: bool = True
