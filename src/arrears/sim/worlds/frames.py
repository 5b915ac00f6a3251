"""The frames a world hands back, in INTERFACE.md's file schemas: money as decimal text, dates as
Date, timestamps as ISO 8601 text with an offset. Empty frames keep their columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from arrears.sim.worlds.population import minor_text

PAYMENTS = pl.Schema({
    "payment_id": pl.String, "loan_id": pl.String, "amount": pl.String, "currency": pl.String,
    "paid_on": pl.Date, "method": pl.String,
})
CONTACTS = pl.Schema({
    "event_id": pl.String, "borrower_id": pl.String, "loan_id": pl.String, "loan_ids": pl.String,
    "action_id": pl.String, "channel": pl.String, "direction": pl.String, "at": pl.String,
    "party": pl.String, "address": pl.String, "outcome": pl.String, "written": pl.String,
    "promise_amount": pl.String, "promise_date": pl.Date, "hours_from": pl.String,
    "hours_to": pl.String, "recording_ref": pl.String,
})
ADJUSTMENTS = pl.Schema({
    "adjustment_id": pl.String, "loan_id": pl.String, "type": pl.String, "effective_on": pl.Date,
    "amount": pl.String, "currency": pl.String, "params": pl.String,
})
AGENDA = pl.Schema({"day": pl.Int64, "loan": pl.Int64, "amount": pl.Int64, "kind": pl.Int8})
PROMISE, SETTLEMENT, PLAN = 0, 1, 2


def empty_agenda() -> pl.DataFrame:
    return pl.DataFrame(schema=AGENDA)


def agenda(days: np.ndarray, loans: np.ndarray, amounts: np.ndarray, kind: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"day": days, "loan": loans, "amount": amounts, "kind": np.full(days.shape[0], kind)},
        schema=AGENDA,
    )


def payments_frame(
    prefix: str, day: dt.date, loan_ids: pl.Series, amounts: np.ndarray, currency: str, methods: np.ndarray
) -> pl.DataFrame:
    stamp = day.strftime("%Y%m%d")
    return pl.DataFrame({
        "payment_id": (f"{prefix}-P{stamp}-" + loan_ids).alias("payment_id"),
        "loan_id": loan_ids,
        "amount": minor_text(amounts),
        "currency": pl.Series([currency] * len(loan_ids), dtype=pl.String),
        "paid_on": pl.Series([day] * len(loan_ids), dtype=pl.Date),
        "method": pl.Series(list(methods), dtype=pl.String),
    }, schema=PAYMENTS)


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The frame with exactly the schema's columns (missing ones null), in its order."""
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()
    )


def concat_sorted(frames: list[pl.DataFrame], key: str, schema: pl.Schema) -> pl.DataFrame:
    parts = [conform(f, schema) for f in frames if f.height]
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).sort(key)
