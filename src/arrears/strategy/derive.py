"""The borrower facts (``facts.FACTS``) from the close's state and the contact history (pure).

Everything is as the close of the day before the plan left it: the plan for day D is made on the
state closed at D-1 (INTERFACE.md), so dpd and balances are that day's, and promises and
arrangements are kept or broken as of that day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book.balances import balances, with_dues
from arrears.book.step import Book
from arrears.policy.check.vocab import (  # the engine's words: one definition of each
    REACHED,
    REFUSALS,
)
from arrears.strategy.facts import FACTS

_CLOSED = ("paid_off", "settled", "written_off", "pending")
# A payment arrangement whose terms the platform does not know (agreed off-plan) holds contact this long.
ARRANGEMENT_UNKNOWN_TERMS_HOLD_DAYS = 14


def loans_in_arrears(book: Book, loans: pl.DataFrame, closed: dt.date) -> pl.DataFrame:
    """Per loan in arrears on ``closed``: borrower, currency, dpd, bucket, status, dofd, balances and
    missed instalments. ``loans`` has loan_id, borrower_id, currency."""
    state = book.loans.filter((pl.col("dpd") > 0) & ~pl.col("status").is_in(_CLOSED))
    if state.is_empty():
        return pl.DataFrame(schema={"loan_id": pl.String, "borrower_id": pl.String, "currency": pl.String,
                                    "dpd": pl.Int32, "bucket": pl.String, "status": pl.String, "dofd": pl.Date,
                                    "total_outstanding": pl.Int64, "overdue": pl.Int64, "payoff_amount": pl.Int64,
                                    "missed": pl.Int32})
    ids = state.select("loan_id")
    inst = book.inst.join(ids, on="loan_id", how="semi")
    money = balances(state, inst, closed).select("loan_id", "total_outstanding", "overdue", "payoff_amount")
    missed = (
        with_dues(inst, closed)
        .filter((pl.col("adjusted_due_on") < closed) & ((pl.col("unpaid_principal") + pl.col("unpaid_interest")) > 0))
        .group_by("loan_id").agg(pl.len().cast(pl.Int32).alias("missed"))
    )
    return (
        state.select("loan_id", pl.col("dpd").cast(pl.Int32), "bucket", "status", "dofd")
        .join(loans.select("loan_id", "borrower_id", "currency"), on="loan_id")
        .join(money, on="loan_id", how="left")
        .join(missed, on="loan_id", how="left")
        .with_columns(pl.col("missed").fill_null(0))
    )


def _in_force(flags: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return (
        flags.filter((pl.col("start_on") <= day) & (pl.col("end_on").is_null() | (pl.col("end_on") > day)))
        .group_by("borrower_id").agg(pl.col("flag").unique().sort().alias("flags"))
    )


def _promises(promises: pl.DataFrame, episodes: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The latest promise of the episode, whether one holds contact, and the last one broken."""
    p = promises.join(episodes, on="borrower_id").filter(pl.col("made_on") >= pl.col("episode_start"))
    latest = (
        p.sort("made_on", "promise_id").group_by("borrower_id").last()
        .select("borrower_id", pl.col("status").alias("promise_status"), "promise_date",
                pl.col("decided_on").alias("promise_decided_on"))
    )
    # A kept promise still holds contact until its date: the borrower did what they said early.
    holds = p.filter(pl.col("status").is_in(["open", "kept"]) & (pl.col("promise_date") >= day)).select("borrower_id").unique()
    broken = p.filter(pl.col("status") == "broken").group_by("borrower_id").agg(pl.col("decided_on").max().alias("broken_on"))
    return (
        latest.join(holds.with_columns(pl.lit(True).alias("promise_holds")), on="borrower_id", how="left")
        .join(broken, on="borrower_id", how="left")
        .with_columns((pl.lit(day) - pl.col("broken_on")).dt.total_days().cast(pl.Int32).alias("days_since_broken_promise"))
        .drop("broken_on")
    )


