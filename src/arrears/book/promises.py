"""Promises to pay: kept or broken, decided from the payments.

A promise made on day M (the contact's local date) to pay A by day P is *kept* on the first day by
which the payments on its loan dated M..P add up to A (partial payments count), and *broken* on
P + 1 if they never did. It is *open* until then. Several promises on one loan each count the same
payments: a promise is about the borrower's word, not a second claim on the money.

A pure function of the promise, the payments that count (``book.payments.effective``) and the day,
so the close records it and the account view recomputes it for any ``--as-of``, and a backdated
payment or a reversal changes the outcome the next time it is asked.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

PROMISES = pl.Schema(
    {
        "promise_id": pl.String,
        "loan_id": pl.String,
        "amount": pl.Int64,
        "made_on": pl.Date,
        "promise_date": pl.Date,
    }
)

OUTCOMES = pl.Schema(
    {"promise_id": pl.String, "status": pl.String, "decided_on": pl.Date, "paid_toward": pl.Int64}
)


def decide(promises: pl.DataFrame, payments: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Each promise's status at the end of ``day``: open, kept or broken, with the day it was decided."""
    if promises.is_empty():
        return pl.DataFrame(schema=OUTCOMES)
    counts = (
        pl.col("paid_on").is_not_null() & (pl.col("paid_on") >= pl.col("made_on"))
        & (pl.col("paid_on") <= pl.col("promise_date")) & (pl.col("paid_on") <= day)
    )
    counted = (
        promises.join(payments.select("loan_id", "amount", "paid_on").rename({"amount": "paid"}),
                      on="loan_id", how="left")
        # A payment outside the promise's window counts for nothing, but the promise stays.
        .with_columns(pl.when(counts).then(pl.col("paid")).otherwise(0).alias("paid"),
                      pl.when(counts).then(pl.col("paid_on")).otherwise(None).alias("paid_on"))
        .sort("promise_id", "paid_on", nulls_last=False)
        .with_columns(pl.col("paid").cum_sum().over("promise_id").alias("running"))
    )
    per = counted.group_by("promise_id", maintain_order=True).agg(
        pl.col("amount").first(),
        pl.col("promise_date").first(),
        pl.col("running").max().fill_null(0).alias("paid_toward"),
        pl.col("paid_on").filter(pl.col("running") >= pl.col("amount")).min().alias("kept_on"),
    )
    out = per.with_columns(
        pl.when(pl.col("kept_on").is_not_null()).then(pl.lit("kept"))
        .when(pl.col("promise_date") < day).then(pl.lit("broken"))
        .otherwise(pl.lit("open")).alias("status"),
        pl.when(pl.col("kept_on").is_not_null()).then(pl.col("kept_on"))
        .when(pl.col("promise_date") < day).then(pl.col("promise_date") + pl.duration(days=1))
        .otherwise(None).alias("decided_on"),
    )
    return out.select(OUTCOMES.names()).cast(dict(OUTCOMES))
