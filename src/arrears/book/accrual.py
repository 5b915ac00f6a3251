"""Daily accrual: penalty interest, late fees and the legal cap, for one or several identical days.

Penalty for day d accrues on the product's ``penalty_base`` as it stood at the start of d, from
the day after due date + grace, so a borrower who pays on d owes d's penalty (d counts as a day
late, as dpd does). Days in a quiet span (no event inside) are identical, so ``days`` of them
accrue in one multiplication: the nightly close accrues one day, a replay of one account jumps.

The cap, day by day, as two rules of which the stricter wins:
- on the overdue amount (SPC 2020 private-lending provisions art. 29, and the article's market
  practice): the contract rate still running on it plus the penalty may not exceed the cap, so the
  penalty rate is held to cap_rate - annual_rate on the penalty base (18% + 18.25% on a 24% cap
  leaves 6% of penalty);
- on the whole loan (FIELD-NOTES §4 CN-CAP): interest + penalty + fees for day d may not exceed
  cap_rate / 365 x principal outstanding on d; the excess is taken from penalty first, then fees,
  then contractual interest.
What either removes is recorded as ``capped`` and never becomes receivable.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.balances import MICRO, unpaid_interest, unpaid_principal
from arrears.book.frames import ENGINE
from arrears.book.keys import KEY, key_type
from arrears.book.keys import per_loan as per_loan_of
from arrears.book.positions import aligned as _aligned
from arrears.book.positions import take
from arrears.book.runs import rows_in

ACCRUING = ("current", "delinquent", "in_plan", "restructured")


def _cap_micro_rate(on: dt.date) -> pl.Expr:
    rate = (
        pl.when(pl.col("cap_switch_on").is_not_null() & (pl.col("cap_switch_on") <= on))
        .then(pl.col("cap_rate_after_nano"))
        .otherwise(pl.col("cap_rate_nano"))
    )
    return rate // 1000  # nano -> micro of a unit: flooring only ever tightens the cap


def accrue(
    loans: pl.DataFrame,
    inst: pl.DataFrame,
    terms: pl.DataFrame,
    on: dt.date,
    days: int,
    frozen: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accrue ``days`` days that all look like day ``on``. Fees are charged only when ``on`` is a
    fee day, and a quiet span never contains one, so they are charged once.

    ``frozen``: loans under an accrual freeze on ``on`` (a pause): no penalty, no fees, and their
    contractual interest for the day is set aside to be waived when its instalment falls due."""
    if days <= 0 or loans.is_empty():
        return loans, inst
    # Each loan's terms and its instalments' loan by position, not by joins on loan_id (``positions``):
    # the close's day reads every loan's terms on every open instalment.
    t = terms.select(
        "penalty_rate_nano", "penalty_base", "grace_days", "tolerance", "late_fee",
        "late_fee_max_per_period", "late_fee_max_total", "cap_rate_nano", "cap_switch_on",
        "cap_rate_after_nano", "disbursed_on", "annual_rate_nano",
    )
    at = rows_in(terms, loans)
    if terms.height != loans.height or at.null_count() or not at.equals(pl.int_range(loans.height, dtype=KEY, eager=True), check_names=False):
        t = take(t, at)
    frozen_ids = frozen["loan_id"] if frozen is not None else pl.Series("loan_id", [], key_type(loans))
    live = pl.concat([loans.select("loan_id", "fees_micro", "status"), t], how="horizontal").with_columns(
        (pl.col("status").is_in(ACCRUING) & (pl.col("disbursed_on") < on)).fill_null(False).alias("live"),
        # Compared once a loan, not once an instalment.
        (pl.col("penalty_base") == "overdue_principal_and_interest").alias("base_with_interest"),
        pl.col("loan_id").is_in(frozen_ids.implode()).alias("frozen"),
    )
    if not live["live"].any():
        return loans, inst
    row = rows_in(loans, inst)
    on_inst = live.select("live", "frozen", "base_with_interest", "grace_days", "tolerance", "late_fee",
                          "late_fee_max_per_period")
    i = pl.concat([inst.lazy(), take(on_inst, row).lazy().with_columns(row)], how="horizontal").with_columns(
        pl.col("live").fill_null(False),
        unpaid_principal().alias("up"), unpaid_interest().alias("ui"),
        (pl.col("adjusted_due_on") + pl.duration(days=1) * pl.col("grace_days")).alias("late_after"),
    )
    length = (pl.col("due_on") - pl.col("period_start")).dt.total_days()
    fee_day = (pl.col("late_after") + pl.duration(days=1)) == on
    unpaid_beyond_tolerance = (pl.col("up") + pl.col("ui")) > pl.col("tolerance")
    fee_allowed = (
        fee_day & unpaid_beyond_tolerance & pl.col("late_fee").is_not_null()
        & (pl.col("late_fees") < pl.col("late_fee_max_per_period").fill_null(1))
    )
    live_row = pl.col("live")
    # One row an instalment, in ``inst``'s order (the late fee count is added back beside it); an
    # instalment of a loan that does not accrue counts nothing.
    rows = i.select(
        "_row",
        # An instalment unpaid by no more than the tolerance counts as paid: no penalty on it.
        pl.when(live_row & (pl.col("late_after") < on) & unpaid_beyond_tolerance)
        .then(
            pl.when(pl.col("base_with_interest"))
            .then(pl.col("up") + pl.col("ui"))
            .otherwise(pl.col("up"))
        )
        .otherwise(0)
        .alias("base"),
        pl.when(live_row).then(pl.col("up")).otherwise(0).alias("principal_out"),
        # What is still to accrue: interest paid early (a prepayment pays what was earned) or
        # closed out (restructure, charge-off) accrues no more, so the cap must not count it again.
        pl.when(live_row & (pl.col("period_start") < on) & (pl.col("due_on") >= on))
        .then(pl.col("ui") * MICRO // length).otherwise(0)
        .alias("interest_day"),
        (live_row & fee_allowed & ~pl.col("frozen")).fill_null(False).alias("fee_count"),
    ).collect(engine=ENGINE)
    counted = rows.drop_nulls("_row") if rows["_row"].null_count() else rows
    sums = per_loan_of(counted.rename({"_row": "loan_id"}), sums=("base", "principal_out", "interest_day", "fee_count"))
    # Back on the loans' rows: a loan with no instalment counts nothing (it had no row here).
    has = pl.Series("has", [False] * loans.height).scatter(sums["loan_id"], True)
    per_loan = pl.DataFrame(
        [has, *[pl.Series(c, [0] * loans.height, sums[c].dtype).scatter(sums["loan_id"], sums[c])
                for c in ("base", "principal_out", "interest_day", "fee_count")]]
    ) if not _aligned(sums, loans) else sums.drop("loan_id").with_columns(pl.lit(True).alias("has"))
    in_d = pl.col("live") & pl.col("has")
    d = (
        pl.concat([live.lazy(), per_loan.lazy()], how="horizontal")
        .with_columns(
            # A frozen day earns nothing: its interest is set aside (waived at due), no penalty.
            pl.when(pl.col("frozen")).then(pl.col("interest_day")).otherwise(0).alias("int_frozen"),
            pl.when(pl.col("frozen")).then(0).otherwise(pl.col("interest_day")).alias("interest_day"),
            pl.when(pl.col("frozen")).then(0)
            .otherwise(pl.col("base") * pl.col("penalty_rate_nano") // 1000).alias("pen"),
            pl.when(pl.col("fee_count") > 0)
            .then(
                pl.min_horizontal(
                    pl.col("late_fee") * pl.col("fee_count"),
                    # max_total limits what was charged, after the cap (rounded up: never beyond it).
                    (pl.col("late_fee_max_total") - (pl.col("fees_micro") + MICRO - 1) // MICRO).clip(0),
                ).fill_null(pl.col("late_fee") * pl.col("fee_count"))
            )
            .otherwise(0)
            .alias("fee"),
        )
        .with_columns(
            pl.when(_cap_micro_rate(on).is_null())
            .then(None)
            .otherwise(pl.col("principal_out") * _cap_micro_rate(on) // 365)
            .alias("allowance"),
            # Rule 1: the penalty on the overdue amount, within cap - contract rate.
            pl.when(_cap_micro_rate(on).is_null())
            .then(0)
            .otherwise(
                (pl.col("pen")
                 - pl.col("base") * (_cap_micro_rate(on) - pl.col("annual_rate_nano") // 1000).clip(0) // 365).clip(0)
            )
            .alias("pen_overdue_capped"),
        )
        .with_columns((pl.col("pen") - pl.col("pen_overdue_capped")).alias("pen"))
        .with_columns(
            pl.when(pl.col("allowance").is_null())
            .then(0)
            .otherwise(
                (pl.col("interest_day") + pl.col("pen") + pl.col("fee") * MICRO // days - pl.col("allowance")).clip(0)
            )
            .alias("excess_day")
        )
        # Fees are charged on one day only; spread over a span they would dodge the cap, so a fee
        # day is always a span of one (the replay guarantees it) and ``fee * MICRO // days`` is exact.
        .with_columns(pl.min_horizontal("excess_day", "pen").alias("pen_capped"))
        .with_columns(
            pl.min_horizontal(pl.col("excess_day") - pl.col("pen_capped"), pl.col("fee") * MICRO).alias("fee_capped")
        )
        .with_columns(
            pl.min_horizontal(
                pl.col("excess_day") - pl.col("pen_capped") - pl.col("fee_capped"), pl.col("interest_day")
            ).alias("int_capped")
        )
        .select(
            ((pl.col("pen") - pl.col("pen_capped")) * days).alias("d_penalty"),
            (pl.col("fee") * MICRO - pl.col("fee_capped")).alias("d_fees"),
            pl.col("fee").alias("d_fees_gross"),
            ((pl.col("pen_overdue_capped") + pl.col("pen_capped") + pl.col("int_capped")) * days
             + pl.col("fee_capped")).alias("d_capped"),
            (pl.col("int_capped") * days).alias("d_int_capped"),
            (pl.col("int_frozen") * days).alias("d_int_frozen"),
            in_d.alias("_in"),
        )
        # What a loan that accrues nothing adds (nothing).
        .select(pl.when(pl.col("_in")).then(pl.all().exclude("_in")))
    )
    loans = (
        pl.concat([loans.lazy(), d], how="horizontal")
        .with_columns(
            (pl.col("penalty_micro") + pl.col("d_penalty").fill_null(0)).alias("penalty_micro"),
            (pl.col("fees_micro") + pl.col("d_fees").fill_null(0)).alias("fees_micro"),
            (pl.col("fees_gross") + pl.col("d_fees_gross").fill_null(0)).alias("fees_gross"),
            (pl.col("capped_micro") + pl.col("d_capped").fill_null(0)).alias("capped_micro"),
            (pl.col("interest_capped_micro") + pl.col("d_int_capped").fill_null(0)).alias("interest_capped_micro"),
            (pl.col("interest_frozen_micro") + pl.col("d_int_frozen").fill_null(0)).alias("interest_frozen_micro"),
        )
        .drop("d_penalty", "d_fees", "d_fees_gross", "d_capped", "d_int_capped", "d_int_frozen")
    )
    if not rows["fee_count"].any():
        # Most days draw no fee on any instalment (only the day after due + grace does).
        return loans.collect(engine=ENGINE), inst
    # When max_total leaves room for only part of the fees, the count still rises: the instalment
    # has drawn its late fee, however much of it the total allowed.
    inst = inst.with_columns(pl.col("late_fees") + rows["fee_count"].cast(pl.Int64))
    return loans.collect(engine=ENGINE), inst
