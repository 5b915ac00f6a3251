"""Payments as facts: which of them count.

A reversal (``reverses`` = an earlier payment_id) takes the original out of the book as of the
original's value date: the account is re-derived as if that money had never arrived, so a
reversal of a payment that had cured a loan makes it delinquent again with its old dofd. The
reversal row itself moves no money.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.state import PAYMENTS


def effective(payments: pl.DataFrame, known_at: dt.datetime | None = None) -> pl.DataFrame:
    """Payments that count: not reversals, not reversed; with ``known_at``, only facts recorded
    before it (the ``recorded_at`` column) are considered."""
    p = payments
    if known_at is not None and "recorded_at" in p.columns:
        p = p.filter(pl.col("recorded_at") < known_at)
    if "reverses" not in p.columns:
        return p.select(PAYMENTS.names())
    reversed_ids = p.filter(pl.col("reverses").is_not_null())["reverses"]
    return p.filter(pl.col("reverses").is_null() & ~pl.col("payment_id").is_in(reversed_ids.implode())).select(
        PAYMENTS.names()
    )
