"""Quiet loans: which loans the nightly close can leave alone, and what they count for meanwhile.

A loan's state changes only on event days (``replay``). Between them, a loan with nothing overdue,
no held credit and no cap or freeze biting has a day step that changes nothing but its date: its
stored state *is* its state on each of those days. The close steps only the other loans (the
touched ones) and leaves a quiet loan's row, dated the day it last changed, untouched.

Deciding it uses no rule of its own: the loan is stepped one day further (``step`` with no
payments and no adjustments); if nothing but ``as_of`` moves, it is quiet until the day before its
next event day (``replay.next_event_day``: due dates, and the grace, bucket and charge-off days of
instalments still unpaid; and the days its state schedules: a settlement's deadline, the end of a
probation), and at most ``HORIZON`` days. Within that span every day is alike, which is what lets the
replay accrue a span in one multiplication. New facts (a payment, an adjustment, a pause, a
correction) end the span early: the close steps every loan that has one.

The portfolio snapshot still counts a quiet loan every day. Its principal, dues, penalty and fees
are fixed while it is quiet; only the interest accrued in the current period moves, pro rata by
day. So a quiet loan leaves its *watch* row: the fixed part (``owed``) and the current
instalment's interest, from which ``quiet_totals`` values it on every day of the span with the very
expressions ``balances`` uses. The close adds those values, per day, currency and bucket, to the
coming days' snapshots when it writes the row, and takes them back if a fact touches the loan
before the span ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import numpy as np
import polars as pl

from arrears.book import adjustments as adj_rules
from arrears.book.balances import (
    accrued_gross,
    accrued_net,
    balances,
    interest_held,
    interest_settled,
    unpaid_interest,
    unpaid_principal,
)
from arrears.book.frames import ENGINE
from arrears.book.keys import LoanKeys, keyed, sort_by_key
from arrears.book.replay import next_event_day
from arrears.book.snapshot import OPEN as OPEN_IN_SNAPSHOT
from arrears.book.state import CLOSED, LOAN_STATE, PAYMENTS
from arrears.book.step import Book, DayResult, step, step_on_keys

# A quiet span ends after this many days at the latest: the portfolio snapshot counts a quiet loan
# on each day of its span ahead of time (``quiet_totals``), so spans are kept finite. A loan with no
# event ahead (paid off, written off) is just stepped once in a while, to no effect.
HORIZON = 45

QUIET_TOTALS = pl.Schema(
    {
        "day": pl.Date,
        "currency": pl.String,
        "bucket": pl.String,
        "members": pl.Int64,  # quiet loans in the group that day, open or not
        "loans": pl.Int64,  # of which open
        "principal_outstanding": pl.Int64,
        "total_outstanding": pl.Int64,
    }
)

WATCH = pl.Schema(
    {
        "loan_id": pl.String,
        "quiet_until": pl.Date,  # null: the loan changes every day, step it every day
        "currency": pl.String,
        "status": pl.String,
        "bucket": pl.String,
        "principal_outstanding": pl.Int64,
        "owed": pl.Int64,  # total outstanding less the interest accrued in the current period
        "period_start": pl.Date,  # the instalment accruing during the span (null: none)
        "due_on": pl.Date,
        "interest": pl.Int64,
        "interest_less": pl.Int64,
        "interest_held": pl.Int64,
    }
)


def watch(
    book: Book,
    terms: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    pauses: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """For loans whose state is as of the end of ``day``: how long they stay quiet (``WATCH``).

    Conservative by construction: a loan is quiet only when its next day's step provably changes
    nothing; any doubt steps it every day, which is what a full close does anyway."""
    loans = book.loans
    pauses = pauses if pauses is not None else pl.DataFrame(schema=adj_rules.PAUSES)
    # On integer keys, as the step runs (``keys.py``): the trial step then takes the keyed frames as
    # they are, instead of mapping ids to keys and rows to key order and back again, and picking
    # the loans tried and the quiet ones is a look-up by key, not a hash of strings.
    keys = LoanKeys.of(loans)
    if keys is not None and not pauses.is_empty():
        # Another loan's pause changes nothing here (and would keep the watch off keys).
        pauses = pauses.filter(keys.holds(pauses["loan_id"]))
    keyed = keys.encode(loans, book.inst, terms, pauses) if keys else None
    if keyed is None:
        return _watch(loans, book.inst, terms, day, schemes, pauses, _on_strings)
    out = _watch(*keyed[:3], day, schemes, keyed[3], _on_keys)
    return keys.decode(out, (keyed[0]["loan_id"], loans["loan_id"])).select(WATCH.names())


def _watch(
    loans: pl.DataFrame,
    inst: pl.DataFrame,
    terms: pl.DataFrame,
    day: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    pauses: pl.DataFrame,
    on: _Ids,
) -> pl.DataFrame:
    """``watch`` on ``loans``' ids as they come (strings or keys, ``on`` the operations that differ)."""
    nxt = day + dt.timedelta(days=1)
    # An open loan with days past due moves every day (dpd, and past grace its penalty): no need to try.
    # Lazy between the few points that must be materialised (the trial step's input, the loans that
    # stay still, the result): at the close's daily sizes each eager operation's fixed cost is what
    # counts. (Collected one by one: ``pl.collect_all`` costs milliseconds a call.)
    moving = ~pl.col("status").is_in(CLOSED) & (pl.col("dpd") > 0)
    # Membership tests rather than joins: cheaper, and each frame keeps its order.
    trial_loans = on.ordered(
        loans.lazy().filter(~moving).with_columns(pl.lit(day, pl.Date).alias("as_of")).collect(engine=ENGINE))
    tried = on.among(trial_loans["loan_id"], loans)
    trial_inst, t, p = on.ordered(tried(inst)), tried(terms), tried(pauses)
    quiet_ids = trial_loans["loan_id"].clear()
    if not trial_loans.is_empty():
        r = on.step(Book(trial_loans, trial_inst), t, nxt, schemes, p)
        cols = [c for c in LOAN_STATE.names() if c != "as_of"]
        inst_cols = trial_inst.columns
        others = pl.concat([r.allocations.lazy().select("loan_id"), r.transitions.lazy().select("loan_id")])
        if _aligned(trial_loans, r.book.loans, ["loan_id"]) and _aligned(trial_inst, r.book.inst, ["loan_id", "n"]):
            # The step kept its input's rows in their order (as it does): compared side by side,
            # column by column, instead of hashing every column of every row in a join.
            moved = pl.concat([_differing(trial_inst, r.book.inst.select(inst_cols)), others]).collect(engine=ENGINE)
            still = _same(trial_loans.select(cols), r.book.loans.select(cols))
            quiet_ids = trial_loans["loan_id"].filter(still & ~on.among(moved["loan_id"], loans)(trial_loans, True))
        else:
            same_loan = trial_loans.lazy().select(cols).join(r.book.loans.lazy().select(cols), on=cols, how="semi",
                                                              nulls_equal=True)
            moved_inst = pl.concat([
                trial_inst.lazy().join(r.book.inst.lazy(), on=inst_cols, how="anti", nulls_equal=True).select("loan_id"),
                r.book.inst.lazy().join(trial_inst.lazy(), on=inst_cols, how="anti", nulls_equal=True).select("loan_id"),
                others,
            ])
            quiet_ids = same_loan.select("loan_id").join(moved_inst.unique(), on="loan_id", how="anti").collect(
                engine=ENGINE)["loan_id"]
    # The quiet loans are among those tried: picked from the trial's (smaller) frames, whose state
    # is the loans' own (only ``as_of`` is set, and nothing below reads it).
    quiet = on.among(quiet_ids, loans)
    quiet_loans, quiet_inst, quiet_terms = (quiet(f) for f in (trial_loans, trial_inst, t))
    span = _span(quiet_loans, quiet_inst, quiet_terms, day, schemes)
    basis = _basis(quiet_loans, quiet_inst, quiet_terms, nxt)
    out = (
        loans.lazy().select("loan_id")
        .join(span.join(basis, on="loan_id", how="inner"), on="loan_id", how="left")
        .select(WATCH.names())
        .cast({c: t for c, t in WATCH.items() if c != "loan_id"})
    )
    return out.collect(engine=ENGINE)


