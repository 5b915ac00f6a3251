"""What is owed: per-instalment unpaid amounts and the per-loan balances INTERFACE.md defines.

Used by the step (allocation, payoff, ageing) and by the account view: one definition.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.frames import ENGINE

MICRO = 1_000_000


def round_micro(expr: pl.Expr) -> pl.Expr:
    """Micro-units to minor units, half-up (amounts here are never negative)."""
    return (expr + MICRO // 2) // MICRO


def unpaid_principal() -> pl.Expr:
    return pl.col("principal") - pl.col("paid_principal") - pl.col("waived_principal")


def unpaid_interest() -> pl.Expr:
    return pl.col("interest") - pl.col("interest_capped") - pl.col("paid_interest") - pl.col("waived_interest")


def with_dues(inst: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Instalments with ``is_due`` (contractual due date reached) and their unpaid amounts."""
    return inst.with_columns(
        (pl.col("due_on") <= day).alias("is_due"),
        unpaid_principal().alias("unpaid_principal"),
        unpaid_interest().alias("unpaid_interest"),
    )


def stop_interest(inst: pl.DataFrame, loans: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """For ``loans`` (a frame with loan_id), the interest of instalments not yet due on ``day`` is
    never charged: each keeps only what was already paid, waived or capped. Used when a loan is paid
    off, settled, written off or charged off."""
    if loans.is_empty():
        return inst
    # A membership test, not a join: few loans stop on a day, and a join would hash every instalment.
    stop = pl.col("loan_id").is_in(loans["loan_id"].implode())
    return (
        inst.lazy()
        .with_columns(
            pl.when(stop & (pl.col("due_on") > day))
            .then(pl.col("interest_capped") + pl.col("paid_interest") + pl.col("waived_interest"))
            .otherwise(pl.col("interest"))
            .alias("interest")
        )
        .collect(engine=ENGINE)
    )


def penalty_outstanding() -> pl.Expr:
    return round_micro(pl.col("penalty_micro")) - pl.col("penalty_paid") - pl.col("penalty_waived")


def fees_outstanding() -> pl.Expr:
    return round_micro(pl.col("fees_micro")) - pl.col("fees_paid") - pl.col("fees_waived")


def accrued_interest(inst: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Interest earned in the current period and not yet due: pro rata by days, half-up, less what
    has already been paid or waived on that instalment (a payoff or a prepayment pays it early).

    Returns ``loan_id, current_n, accrued_gross`` for loans inside a period on ``day``: one row a
    loan. An instalment with no interest left unpaid earns nothing more, and leaving it out keeps
    a restructure's closed-out instalment from counting as a second running period beside the new
    schedule's first.
    """
    running = (pl.col("period_start") < day) & (pl.col("due_on") > day) & (unpaid_interest() > 0)
    return inst.filter(running).select(
        "loan_id",
        pl.col("n").alias("current_n"),
        accrued_gross(pl.lit(day, pl.Date), pl.col("paid_interest") + pl.col("waived_interest")).alias("accrued_gross"),
    )


def accrued_gross(day: pl.Expr, less: pl.Expr) -> pl.Expr:
    """The current instalment's interest pro rata to ``day`` (an expression, so the close can value
    one instalment on many days), half-up, less ``less`` (what was paid or waived on it)."""
    length = (pl.col("due_on") - pl.col("period_start")).dt.total_days()
    elapsed = (day - pl.col("period_start")).dt.total_days()
    return ((2 * pl.col("interest") * elapsed + length) // (2 * length) - less).clip(0)


# Interest stops at charge-off and after closure.
NOT_ACCRUING_INTEREST = ("charged_off", "paid_off", "settled", "written_off", "pending")


def interest_held() -> pl.Expr:
    """Capped and frozen interest not yet taken off an instalment: it comes off what has accrued."""
    return ((round_micro(pl.col("interest_capped_micro")) - pl.col("interest_capped_posted"))
            + (round_micro(pl.col("interest_frozen_micro")) - pl.col("interest_frozen_posted")))


def accrued_net(gross: pl.Expr, held: pl.Expr) -> pl.Expr:
    return pl.when(pl.col("status").is_in(NOT_ACCRUING_INTEREST)).then(0).otherwise((gross.fill_null(0) - held).clip(0))


BALANCE_COLUMNS = (
    "principal_outstanding", "interest_due", "accrued_interest", "penalty", "fees", "overdue",
    "total_outstanding", "payoff_amount", "credit",
)


def balances(loans: pl.DataFrame, inst: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Per loan: the balances of INTERFACE.md's account view, in minor units.

    ``total_outstanding`` and ``payoff_amount`` never include future interest: only interest on
    instalments already due and interest accrued to ``day`` in the current period.
    """
    # Lazy, collected once: at the close's daily sizes each eager operation's fixed cost outweighs its work.
    d = with_dues(inst.lazy(), day)
    per_loan = d.group_by("loan_id").agg(
        pl.col("unpaid_principal").sum().alias("principal_outstanding"),
        pl.col("unpaid_interest").filter(pl.col("is_due")).sum().alias("interest_due"),
        (pl.col("unpaid_principal") + pl.col("unpaid_interest"))
        .filter(pl.col("adjusted_due_on") < day).sum().alias("past_due"),
    )
    acc = accrued_interest(inst.lazy(), day)
    out = (
        loans.lazy().join(per_loan, on="loan_id", how="left")
        .join(acc, on="loan_id", how="left")
        .with_columns(
            accrued_net(pl.col("accrued_gross"), interest_held()).alias("accrued_interest"),
            penalty_outstanding().alias("penalty"),
            fees_outstanding().alias("fees"),
        )
        .with_columns(
            pl.col("principal_outstanding").fill_null(0),
            pl.col("interest_due").fill_null(0),
            (pl.col("past_due").fill_null(0) + pl.col("penalty") + pl.col("fees")).alias("overdue"),
        )
        .with_columns(
            (pl.col("principal_outstanding") + pl.col("interest_due") + pl.col("accrued_interest")
             + pl.col("penalty") + pl.col("fees")).alias("total_outstanding"),
        )
        .with_columns((pl.col("total_outstanding") - pl.col("credit")).clip(0).alias("payoff_amount"))
    )
    return out.select("loan_id", "current_n", *BALANCE_COLUMNS).collect(engine=ENGINE)
