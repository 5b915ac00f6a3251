"""What is owed: per-instalment unpaid amounts and the per-loan balances INTERFACE.md defines.

Used by the step (allocation, payoff, ageing) and by the account view: one definition.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.frames import ENGINE
from arrears.book.keys import KEY
from arrears.book.keys import per_loan as per_loan_of

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
    # A membership test, not a join: few loans stop on a day, and a join would hash every instalment;
    # only their instalments are recomputed, in place.
    at = inst["loan_id"].is_in(loans["loan_id"].implode()).arg_true()
    interest = inst[at].select(
        pl.when(pl.col("due_on") > day)
        .then(pl.col("interest_capped") + pl.col("paid_interest") + pl.col("waived_interest"))
        .otherwise(pl.col("interest"))
        .alias("interest")
    ).to_series()
    # A clone: ``scatter`` writes in place, and the caller's frame must not change.
    return inst.with_columns(inst["interest"].clone().scatter(at, interest))


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
        accrued_gross(pl.lit(day, pl.Date), interest_settled()).alias("accrued_gross"),
    )


def interest_settled() -> pl.Expr:
    """What of an instalment's interest is no longer to accrue: paid, waived, or taken off by the cap
    (``post_held_interest`` can take the cap's off a running period before its due date)."""
    return pl.col("paid_interest") + pl.col("waived_interest") + pl.col("interest_capped")


def post_held_interest(
    loans: pl.DataFrame, inst: pl.DataFrame, ids: pl.DataFrame, day: dt.date, *, frozen: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Take the interest the cap (and, with ``frozen``, an accrual freeze) held back in the running
    period of ``ids`` off its instalment now, as ``step._post`` would at the due date. Used when the
    period's earned interest is paid early, moved or ended before then (a prepayment, a restructure,
    a charge-off): capped interest is never receivable, so it must not be paid, capitalised or
    carried, nor be taken later off the interest still to accrue.

    Returns loans, inst, and per loan its running ``n``, ``accrued_gross`` before posting, and what
    was posted: ``_pc`` (cap, into ``interest_capped``), ``_pf`` (freeze, into ``waived_interest``)."""
    ids = ids.select("loan_id").unique()
    held = loans.join(ids, on="loan_id").select(
        "loan_id",
        (round_micro(pl.col("interest_capped_micro")) - pl.col("interest_capped_posted")).clip(0).alias("_hc"),
        ((round_micro(pl.col("interest_frozen_micro")) - pl.col("interest_frozen_posted")).clip(0) if frozen
         else pl.lit(0, pl.Int64)).alias("_hf"),
    )
    # Only the instalments of ``ids`` change (few loans prepay or charge off on a day): found by a
    # membership test and changed in place, rather than by joins over every instalment.
    at = inst["loan_id"].is_in(ids["loan_id"].implode()).arg_true()
    own = inst[at]
    run = (
        accrued_interest(own, day)
        .join(held, on="loan_id")
        .with_columns(pl.min_horizontal("_hc", "accrued_gross").alias("_pc"))
        .with_columns(pl.min_horizontal("_hf", pl.col("accrued_gross") - pl.col("_pc")).alias("_pf"))
        .select("loan_id", pl.col("current_n").alias("n"), "accrued_gross", "_pc", "_pf")
    )
    if not run.is_empty():
        own = own.lazy().join(run.lazy().select("loan_id", "n", "_pc", "_pf"), on=["loan_id", "n"], how="left",
                              maintain_order="left").select(
            (pl.col("interest_capped") + pl.col("_pc").fill_null(0)).alias("interest_capped"),
            (pl.col("waived_interest") + pl.col("_pf").fill_null(0)).alias("waived_interest"),
        ).collect(engine=ENGINE)
        inst = inst.with_columns(inst[c].clone().scatter(at, own[c]) for c in ("interest_capped", "waived_interest"))
    per_loan = run.group_by("loan_id").agg(pl.col("_pc").sum(), pl.col("_pf").sum())
    loans = loans.join(per_loan, on="loan_id", how="left").with_columns(
        (pl.col("interest_capped_posted") + pl.col("_pc").fill_null(0)).alias("interest_capped_posted"),
        (pl.col("interest_frozen_posted") + pl.col("_pf").fill_null(0)).alias("interest_frozen_posted"),
    ).select(loans.columns)
    return loans, inst, run


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
    at = _positions(loans, inst)
    if at is None:
        return _balances(loans, inst, day)
    # On the loans' row positions, the per-loan sums are slices of the instalments and the joins
    # skip hashing: the snapshot's call on string ids costs a third of the same query on them.
    own, of_inst = at
    out = _balances(loans.with_columns(own.alias("loan_id")), inst.with_columns(of_inst.alias("loan_id")), day)
    return out.with_columns(loans["loan_id"].gather(out["loan_id"]))


def _positions(loans: pl.DataFrame, inst: pl.DataFrame) -> tuple[pl.Series, pl.Series] | None:
    """Each loan's row position, and each instalment's loan's, when the instalments come loan by
    loan in the loans' order (the step's and the close's do; a loan may have none), and the ids are
    unique; else None."""
    ids, of = loans["loan_id"], inst["loan_id"]
    if ids.dtype == KEY and ids.flags["SORTED_ASC"] and of.flags["SORTED_ASC"]:
        return None  # the step's keys: already positions in all but name, sorted and flagged so
    if inst.is_empty() or ids.null_count() or of.null_count() or ids.n_unique() != ids.len():
        return None
    first = (of != of.shift(1)).fill_null(True)
    heads = of.filter(first)
    run = first.cum_sum().cast(pl.Int64) - 1
    own = pl.int_range(ids.len(), dtype=KEY, eager=True).set_sorted()
    if heads.equals(ids, check_names=False):
        return own, run.cast(KEY).set_sorted()
    has = ids.is_in(heads.implode())
    if not ids.filter(has).equals(heads, check_names=False):
        return None
    return own, has.arg_true().cast(KEY).gather(run).set_sorted()


def _balances(loans: pl.DataFrame, inst: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    # Lazy, collected once: at the close's daily sizes each eager operation's fixed cost outweighs its work.
    rows = with_dues(inst.lazy(), day).select(
        "loan_id",
        pl.col("unpaid_principal").alias("principal_outstanding"),
        pl.when(pl.col("is_due")).then(pl.col("unpaid_interest")).otherwise(0).alias("interest_due"),
        pl.when(pl.col("adjusted_due_on") < day).then(pl.col("unpaid_principal") + pl.col("unpaid_interest"))
        .otherwise(0).alias("past_due"),
    ).collect(engine=ENGINE)
    per_loan = per_loan_of(rows, sums=("principal_outstanding", "interest_due", "past_due"))
    if per_loan["loan_id"].is_sorted():
        # Flagged, the join below merges rather than hashes.
        per_loan = per_loan.with_columns(pl.col("loan_id").set_sorted())
    per_loan = per_loan.lazy()
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
