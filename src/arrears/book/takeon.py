"""Take-on: a loan adopted mid-life from another system starts from the balances it arrives with.

The contractual schedule is rebuilt from the loan's terms. The take-on columns then say what was
still owed on ``takeon_date``; only events after that date are replayed. How the given balances
are laid onto the schedule, and why:
- instalments due before ``takeon_oldest_unpaid_due_on`` are paid (the other system said so);
- principal: the instalments from the oldest unpaid on hold ``takeon_principal_outstanding``. A
  difference from the schedule is taken from (or added to) the *last* instalments, as a
  prepayment would be, so that the arrears, and with them dpd, stay exactly as stated;
- interest due: spread over the unpaid instalments already due, oldest first; what exceeds their
  scheduled interest stays on the oldest;
- penalty and fees arrive as loan balances; dofd is taken as given (empty: derived as for any loan);
- credit (money the other system received and had not applied) is held, and spent by the next
  step as any held credit is: on what is due, oldest first;
- dpd, bucket and status then follow from the same ageing rule as every other loan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from arrears.book.ageing import age
from arrears.book.balances import MICRO
from arrears.book.state import INSTALMENT_STATE, LOAN_STATE, check, initial_state

TAKEON_COLUMNS = (
    "takeon_date", "takeon_principal_outstanding", "takeon_interest_due", "takeon_penalty_due",
    "takeon_fees_due", "takeon_oldest_unpaid_due_on", "takeon_dofd", "takeon_credit",
)


def takeon_state(
    terms: pl.DataFrame, schedule: pl.DataFrame, schemes: Mapping[str, tuple[int, ...]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The state at the end of ``takeon_date`` for take-on loans that share that date."""
    days = terms["takeon_date"].unique().to_list()
    if len(days) != 1:
        raise ValueError("take-on loans are built one take-on date at a time")
    day: dt.date = days[0]
    loans, inst = initial_state(terms, schedule)
    t = terms.select(
        "loan_id", "takeon_principal_outstanding", "takeon_interest_due", "takeon_penalty_due",
        "takeon_fees_due", "takeon_oldest_unpaid_due_on", "takeon_dofd", "takeon_credit",
    )
    i = inst.join(t, on="loan_id").sort("loan_id", "n")
    oldest = pl.coalesce("takeon_oldest_unpaid_due_on", pl.lit(day + dt.timedelta(days=1), pl.Date))
    settled_before = pl.col("adjusted_due_on") < oldest
    i = i.with_columns(settled_before.alias("_paid"))
    # Principal still owed per the schedule, and the gap to what the other system says.
    i = i.with_columns(
        pl.col("principal").filter(~pl.col("_paid")).sum().over("loan_id").alias("_sched_out"),
    ).with_columns((pl.col("_sched_out") - pl.col("takeon_principal_outstanding")).alias("_gap"))
    # Take a positive gap off the last instalments (as a prepayment would), a negative one onto the last.
    i = i.with_columns(
        pl.when(pl.col("_paid")).then(None).otherwise(
            pl.col("principal").reverse().cum_sum().reverse().over("loan_id")
        ).alias("_from_here"),
        (pl.col("n") == pl.col("n").max().over("loan_id")).alias("_last"),
    )
    i = i.with_columns(
        pl.when(pl.col("_paid")).then(pl.col("principal"))
        .when(pl.col("_gap") > 0)
        # Paid from the back: this instalment's share of the gap lies in (from_here - principal, from_here].
        .then(pl.min_horizontal(pl.col("principal"),
                                (pl.col("_gap") - (pl.col("_from_here") - pl.col("principal"))).clip(0)))
        .otherwise(0).alias("paid_principal"),
        pl.when(pl.col("_last") & (pl.col("_gap") < 0)).then(pl.col("principal") - pl.col("_gap"))
        .otherwise(pl.col("principal")).alias("principal"),
    )
    # Interest due at take-on, over the unpaid instalments already due, oldest first.
    due_unpaid = ~pl.col("_paid") & (pl.col("due_on") <= day)
    i = i.with_columns(
        pl.when(due_unpaid).then(pl.col("interest")).otherwise(0).cum_sum().over("loan_id").alias("_cum_int"),
        pl.when(due_unpaid).then(pl.col("n")).otherwise(None).min().over("loan_id").alias("_first_due_unpaid"),
    ).with_columns(
        # unpaid interest of this instalment = its share of takeon_interest_due, oldest first
        pl.when(due_unpaid).then(
            pl.min_horizontal(pl.col("interest"),
                              (pl.col("takeon_interest_due") - (pl.col("_cum_int") - pl.col("interest"))).clip(0))
        ).otherwise(0).alias("_unpaid_int"),
    ).with_columns(
        pl.when(due_unpaid).then(
            pl.col("_unpaid_int").sum().over("loan_id")
        ).otherwise(None).alias("_spread"),
    ).with_columns(
        # any interest due beyond the scheduled amounts stays on the oldest unpaid instalment
        pl.when(due_unpaid & (pl.col("n") == pl.col("_first_due_unpaid")))
        .then(pl.col("interest") + (pl.col("takeon_interest_due") - pl.col("_spread")).clip(0))
        .otherwise(pl.col("interest")).alias("interest"),
    ).with_columns(
        pl.when(pl.col("_paid")).then(pl.col("interest"))
        .when(due_unpaid).then(pl.col("interest") - pl.col("_unpaid_int")
                               - pl.when(pl.col("n") == pl.col("_first_due_unpaid"))
                               .then((pl.col("takeon_interest_due") - pl.col("_spread")).clip(0)).otherwise(0))
        .otherwise(0).alias("paid_interest"),
    )
    inst = check(i.select(INSTALMENT_STATE.names()).cast(dict(INSTALMENT_STATE)), INSTALMENT_STATE, "instalments")
    loans = (
        loans.join(t, on="loan_id")
        .with_columns(
            pl.lit(day, pl.Date).alias("as_of"),
            pl.lit("current").alias("status"),
            (pl.col("takeon_penalty_due").cast(pl.Int64) * MICRO).alias("penalty_micro"),
            (pl.col("takeon_fees_due").cast(pl.Int64) * MICRO).alias("fees_micro"),
            pl.col("takeon_fees_due").alias("fees_gross"),
            pl.col("takeon_dofd").alias("dofd"),
            pl.col("takeon_credit").fill_null(0).alias("credit"),
        )
        .select(LOAN_STATE.names())
    )
    loans, inst, _ = age(loans, inst, terms, day, schemes)
    return check(loans.cast(dict(LOAN_STATE)), LOAN_STATE, "loans"), inst
