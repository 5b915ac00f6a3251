"""The day step: ``state(D) = step(state(D-1), events(D))``, over any number of loans at once.

Order within a day, and why:
1. loans disbursed by D become current;
2. accrual for the days since the state's date: penalty, fees and the cap, on the balances as they
   stood at the start of each day (a quiet span of identical days accrues in one go);
3. capped contractual interest is taken off instalments falling due;
4. the day's payments (and held credit) are allocated, after the day's accrual, so a payment on D
   can pay D's penalty and a payoff on D settles everything owed through D;
5. residuals below the product's threshold are written off;
6. ageing at the end of D: dpd, dofd, bucket, charge-off, status.

The nightly close calls this for one day over the whole book; the account view calls it for one
loan, jumping from event day to event day. Neither has a rule of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from arrears.book import adjustments as adj_rules
from arrears.book.accrual import accrue
from arrears.book.ageing import age
from arrears.book.allocation import allocate
from arrears.book.balances import balances, round_micro, unpaid_interest
from arrears.book.frames import ENGINE
from arrears.book.keys import LoanKeys, RowOrder, join_instalments, key_type, sort_by_key
from arrears.book.runs import rows_in
from arrears.book.state import INSTALMENT_STATE, LOAN_STATE, MOVEMENTS, check


@dataclass(frozen=True, slots=True)
class Book:
    loans: pl.DataFrame
    inst: pl.DataFrame


@dataclass(frozen=True, slots=True)
class DayResult:
    book: Book
    allocations: pl.DataFrame
    transitions: pl.DataFrame
    movements: pl.DataFrame


def step(
    book: Book,
    terms: pl.DataFrame,
    payments: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    adjustments: pl.DataFrame | None = None,
    pauses: pl.DataFrame | None = None,
) -> DayResult:
    """Advance every loan in ``book`` to the end of ``day``.

    All loans must share one ``as_of`` before ``day``, and no event may fall strictly between
    (a payment, a due date, a grace or bucket edge: ``replay.event_days``); ``payments`` and
    ``adjustments`` are those effective on ``day``; ``pauses`` are all known pause intervals.
    """
    adjustments = adjustments if adjustments is not None else pl.DataFrame(schema=adj_rules.ADJUSTMENTS)
    pauses = pauses if pauses is not None else pl.DataFrame(schema=adj_rules.PAUSES)
    # The rules run on integer loan keys (``keys.py``: half the cost of hashing strings); facts
    # naming a loan outside the book leave the day on strings, as it always ran.
    keys = LoanKeys.of(book.loans)
    if keys is not None and not pauses.is_empty():
        # ``pauses`` are all known intervals, mostly other loans': those change nothing here (and
        # would keep the day off keys).
        pauses = pauses.filter(keys.holds(pauses["loan_id"]))
    keyed = keys.encode(book.loans, book.inst, terms, payments, adjustments, pauses) if keys else None
    if keyed is not None:
        loans, inst, terms, payments, adjustments, pauses = keyed
        order = RowOrder.of(keys, inst)
        loans, inst = order.sort(loans, inst)
        r = step_on_keys(Book(loans, inst), terms, payments, day, schemes, adjustments, pauses)
        # On a book in id order, the loans and instalments come back as they went in: their ids are
        # the caller's own.
        given_loans, given_inst = (loans["loan_id"], book.loans["loan_id"]), (inst["loan_id"], book.inst["loan_id"])
        book_, allocations, transitions, movements = (
            Book(keys.decode(order.restore_loans(r.book.loans), given_loans if order.loans is None else None),
                 keys.decode(order.restore_inst(r.book.inst, adj_rules.sorts_instalments(adjustments)),
                             given_inst if order.inst is None else None)),
            keys.decode(r.allocations), keys.decode(order.restore_subset(r.transitions)),
            keys.decode(order.restore_loans(r.movements), given_loans if order.loans is None else None))
    else:
        r = _day(book, terms, payments, day, schemes, adjustments, pauses)
        book_, allocations, transitions, movements = r.book, r.allocations, r.transitions, r.movements
    return DayResult(
        Book(check(book_.loans, LOAN_STATE, "loans"), check(book_.inst, INSTALMENT_STATE, "instalments")),
        allocations, transitions, check(movements, MOVEMENTS, "movements"),
    )


def step_on_keys(
    book: Book,
    terms: pl.DataFrame,
    payments: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    adjustments: pl.DataFrame,
    pauses: pl.DataFrame,
) -> DayResult:
    """``step`` on frames already on integer keys (``keys.py``), the loans and instalments in key
    order; the results on those keys, in that order, unchecked. For callers that hold the keyed
    book anyway (the watch's trial step): no ids to map, no rows to put back."""
    return _day(book, sort_by_key(terms), sort_by_key(payments), day, schemes, adjustments, pauses)


def _day(
    book: Book,
    terms: pl.DataFrame,
    payments: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    adjustments: pl.DataFrame,
    pauses: pl.DataFrame,
) -> DayResult:
    loans, inst = book.loans, book.inst
    as_of = _common_as_of(loans)
    if as_of is not None and as_of >= day:
        raise ValueError(f"state is as of {as_of}; cannot step to {day}")
    before = loans
    disb = terms.select("loan_id", "disbursed_on")
    loans = (
        loans.join(disb, on="loan_id", how="left")
        .with_columns(
            pl.when((pl.col("status") == "pending") & (pl.col("disbursed_on") <= day))
            .then(pl.lit("current")).otherwise(pl.col("status")).alias("status")
        )
        .drop("disbursed_on")
    )
    quiet = (day - as_of).days - 1 if as_of is not None else 0
    if quiet > 0:
        yesterday = day - dt.timedelta(days=1)
        frozen = adj_rules.in_force(pauses, yesterday, "accrual_freeze")
        loans, inst = accrue(loans, inst, terms, yesterday, quiet, frozen)
    loans, inst = accrue(loans, inst, terms, day, 1, adj_rules.in_force(pauses, day, "accrual_freeze"))
    loans, inst = _post_capped_interest(loans, inst, day)
    loans, inst = adj_rules.apply(loans, inst, terms, adjustments, day)
    loans, inst, allocations = allocate(loans, inst, terms, payments, day)
    loans, inst, spent = adj_rules.settle_if_paid(loans, inst, payments, day)
    allocations = pl.concat([allocations, spent]) if not spent.is_empty() else allocations
    loans, inst, written = _write_off_residuals(loans, inst, terms, payments, day)
    loans, inst, transitions = age(loans, inst, terms, day, schemes, pauses)
    loans = loans.with_columns(pl.lit(day, pl.Date).alias("as_of"))
    movements = _movements(before, loans, payments, day)
    return DayResult(
        Book(loans.select(LOAN_STATE.names()), inst.select(INSTALMENT_STATE.names())),
        allocations, transitions, movements,
    )


def _common_as_of(loans: pl.DataFrame) -> dt.date | None:
    if loans.is_empty():
        return None
    lo, hi = loans["as_of"].min(), loans["as_of"].max()
    if lo != hi:
        raise ValueError(f"loans are at different dates ({lo} .. {hi}); step them separately")
    return lo


# What falls due takes off its instalment, in this order: (the loan's held interest, what of it was
# posted before, the instalment's column it goes into).
_POSTS = (("interest_capped_micro", "interest_capped_posted", "interest_capped"),
          ("interest_frozen_micro", "interest_frozen_posted", "waived_interest"))


def _post_capped_interest(loans: pl.DataFrame, inst: pl.DataFrame, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """When an instalment falls due, the interest the cap removed during its period comes off it,
    and so does the interest of days under an accrual freeze (as a waiver)."""
    # Off what is still unpaid: a payoff, write-off or charge-off before the due date has already
    # cut the instalment's interest down to what was paid (or capped) by then. The instalments
    # falling due are found once for both posts: the second takes what the first left unpaid.
    falling = inst.lazy().with_row_index("_at").filter(pl.col("due_on") == day).select(
        "_at", "loan_id", unpaid_interest().alias("interest")).collect(engine=ENGINE)
    if falling.is_empty():
        return loans, inst
    # Each falling instalment's loan by position (``runs.rows_in``), not a join hashing every loan; an
    # instalment of a loan not given posts nothing.
    falling = falling.with_columns(rows_in(loans, falling).alias("_lat")).drop_nulls("_lat").drop("loan_id")
    for i, (accrued, posted, into) in enumerate(_POSTS):
        post = pl.concat([falling, loans.select(accrued, posted)[falling["_lat"]]], how="horizontal").select(
            _postable(accrued, posted).alias("post")).to_series()
        if not (post > 0).any():
            continue
        if falling["_lat"].filter(post > 0).is_duplicated().any():
            # Two instalments of a loan falling due on one day (no schedule makes them): the joins
            # as they were, rather than a scatter that would keep only one of the loan's posts.
            for accrued_, posted_, into_ in _POSTS[i:]:
                loans, inst = _post_joined(loans, inst, day, accrued_, posted_, into_)
            return loans, inst
        # In place, on the few rows that post (the instalments and loans stay in their order).
        hit = falling.with_columns(post).filter(pl.col("post") > 0)
        loans, inst = _added(loans, posted, hit["_lat"], hit["post"]), _added(inst, into, hit["_at"], hit["post"])
        falling = falling.with_columns(pl.col("interest") - post)
    return loans, inst


def _postable(accrued: str, posted: str) -> pl.Expr:
    """What of an instalment's ``interest`` the loan's held interest (``accrued``, less what was
    ``posted`` before) takes off it."""
    return pl.min_horizontal(round_micro(pl.col(accrued)) - pl.col(posted), pl.col("interest")).clip(0)


def _added(frame: pl.DataFrame, col: str, at: pl.Series, add: pl.Series) -> pl.DataFrame:
    # A clone: ``scatter`` writes in place, and the caller's frame must not change.
    old = frame[col]
    return frame.with_columns(old.clone().scatter(at, (old.gather(at) + add).cast(old.dtype)))


def _post_joined(
    loans: pl.DataFrame, inst: pl.DataFrame, day: dt.date, accrued: str, posted: str, into: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    falling = inst.lazy().filter(pl.col("due_on") == day).select("loan_id", "n", unpaid_interest().alias("interest"))
    post = (
        falling.join(loans.lazy().select("loan_id", accrued, posted), on="loan_id")
        .with_columns(_postable(accrued, posted).alias("post"))
        .filter(pl.col("post") > 0)
        .select("loan_id", "n", "post")
    ).collect(engine=ENGINE).lazy()
    inst = (
        join_instalments(inst, post)
        .with_columns((pl.col(into) + pl.col("post").fill_null(0)).alias(into))
        .drop("post")
    )
    loans = (
        loans.lazy().join(post.select("loan_id", "post"), on="loan_id", how="left")
        .with_columns((pl.col(posted) + pl.col("post").fill_null(0)).alias(posted))
        .drop("post")
    )
    return loans.collect(engine=ENGINE), inst.collect(engine=ENGINE)


def _write_off_residuals(
    loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, payments: pl.DataFrame, day: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A payment that leaves less than ``residual_writeoff_below`` owed closes the loan: the residual
    is written off (and recorded) rather than chased."""
    if payments.is_empty():
        return loans, inst, pl.DataFrame(schema={"loan_id": key_type(loans), "amount": pl.Int64})
    # Only a loan left without credit, whose threshold a positive amount can be under, can have a
    # residual to write off: the balances (a pass over the instalments) are taken of those alone.
    # Each loan's threshold by its terms' position (``runs.rows_in``: on the step's keys, the loans' own
    # rows), and the candidates' instalments by theirs: no join or hash of every loan and instalment.
    # A loan without terms has no threshold (null), so is no candidate.
    cand = loans.with_columns(terms["residual_below"].gather(rows_in(terms, loans))).filter(
        pl.col("loan_id").is_in(payments["loan_id"].implode())
        & ~pl.col("status").is_in(["paid_off", "settled", "written_off", "pending"]) & (pl.col("credit") == 0)
        & (pl.col("residual_below") > 1)
    )
    bal = balances(cand.drop("residual_below"), inst.filter(rows_in(cand, inst).is_not_null()),
                   day).join(cand.select("loan_id", "residual_below"), on="loan_id")
    hit = bal.filter((pl.col("total_outstanding") > 0) & (pl.col("total_outstanding") < pl.col("residual_below"))
                     & (pl.col("credit") == 0))
    if hit.is_empty():
        return loans, inst, hit.select("loan_id", pl.col("total_outstanding").alias("amount"))
    # Status is left to ageing, which sees nothing owed and closes the loan as paid off.
    loans, inst, _ = adj_rules.write_off_all(loans, inst, hit.select("loan_id"), day, status=None)
    return loans, inst, hit.select("loan_id", pl.col("total_outstanding").alias("amount"))


def _movements(before: pl.DataFrame, after: pl.DataFrame, payments: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    cols = ("penalty_micro", "fees_micro", "capped_micro", "written_off")
    collected = payments.lazy().group_by("loan_id").agg(pl.col("amount").sum().alias("collected"))
    m = (
        after.lazy().select("loan_id", *cols, "charged_off_on")
        .join(before.lazy().select("loan_id", *[pl.col(c).alias(f"{c}_0") for c in cols]), on="loan_id", how="left")
        .join(collected, on="loan_id", how="left")
        .select(
            "loan_id", pl.lit(day, pl.Date).alias("day"),
            *[(pl.col(c) - pl.col(f"{c}_0").fill_null(0)).alias(c) for c in cols[:3]],
            pl.col("collected").fill_null(0),
            (pl.col("written_off") - pl.col("written_off_0").fill_null(0)).alias("written_off"),
            (pl.col("charged_off_on") == day).fill_null(False).alias("charged_off"),
        )
    )
    # loan_id keeps its type: keys inside the step, strings outside.
    return m.cast({c: t for c, t in MOVEMENTS.items() if c != "loan_id"}).collect(engine=ENGINE)