class _Ids:
    """What the watch does differently on string ids and on integer keys."""

    @staticmethod
    def ordered(frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` in the order the trial step takes it."""
        return frame

    @staticmethod
    def among(ids: pl.Series, book: pl.DataFrame) -> Callable[..., pl.DataFrame | pl.Series]:
        """A filter of frames to the rows of ``ids`` (one of ``book``'s loans each); or, with
        ``mask=True``, the rows' membership itself."""
        def of(frame: pl.DataFrame, mask: bool = False) -> pl.DataFrame | pl.Series:
            member = frame["loan_id"].is_in(ids.implode())
            return member if mask else frame.filter(member)
        return of

    @staticmethod
    def step(book: Book, terms: pl.DataFrame, day: dt.date, schemes: Mapping[str, tuple[int, ...]],
             pauses: pl.DataFrame) -> DayResult:
        """The trial step: the day after, with no payment and no adjustment."""
        return step(book, terms, pl.DataFrame(schema=PAYMENTS), day, schemes, None, pauses)


class _Keys(_Ids):
    @staticmethod
    def ordered(frame: pl.DataFrame) -> pl.DataFrame:
        return sort_by_key(frame)

    @staticmethod
    def among(ids: pl.Series, book: pl.DataFrame) -> Callable[..., pl.DataFrame | pl.Series]:
        # The keys are below the book's size: membership is a table indexed by key.
        table = np.zeros(book.height, dtype=bool)
        table[ids.to_numpy()] = True
        member_of = pl.Series("member", table)

        def of(frame: pl.DataFrame, mask: bool = False) -> pl.DataFrame | pl.Series:
            member = member_of.gather(frame["loan_id"])
            return member if mask else frame.filter(member)
        return of

    @staticmethod
    def step(book: Book, terms: pl.DataFrame, day: dt.date, schemes: Mapping[str, tuple[int, ...]],
             pauses: pl.DataFrame) -> DayResult:
        none = pl.DataFrame(schema=keyed(PAYMENTS, book.loans))
        return step_on_keys(book, terms, none, day, schemes, pl.DataFrame(schema=keyed(adj_rules.ADJUSTMENTS, book.loans)),
                            pauses)


_on_strings, _on_keys = _Ids(), _Keys()


def _aligned(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> bool:
    """Whether ``a`` and ``b`` hold the same keys in the same order."""
    return a.height == b.height and a.select(keys).equals(b.select(keys))


def _same(a: pl.DataFrame, b: pl.DataFrame) -> pl.Series:
    """Whether each row of aligned frames ``a`` and ``b`` (same columns) is the same, nulls equal."""
    return pl.select(pl.all_horizontal([a[c].eq_missing(b[c]) for c in a.columns])).to_series()


def _differing(a: pl.DataFrame, b: pl.DataFrame) -> pl.LazyFrame:
    """``loan_id`` of the rows where aligned frames ``a`` and ``b`` (same columns) differ, nulls equal."""
    return a["loan_id"].filter(~_same(a, b)).to_frame().lazy()


def _span(loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, day: dt.date,
          schemes: Mapping[str, tuple[int, ...]]) -> pl.LazyFrame:
    """``loan_id, quiet_until``: the day before each loan's next event day after ``day``, or the day
    before a day its state schedules (a settlement's deadline, the end of a probation). ``terms``:
    those of ``loans``, no others."""
    one = pl.duration(days=1)
    later = lambda e: pl.when(e > pl.lit(day, pl.Date)).then(e)  # noqa: E731
    own = loans.lazy().select("loan_id", pl.min_horizontal(
        later(pl.col("settlement_pay_by")), later(pl.col("settlement_pay_by") + one),
        later(pl.col("probation_until")), later(pl.col("probation_until") + one)).alias("state_next"))
    nxt = next_event_day(terms.lazy(), inst.lazy(), schemes, day,
                         edges_of=(unpaid_principal() + unpaid_interest()) > 0)
    horizon = pl.lit(day + dt.timedelta(days=HORIZON), pl.Date)
    return own.join(nxt, on="loan_id", how="left").select(
        "loan_id", pl.min_horizontal(pl.min_horizontal("state_next", "next") - one, horizon).alias("quiet_until"),
    )


def _basis(loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, on: dt.date) -> pl.LazyFrame:
    """What the snapshot counts of each quiet loan, fixed over its span (see the module docstring)."""
    bal = balances(loans, inst, on).select(
        "loan_id", "principal_outstanding", (pl.col("total_outstanding") - pl.col("accrued_interest")).alias("owed"))
    current = inst.lazy().filter((pl.col("period_start") < on) & (pl.col("due_on") > on)).select(
        "loan_id", "period_start", "due_on", "interest",
        interest_settled().alias("interest_less"),
        pl.len().over("loan_id").alias("_accruing"),
    )
    base = loans.lazy().select("loan_id", "status", "bucket", interest_held().alias("interest_held"))
    if bal.height == loans.height and bal["loan_id"].equals(loans["loan_id"]):
        # ``balances`` keeps its input's order: set beside the loans rather than joined.
        base = pl.concat([base, bal.lazy().drop("loan_id")], how="horizontal")
    else:
        base = base.join(bal.lazy(), on="loan_id", how="left")
    # Two instalments accruing at once (a restructure's overlap) is not worth a special case: such a
    # loan is simply stepped (it drops out here, so its watch says "every day").
    return (
        base.join(terms.lazy().select("loan_id", "currency"), on="loan_id")
        .join(current, on="loan_id", how="left")
        .filter(pl.col("_accruing").is_null() | (pl.col("_accruing") == 1))
        .drop("_accruing")
    )


def quiet_totals(watch: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """What the quiet loans of ``watch`` count for in the snapshot of each day from ``first`` to
    ``last`` that falls in their span, per day, currency and bucket (``QUIET_TOTALS``): their
    stocks, valued on each day with the expressions ``balances`` uses."""
    span = watch.filter(pl.col("quiet_until").is_not_null() & (pl.col("quiet_until") >= first))
    if span.is_empty() or first > last:
        return pl.DataFrame(schema=QUIET_TOTALS)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    # Every span begins on ``first`` (or before): a loan counts on day k when its span's last day
    # (``end``, an offset from ``first``) is k or later. What is fixed over a span is summed per last
    # day, then over the last days from k on (a difference array: O(loans), not O(loans x days)).
    # Only the current period's accrued interest moves from day to day, and, rounded per loan, it
    # does not sum over days: it is valued per day, one column a day, without repeating the rows.
    end = (pl.min_horizontal("quiet_until", pl.lit(last, pl.Date)) - pl.lit(first, pl.Date)).dt.total_days()
    is_open = pl.col("status").is_in(OPEN_IN_SNAPSHOT)
    frame = span.lazy().select(
        "currency", "bucket", end.alias("end"), is_open.alias("open"), "status", "principal_outstanding", "owed",
        "period_start", "due_on", "interest", "interest_less", "interest_held",
    )
    fixed = frame.group_by("currency", "bucket", "end").agg(
        pl.len().cast(pl.Int64).alias("members"),
        pl.col("open").sum().cast(pl.Int64).alias("loans"),
        pl.col("principal_outstanding").filter(pl.col("open")).sum().alias("principal_outstanding"),
    )
    per_day = (
        fixed.join(pl.LazyFrame({"k": list(range(len(days)))}, schema={"k": pl.Int64}), how="cross")
        .filter(pl.col("end") >= pl.col("k"))
        .group_by("currency", "bucket", "k")
        .agg(pl.col("members", "loans", "principal_outstanding").sum())
    )
    # (A column a day, then plain sums: cheaper than a filter inside each aggregation.)
    totals = frame.filter(pl.col("open")).select("currency", "bucket", *[
        pl.when(pl.col("end") >= k).then(pl.col("owed") + accrued_net(_gross_on(d), pl.col("interest_held"))).alias(str(k))
        for k, d in enumerate(days)
    ]).group_by("currency", "bucket").agg(pl.all().sum()).unpivot(index=["currency", "bucket"], variable_name="k", value_name="total_outstanding").with_columns(
        pl.col("k").cast(pl.Int64))
    return (
        per_day.join(totals, on=["currency", "bucket", "k"], how="left")
        .with_columns(
            (pl.lit(first, pl.Date) + pl.duration(days=pl.col("k"))).alias("day"),
            pl.col("total_outstanding").fill_null(0),
        )
        .select(QUIET_TOTALS.names())
        .cast(dict(QUIET_TOTALS))
        .collect(engine=ENGINE)
    )


def _gross_on(day: dt.date) -> pl.Expr:
    """The current instalment's interest accrued by ``day`` (null outside its period)."""
    d = pl.lit(day, pl.Date)
    return pl.when((pl.col("period_start") < d) & (pl.col("due_on") > d)).then(accrued_gross(d, pl.col("interest_less")))
