"""bulk.write_changed: rows known to differ from what is stored, written by the columns that changed."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import select

from arrears.store import tables as t
from arrears.store.bulk import insert_frame, write_changed

D = dt.date(2026, 6, 17)
COLS = ["day", "currency", "bucket", "members", "loans", "principal_outstanding", "total_outstanding"]


def _rows(conn) -> dict[tuple, tuple]:
    q = t.quiet_stocks
    out = {}
    for r in conn.execute(select(*[q.c[c] for c in COLS])):
        out[(r[0], r[1], r[2])] = tuple(r[3:])
    return out


def _frame(rows: list[tuple], changed: list[int | None]) -> pl.DataFrame:
    f = pl.DataFrame(rows, schema={"day": pl.Date, "currency": pl.String, "bucket": pl.String, "members": pl.Int64,
                                   "loans": pl.Int64, "principal_outstanding": pl.Int64,
                                   "total_outstanding": pl.Int64}, orient="row")
    return f.with_columns(pl.Series("changed", changed, dtype=pl.Int64))


def test_changed_columns_new_rows_and_the_columns_always_written(engine):
    stored = [(D, "CNY", "current", 1, 1, 100, 110), (D, "CNY", "dpd_1_30", 2, 2, 200, 220),
              (D, "CNY", "dpd_31_60", 3, 3, 300, 330), (D, "USD", "current", 4, 4, 400, 440)]
    with engine.begin() as conn:
        insert_frame(conn, t.quiet_stocks, _frame(stored, [0] * 4).drop("changed"))
    # Compared: members (bit 0) and loans (bit 1); the outstanding amounts are written with any change.
    compared = ["members", "loans"]
    writes = _frame([
        (D, "CNY", "current", 9, 1, 101, 111),       # members changed
        (D, "CNY", "dpd_1_30", 2, 8, 201, 221),      # loans changed
        (D, "CNY", "dpd_31_60", 7, 6, 301, 331),     # both
        (D, "USD", "dpd_1_30", 5, 5, 500, 550),      # not stored: inserted
        (D, "USD", "current", 40, 41, 402, 442),     # stored, but not known to be: replaced whole
    ], [1, 2, 3, None, None])
    with engine.begin() as conn:
        assert write_changed(conn, t.quiet_stocks, writes, compared) == 5
    with engine.connect() as conn:
        assert _rows(conn) == {
            (D, "CNY", "current"): (9, 1, 101, 111),
            (D, "CNY", "dpd_1_30"): (2, 8, 201, 221),
            (D, "CNY", "dpd_31_60"): (7, 6, 301, 331),
            (D, "USD", "current"): (40, 41, 402, 442),
            (D, "USD", "dpd_1_30"): (5, 5, 500, 550),
        }


def test_sqlite_writes_only_the_flagged_columns(tmp_path):
    # What makes it cheaper on SQLite: a column not flagged (and not always written) is not bound,
    # so a value there that differs from the stored one (which the caller never passes) is not written.
    from arrears.store.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        insert_frame(conn, t.quiet_stocks, _frame([(D, "CNY", "current", 1, 1, 100, 110)], [0]).drop("changed"))
    with engine.begin() as conn:
        write_changed(conn, t.quiet_stocks, _frame([(D, "CNY", "current", 9, 9, 999, 999)], [1]),
                      ["members", "loans", "principal_outstanding", "total_outstanding"])
    with engine.connect() as conn:
        assert _rows(conn) == {(D, "CNY", "current"): (9, 1, 100, 110)}
    engine.dispose()
