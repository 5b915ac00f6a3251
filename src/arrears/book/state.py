"""The book's state: one row per loan and one row per instalment, as of the end of a business day.

``state(D) = step(state(D-1), events(D))``. Every column is defined here once; the step checks
its output against these schemas so that drift fails loudly.

Units: money in integer minor units, except the running accruals kept in micro-units (10^-6 of a
minor unit, ``*_micro``) so that small daily penalties are not lost to rounding; they are rounded
half-up only when posted or viewed, cumulatively.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

LOAN_STATE = pl.Schema(
    {
        "loan_id": pl.String,
        "as_of": pl.Date,
        "status": pl.String,
        "credit": pl.Int64,
        "penalty_micro": pl.Int64,  # accrued after the cap, cumulative
        "penalty_paid": pl.Int64,
        "penalty_waived": pl.Int64,
        "fees_micro": pl.Int64,  # charged after the cap, cumulative
        "fees_gross": pl.Int64,  # charged before the cap (max_total counts fees_micro: what was charged)
        "fees_paid": pl.Int64,
        "fees_waived": pl.Int64,
        "capped_micro": pl.Int64,  # everything the cap removed: never receivable
        "interest_capped_micro": pl.Int64,  # the contractual-interest part of capped_micro
        "interest_capped_posted": pl.Int64,  # of which already taken off due instalments
        "dpd": pl.Int64,
        "dofd": pl.Date,
        "bucket": pl.String,
        "bucket_since": pl.Date,
        "charged_off_on": pl.Date,
        "closed_on": pl.Date,
        "recovered": pl.Int64,
        "written_off": pl.Int64,
        "principal_prepaid": pl.Int64,  # prepaid principal taken off the schedule, which was rebuilt
        "interest_frozen_micro": pl.Int64,  # contractual interest of days under an accrual freeze
        "interest_frozen_posted": pl.Int64,  # of which already waived off due instalments
        "settlement_amount": pl.Int64,  # an agreed settlement in force (null: none)
        "settlement_pay_by": pl.Date,
        "settlement_paid": pl.Int64,  # paid since the settlement was agreed
        "forgiven": pl.Int64,  # what settlements forgave (a concession, not a write-off)
        "restructured_on": pl.Date,
        "probation_until": pl.Date,
        "pre_restructure_bucket": pl.String,
    }
)

INSTALMENT_STATE = pl.Schema(
    {
        "loan_id": pl.String,
        "n": pl.Int32,
        "period_start": pl.Date,  # the previous contractual due date, or disbursement
        "due_on": pl.Date,
        "adjusted_due_on": pl.Date,
        "principal": pl.Int64,
        "interest": pl.Int64,
        "interest_capped": pl.Int64,
        "paid_principal": pl.Int64,
        "paid_interest": pl.Int64,
        "waived_principal": pl.Int64,
        "waived_interest": pl.Int64,
        "late_fees": pl.Int64,  # how many late fees this instalment has drawn
    }
)

PAYMENTS = pl.Schema(
    {
        "payment_id": pl.String,
        "loan_id": pl.String,
        "amount": pl.Int64,
        "paid_on": pl.Date,
    }
)

ALLOCATIONS = pl.Schema(
    {
        "loan_id": pl.String,
        "day": pl.Date,
        "source": pl.String,  # a payment_id, or "credit" for money held from earlier days
        "component": pl.String,  # penalty, fees, interest, principal, credit
        "n": pl.Int32,  # the instalment, 0 for loan-level components
        "amount": pl.Int64,
        "recovery": pl.Boolean,  # received after charge-off
    }
)

TRANSITIONS = pl.Schema(
    {"loan_id": pl.String, "day": pl.Date, "from_bucket": pl.String, "to_bucket": pl.String}
)

MOVEMENTS = pl.Schema(
    {
        "loan_id": pl.String,
        "day": pl.Date,
        "penalty_micro": pl.Int64,
        "fees_micro": pl.Int64,
        "capped_micro": pl.Int64,
        "collected": pl.Int64,
        "written_off": pl.Int64,
        "charged_off": pl.Boolean,
    }
)

OPEN = ("pending", "current", "delinquent", "charged_off", "in_plan", "restructured")
CLOSED = ("paid_off", "settled", "written_off")


def check(frame: pl.DataFrame, schema: pl.Schema, what: str) -> pl.DataFrame:
    """Fail loudly when a step's output drifts from its schema."""
    if frame.schema != schema:
        raise TypeError(f"{what}: schema drift\n expected {dict(schema)}\n got      {dict(frame.schema)}")
    return frame


def initial_state(terms: pl.DataFrame, schedule: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The state at the end of the day before disbursement: pending, nothing owed yet."""
    zero = pl.lit(0, pl.Int64)
    loans = terms.select(
        "loan_id",
        (pl.col("disbursed_on") - pl.duration(days=1)).alias("as_of"),
        pl.lit("pending").alias("status"),
        *[zero.alias(c) for c in (
            "credit", "penalty_micro", "penalty_paid", "penalty_waived", "fees_micro", "fees_gross",
            "fees_paid", "fees_waived", "capped_micro", "interest_capped_micro",
            "interest_capped_posted", "dpd",
        )],
        pl.lit(None, pl.Date).alias("dofd"),
        pl.lit("current").alias("bucket"),
        pl.col("disbursed_on").alias("bucket_since"),
        pl.lit(None, pl.Date).alias("charged_off_on"),
        pl.lit(None, pl.Date).alias("closed_on"),
        zero.alias("recovered"),
        zero.alias("written_off"),
        zero.alias("principal_prepaid"),
        zero.alias("interest_frozen_micro"),
        zero.alias("interest_frozen_posted"),
        pl.lit(None, pl.Int64).alias("settlement_amount"),
        pl.lit(None, pl.Date).alias("settlement_pay_by"),
        zero.alias("settlement_paid"),
        zero.alias("forgiven"),
        pl.lit(None, pl.Date).alias("restructured_on"),
        pl.lit(None, pl.Date).alias("probation_until"),
        pl.lit(None, pl.String).alias("pre_restructure_bucket"),
    )
    inst = (
        schedule.join(terms.select("loan_id", "disbursed_on"), on="loan_id")
        .sort("loan_id", "n")
        .with_columns(
            pl.col("due_on").shift(1).over("loan_id").fill_null(pl.col("disbursed_on")).alias("period_start")
        )
        .select(
            "loan_id", pl.col("n").cast(pl.Int32), "period_start", "due_on", "adjusted_due_on",
            pl.col("principal").cast(pl.Int64), pl.col("interest").cast(pl.Int64),
            *[zero.alias(c) for c in (
                "interest_capped", "paid_principal", "paid_interest", "waived_principal",
                "waived_interest", "late_fees",
            )],
        )
    )
    return check(loans.cast(dict(LOAN_STATE)), LOAN_STATE, "loans"), check(
        inst.cast(dict(INSTALMENT_STATE)), INSTALMENT_STATE, "instalments"
    )


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def day_lit(day: dt.date) -> pl.Expr:
    return pl.lit(day, pl.Date)