def arrangement_holds(arrangements: pl.DataFrame, paid: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Borrowers whose payment arrangement holds contact on ``day``: every instalment due before it
    has been paid (payments of the borrower since the arrangement count cumulatively).

    ``arrangements``: borrower_id, made_on, instalment (minor, null: terms unknown), count,
    period_days, first_due_on. ``paid``: borrower_id, paid_on, amount. Unknown terms hold for
    ``ARRANGEMENT_UNKNOWN_TERMS_HOLD_DAYS`` from the day it was agreed."""
    if arrangements.is_empty():
        return pl.DataFrame(schema={"borrower_id": pl.String})
    a = arrangements.with_row_index("_a")
    unknown = a.filter(pl.col("instalment").is_null() & ((pl.lit(day) - pl.col("made_on")).dt.total_days()
                                                         < ARRANGEMENT_UNKNOWN_TERMS_HOLD_DAYS))
    known = a.filter(pl.col("instalment").is_not_null())
    # Instalments due before today, and the last due date + one period: after it, the arrangement is over.
    known = known.with_columns(
        ((pl.lit(day) - pl.col("first_due_on")).dt.total_days() // pl.col("period_days") + 1)
        .clip(0, pl.col("count")).alias("_due_n"),
        (pl.col("first_due_on") + pl.duration(days=pl.col("period_days") * pl.col("count"))).alias("_ends"),
    )
    sums = (
        known.join(paid, on="borrower_id", how="left")
        .filter(pl.col("paid_on").is_null() | (pl.col("paid_on") >= pl.col("made_on")) & (pl.col("paid_on") < day))
        .group_by("_a").agg(pl.col("amount").sum().alias("_paid"))
    )
    kept = known.join(sums, on="_a", how="left").filter(
        (pl.col("_paid").fill_null(0) >= pl.col("_due_n") * pl.col("instalment")) & (pl.lit(day) < pl.col("_ends")))
    return pl.concat([unknown.select("borrower_id"), kept.select("borrower_id")]).unique()


def borrower_facts(
    arrears: pl.DataFrame,
    borrowers: pl.DataFrame,
    flags: pl.DataFrame,
    promises: pl.DataFrame,
    holds_by_arrangement: pl.DataFrame,
    contacts: pl.DataFrame,
    day: dt.date,
) -> pl.DataFrame:
    """``FACTS`` for every borrower with a loan in arrears.

    ``arrears``: ``loans_in_arrears``. ``borrowers``: borrower_id, jurisdiction, language.
    ``flags``: borrower_id, flag, start_on, end_on (contact holds included). ``promises``:
    promise_id, borrower_id, made_on, promise_date, status, decided_on. ``holds_by_arrangement``:
    borrower_id. ``contacts``: borrower_id, local_date, outcome, party.
    """
    if arrears.is_empty():
        return pl.DataFrame(schema=FACTS)
    # The main loan: the worst by dpd, then the largest balance, then the id (deterministic).
    ordered = arrears.sort(["borrower_id", "dpd", "total_outstanding", "loan_id"], descending=[False, True, True, False])
    main = ordered.group_by("borrower_id", maintain_order=True).first()
    same = ordered.join(main.select("borrower_id", pl.col("currency").alias("_cur")), on="borrower_id").filter(
        pl.col("currency") == pl.col("_cur"))
    per = same.group_by("borrower_id", maintain_order=True).agg(
        pl.col("loan_id").alias("loan_ids"),
        pl.col("total_outstanding").sum().alias("balance"),
        pl.col("overdue").sum().alias("overdue"),
        pl.col("dofd").min().alias("episode_start"),
    )
    # A loan past due but not (yet) delinquent has no dofd: its episode began dpd days ago.
    per = per.join(main.select("borrower_id", "dpd"), on="borrower_id").with_columns(
        pl.coalesce("episode_start", pl.lit(day) - pl.duration(days=pl.col("dpd"))).alias("episode_start")).drop("dpd")
    missed = arrears.group_by("borrower_id").agg(pl.col("missed").sum().cast(pl.Int32).alias("missed_instalments"))
    episodes = per.select("borrower_id", pl.col("episode_start").fill_null(day))
    c = contacts.join(episodes, on="borrower_id").filter(pl.col("local_date") >= pl.col("episode_start"))
    rpc = (
        c.filter(pl.col("outcome").is_in(REACHED) & (pl.col("party") == "borrower"))
        .group_by("borrower_id").agg(pl.col("local_date").max().alias("last_rpc"))
    )
    refusals = c.filter(pl.col("outcome").is_in(REFUSALS)).group_by("borrower_id").agg(
        pl.len().cast(pl.Int32).alias("refusals"))
    out = (
        main.select("borrower_id", "loan_id", "currency", "dpd", "bucket", "status")
        .join(per, on="borrower_id")
        .join(missed, on="borrower_id", how="left")
        .join(borrowers.select("borrower_id", "jurisdiction", "language"), on="borrower_id", how="left")
        .join(_in_force(flags, day), on="borrower_id", how="left")
        .join(_promises(promises, episodes, day), on="borrower_id", how="left")
        .join(holds_by_arrangement.with_columns(pl.lit(True).alias("arrangement_holds")), on="borrower_id", how="left")
        .join(rpc, on="borrower_id", how="left")
        .join(refusals, on="borrower_id", how="left")
        .with_columns(
            pl.col("flags").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("promise_status").fill_null("none"),
            pl.col("promise_holds").fill_null(False),
            pl.col("arrangement_holds").fill_null(False),
            pl.col("refusals").fill_null(0),
            pl.col("missed_instalments").fill_null(0),
            (pl.lit(day) - pl.coalesce("last_rpc", "episode_start", pl.lit(day))).dt.total_days().cast(pl.Int32)
            .alias("days_since_rpc"),
        )
    )
    return out.select(pl.col(c).cast(t) for c, t in FACTS.items()).sort("borrower_id")
