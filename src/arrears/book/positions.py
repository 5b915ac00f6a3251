"""Where each row's loan is in a frame of loans: rules that read a loan's values on its instalments
take them by position (a gather) rather than by a join on ``loan_id``.

The step's frames make this free: its loans are in key order and the keys are dense (a loan's key
is its row), its instalments and terms come loan by loan in that order. Other callers' frames fall
back to one join for the positions, and the rule downstream stays the same.
"""

from __future__ import annotations

import polars as pl

from arrears.book.keys import KEY


def rows_in(loans: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
    """For each row of ``frame``, the row of ``loans`` with its ``loan_id`` (null: none there), as
    ``KEY``; flagged sorted when it is. ``loans``' ids must be unique (the state's are)."""
    ids, of = loans["loan_id"], frame["loan_id"]
    n = ids.len()
    if ids.dtype == KEY and of.dtype == KEY and _dense(ids):
        pos = of if of.is_empty() or of.max() < n else of.to_frame().select(
            pl.when(pl.col("loan_id") < n).then(pl.col("loan_id"))).to_series()
    elif of.equals(ids, check_names=False):
        pos = pl.int_range(n, dtype=KEY, eager=True)
    else:
        pos = (
            of.to_frame().join(loans.select("loan_id").with_row_index("_row"), on="loan_id", how="left",
                               maintain_order="left", validate="m:1")["_row"].cast(KEY)
        )
    pos = pos.alias("_row")
    return pos.set_sorted() if pos.null_count() == 0 and pos.is_sorted() else pos


def _dense(ids: pl.Series) -> bool:
    """Whether ``ids`` are 0, 1, ..., n-1 in order: each key is its own row."""
    n = ids.len()
    return n == 0 or (ids[0] == 0 and ids[n - 1] == n - 1 and ids.null_count() == 0
                      and bool((ids.diff().slice(1) == 1).all()))


def aligned(per_row: pl.DataFrame, loans: pl.DataFrame) -> bool:
    """Whether ``per_row``, one row per position (``loan_id``: ``rows_in``'s), has one row for each of
    ``loans``' rows, in their order."""
    pos = per_row["loan_id"]
    return pos.len() == loans.height and _dense(pos)


def take(frame: pl.DataFrame, pos: pl.Series) -> pl.DataFrame:
    """``frame``'s rows at ``pos`` (``rows_in``'s), a row of nulls where it is null."""
    if frame.is_empty():
        return frame.clear(pos.len())
    return frame[pos]
