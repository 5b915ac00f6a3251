"""Ageing: days past due, the date of first delinquency, buckets, and charge-off.

- dpd: the day minus the (business-day adjusted) due date of the oldest instalment still unpaid
  beyond the product's arrears tolerance. The loan is delinquent when dpd exceeds grace_days.
- dofd: the first day past due of the current delinquency, set when the loan becomes delinquent,
  kept through partial payments, restructure or settlement, and cleared only by a full cure
  (dpd back to 0 by payment).
- buckets: the product's edges; every change is a transition (roll and cure rates come from them).
- charge-off at the product's charge_off_dpd: interest and penalty stop (interest not yet due is
  never charged; what the running period earned to the day is written off), and later payments
  are recoveries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from arrears.book.adjustments import end_running_period
from arrears.book.balances import (
    fees_outstanding,
    penalty_outstanding,
    unpaid_interest,
    unpaid_principal,
)
from arrears.book.frames import ENGINE
from arrears.book.keys import KEY, key_type
from arrears.book.keys import per_loan as per_loan_of
from arrears.book.positions import aligned as _aligned
from arrears.book.positions import take
from arrears.book.products import bucket_labels
from arrears.book.runs import rows_in
from arrears.book.state import CLOSED, TRANSITIONS


def bucket_expr(edges: tuple[int, ...], dpd: pl.Expr) -> pl.Expr:
    labels = bucket_labels(edges)
    if list(edges) == sorted(set(edges)):
        # Rising edges: the label is the number of edges reached (a null dpd reaches them all, as
        # the chain below gives it), one integer sum and one lookup rather than a string per edge.
        reached = pl.sum_horizontal(*[(dpd >= edge).fill_null(True) for edge in edges])
        return reached.replace_strict(dict(enumerate(labels)), return_dtype=pl.String)
    expr = pl.lit(labels[-1])
    for edge, label in reversed(list(zip(edges, labels))):
        expr = pl.when(dpd < edge).then(pl.lit(label)).otherwise(expr)
    return expr


def buckets_by_product(schemes: Mapping[str, tuple[int, ...]], dpd: pl.Expr) -> pl.Expr:
    # Products sharing a scheme share one expression.
    codes: dict[tuple[int, ...], list[str]] = {}
    for code, edges in schemes.items():
        codes.setdefault(tuple(edges), []).append(code)
    out = pl.lit(None, pl.String)
    for edges, of in codes.items():
        out = pl.when(pl.col("product").is_in(of)).then(bucket_expr(edges, dpd)).otherwise(out)
    return out


def _rank(label: pl.Expr, schemes: Mapping[str, tuple[int, ...]]) -> pl.Expr:
    order = {lab: i for edges in schemes.values() for i, lab in enumerate(bucket_labels(edges))}
    return label.replace_strict(order, default=0, return_dtype=pl.Int64)


def _worse(a: pl.Expr, b: pl.Expr, schemes: Mapping[str, tuple[int, ...]]) -> pl.Expr:
    return pl.when(_rank(a, schemes) >= _rank(b, schemes)).then(a).otherwise(b)


def _paused(pauses: pl.DataFrame | None, per_loan: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    from arrears.book.adjustments import paused_days

    if pauses is None or pauses.is_empty():
        return pl.DataFrame(schema={"loan_id": key_type(per_loan), "paused": pl.Int64})
    since = per_loan.lazy().filter(pl.col("oldest_unpaid").is_not_null()).select(
        "loan_id", pl.col("oldest_unpaid").alias("since")).collect(engine=ENGINE)
    return paused_days(pauses, since, day)


def age(
    loans: pl.DataFrame,
    inst: pl.DataFrame,
    terms: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    pauses: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """End-of-day ageing. Returns loans, instalments (interest not yet due cancelled at charge-off)
    and the day's bucket transitions."""
    # A loan's terms and its instalments' loan by position, not by joins on loan_id (``positions``).
    t = terms.select("product", "grace_days", "tolerance", "charge_off_dpd", "disbursed_on")
    at = rows_in(terms, loans)
    if terms.height != loans.height or at.null_count() or not at.equals(pl.int_range(loans.height, dtype=KEY, eager=True), check_names=False):
        t = take(t, at)
    # Instalments of a loan with no terms count for nothing, as do those of no loan here.
    t = t.with_columns(at.is_not_null().alias("_terms"))
    row = rows_in(loans, inst)
    unpaid = unpaid_principal() + unpaid_interest()
    rows = (
        pl.concat([inst.lazy(), take(t.select("tolerance", "_terms"), row).lazy(),
                   row.to_frame().lazy()], how="horizontal")
        .filter(pl.col("_terms"))
        .select(
            pl.col("_row").alias("loan_id"),
            pl.when((unpaid > pl.col("tolerance")) & (pl.col("adjusted_due_on") < day))
            .then(pl.col("adjusted_due_on")).alias("oldest_unpaid"),
            unpaid.alias("unpaid_all"),
            unpaid_principal().alias("principal_left"),
        )
    ).collect(engine=ENGINE)
    sums = per_loan_of(rows, sums=("unpaid_all", "principal_left"), mins=("oldest_unpaid",))
    per_loan = sums.drop("loan_id") if _aligned(sums, loans) else pl.DataFrame(
        [pl.Series(c, [None] * loans.height, sums[c].dtype).scatter(sums["loan_id"], sums[c])
         for c in ("unpaid_all", "principal_left", "oldest_unpaid")])
    paused = _paused(pauses, pl.concat([loans.select("loan_id"), per_loan], how="horizontal"), day)
    x = pl.concat([loans.lazy(), t.drop("_terms").lazy(), per_loan.lazy()], how="horizontal")
    if not paused.is_empty():
        x = x.join(paused.lazy(), on="loan_id", how="left", maintain_order="left")
    else:
        x = x.with_columns(pl.lit(None, pl.Int64).alias("paused"))
    x = (
        x.with_columns(
            pl.when(pl.col("oldest_unpaid").is_null())
            .then(0)
            # Days under an ageing pause (forbearance, disaster) do not count.
            .otherwise((pl.lit(day, pl.Date) - pl.col("oldest_unpaid")).dt.total_days()
                       - pl.col("paused").fill_null(0))
            .alias("dpd_new"),
        )
        .with_columns((pl.col("dpd_new") > pl.col("grace_days")).alias("late"))
    )
    closed = pl.col("status").is_in(CLOSED)
    pending = pl.lit(day, pl.Date) < pl.col("disbursed_on")
    settled_up = (
        (pl.col("unpaid_all").fill_null(0) == 0) & (penalty_outstanding() == 0) & (fees_outstanding() == 0)
        & (pl.col("principal_left").fill_null(0) == 0)
    )
    on_probation = pl.col("probation_until").is_not_null() & (pl.lit(day, pl.Date) <= pl.col("probation_until"))
    charge_off_now = (
        ~closed & ~pending & (pl.col("status") != "charged_off")
        & ((pl.col("dpd_new") >= pl.col("charge_off_dpd")) | (pl.col("status") == "charge_off_now"))
    )
    x = x.with_columns(
        pl.when(closed).then(pl.col("dpd")).otherwise(pl.col("dpd_new")).alias("dpd"),
        pl.when(closed | pending).then(pl.col("dofd"))
        # A restructure is not a cure: the dofd stays while the account is on probation.
        .when((pl.col("dpd_new") == 0) & on_probation).then(pl.col("dofd"))
        .when(pl.col("dpd_new") == 0).then(None)
        .when(pl.col("late") & pl.col("dofd").is_null()).then(pl.col("oldest_unpaid") + pl.duration(days=1))
        .otherwise(pl.col("dofd"))
        .alias("dofd"),
        pl.when(charge_off_now).then(pl.lit(day, pl.Date)).otherwise(pl.col("charged_off_on")).alias("charged_off_on"),
        pl.when(closed).then(pl.col("status"))
        .when(pending).then(pl.lit("pending"))
        .when(settled_up).then(pl.lit("paid_off"))
        .when((pl.col("status") == "charged_off") | charge_off_now).then(pl.lit("charged_off"))
        .when(on_probation & ~pl.col("late")).then(pl.lit("restructured"))
        .when((pl.col("status") == "in_plan") & ~pl.col("late")).then(pl.col("status"))
        .when(pl.col("late")).then(pl.lit("delinquent"))
        .otherwise(pl.lit("current"))
        .alias("new_status"),
    )
    # Read by two branches below: evaluated once.
    x = x.with_columns(buckets_by_product(schemes, pl.col("dpd")).alias("_bucket"))
    x = x.with_columns(
        pl.when(closed).then(pl.col("closed_on"))
        .when(pl.col("new_status") == "paid_off").then(pl.lit(day, pl.Date))
        .otherwise(pl.col("closed_on")).alias("closed_on"),
        pl.when(pl.col("new_status") == "paid_off").then(pl.lit("current"))
        .when(closed | pending).then(pl.col("bucket"))
        # A missed payment on probation returns the account to its pre-restructure bucket.
        .when(on_probation & pl.col("late") & pl.col("pre_restructure_bucket").is_not_null())
        .then(_worse(pl.col("pre_restructure_bucket"), pl.col("_bucket"), schemes))
        .otherwise(pl.col("_bucket"))
        .alias("new_bucket"),
    )
    # Read by both results below: materialised once.
    x = x.collect(engine=ENGINE)
    transitions = x.filter(pl.col("new_bucket") != pl.col("bucket")).select(
        "loan_id", pl.lit(day, pl.Date).alias("day"), pl.col("bucket").alias("from_bucket"),
        pl.col("new_bucket").alias("to_bucket"),
    )
    x = x.lazy().with_columns(
        pl.when(pl.col("new_bucket") != pl.col("bucket")).then(pl.lit(day, pl.Date))
        .otherwise(pl.col("bucket_since")).alias("bucket_since"),
        pl.col("new_bucket").alias("bucket"),
        pl.col("new_status").alias("status"),
    )
    x = x.collect(engine=ENGINE)
    # What the running period earned to the charge-off day is written off, not dropped.
    x, inst = end_running_period(x, inst, x.filter(pl.col("charged_off_on") == day), day, "written_off")
    return x.select(loans.columns), inst, transitions.select(TRANSITIONS.names())
