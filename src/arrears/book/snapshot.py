"""The day's portfolio snapshot: what the book holds and what moved, per currency and bucket.

Computed after the step from its outputs (the state and the day's movements), never inside it: the
step stays free of portfolio-wide aggregates, so it can run per borrower partition. Stocks (loans,
principal, total owed) count open loans in their end-of-day bucket; flows (collected, accrued,
capped, written off, charged off) are attributed to the bucket the loan ends the day in. Amounts
are never summed across currencies.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.balances import MICRO, balances
from arrears.book.frames import ENGINE
from arrears.book.keys import LoanKeys

SNAPSHOT = pl.Schema(
    {
        "day": pl.Date,
        "currency": pl.String,
        "bucket": pl.String,
        "loans": pl.Int64,
        "principal_outstanding": pl.Int64,
        "total_outstanding": pl.Int64,
        "collected": pl.Int64,
        "penalty_accrued": pl.Int64,
        "fees_charged": pl.Int64,
        "capped": pl.Int64,
        "written_off": pl.Int64,
        "charged_off": pl.Int64,
    }
)

OPEN = ("current", "delinquent", "charged_off", "in_plan", "restructured")


def portfolio_snapshot(
    loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, movements: pl.DataFrame, day: dt.date,
    quiet: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The snapshot of ``day`` for the loans in ``loans`` and, when given, the quiet loans the close
    did not step because nothing of theirs could change (``book.quiet``): ``quiet`` holds their
    stocks per currency and bucket (``quiet.QUIET_TOTALS``' columns but ``day``); their movements
    are nothing."""
    # On integer keys, as the step and the watch run (``keys.py``): the instalments' sums are slices
    # and the terms' currency is set beside its loan rather than joined on strings. Nothing keyed
    # leaves: the snapshot has no ``loan_id``.
    moved = movements.drop("day")
    keys = LoanKeys.of(loans)
    keyed = keys.encode(loans, inst, terms) if keys is not None and _beside(moved, loans) else None
    if keyed is not None:
        moved = moved.with_columns(keyed[0]["loan_id"])
        loans, inst, terms = keyed
    bal = balances(loans, inst, day).select("loan_id", "principal_outstanding", "total_outstanding")
    currency = terms.select("loan_id", "currency")
    # Lazy, collected once: a day's frames are small, each eager operation's fixed cost is what counts.
    per_loan = loans.lazy().select("loan_id", "status", "bucket")
    for other, how in ((bal, "left"), (moved, "left"), (currency, "inner")):
        if _beside(other, loans):
            # The same loans in the same order (``balances`` and the step's movements keep their
            # input's; the close's terms come in the book's): side by side, without hashing every
            # id again in a join.
            per_loan = pl.concat([per_loan, other.lazy().drop("loan_id")], how="horizontal")
        else:
            per_loan = per_loan.join(other.lazy(), on="loan_id", how=how)
    per_loan = per_loan.with_columns(pl.col("status").is_in(OPEN).alias("open"))
    # Flows in micro-units are summed first and rounded once, as the accruals themselves are.
    micro = lambda c: ((pl.col(c).fill_null(0).sum() + MICRO // 2) // MICRO)  # noqa: E731
    out = per_loan.group_by("currency", "bucket").agg(
        pl.col("open").sum().cast(pl.Int64).alias("loans"),
        pl.col("principal_outstanding").filter(pl.col("open")).sum().alias("principal_outstanding"),
        pl.col("total_outstanding").filter(pl.col("open")).sum().alias("total_outstanding"),
        pl.col("collected").fill_null(0).sum().alias("collected"),
        micro("penalty_micro").alias("penalty_accrued"),
        micro("fees_micro").alias("fees_charged"),
        micro("capped_micro").alias("capped"),
        pl.col("written_off").fill_null(0).sum().alias("written_off"),
        pl.col("charged_off").fill_null(False).sum().cast(pl.Int64).alias("charged_off"),
    ).cast({"loans": pl.Int64, "principal_outstanding": pl.Int64, "total_outstanding": pl.Int64})
    if quiet is not None and not quiet.is_empty():
        stocks = ("loans", "principal_outstanding", "total_outstanding")
        q = quiet.lazy().filter(pl.col("members") > 0).select("currency", "bucket", *[pl.col(c).alias(f"q_{c}") for c in stocks])
        out = (
            out.join(q, on=["currency", "bucket"], how="full", coalesce=True)
            .with_columns(
                *[(pl.col(c).fill_null(0) + pl.col(f"q_{c}").fill_null(0)).alias(c) for c in stocks],
                *[pl.col(c).fill_null(0) for c in ("collected", "penalty_accrued", "fees_charged", "capped",
                                                   "written_off", "charged_off")],
            )
            .drop([f"q_{c}" for c in stocks])
        )
    return (
        out.with_columns(pl.lit(day, pl.Date).alias("day"))
        .select(SNAPSHOT.names())
        .cast(dict(SNAPSHOT))
        .sort("currency", "bucket")
        .collect(engine=ENGINE)
    )


def _beside(other: pl.DataFrame, loans: pl.DataFrame) -> bool:
    """Whether ``other`` holds one row for each of ``loans``', in their order."""
    return other.height == loans.height and other["loan_id"].equals(loans["loan_id"])
