"""Replay: fold the day step over a loan's history, from disbursement to any date.

Only event days are stepped (disbursement, due dates, the first late day after grace, bucket edges
and charge-off of every instalment, cap changes, payments); the quiet days between them accrue in
one go inside ``step``. A two-year loan replays in a few dozen steps instead of 730, so the view of
one account, a backdated payment and ``--known-at`` all re-derive from the facts cheaply, through
exactly the rules the nightly close runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from arrears.book import adjustments as adj_rules
from arrears.book.state import ALLOCATIONS, MOVEMENTS, TRANSITIONS, initial_state
from arrears.book.step import Book, step
from arrears.book.takeon import takeon_state


@dataclass(frozen=True, slots=True)
class History:
    book: Book
    allocations: pl.DataFrame
    transitions: pl.DataFrame
    movements: pl.DataFrame


def _instalment_events(schemes: Mapping[str, tuple[int, ...]]) -> tuple[list[pl.Expr], list[int], list[pl.Expr]]:
    """The event days an instalment makes (over instalments joined with ``grace_days`` and
    ``charge_off_dpd``): its due dates (contractual and adjusted); then, as days after the adjusted
    one, the day after it plus every bucket edge (constants, ascending), and the first late day after
    grace and charge-off (per loan)."""
    edges = sorted({e for s in schemes.values() for e in s} | {1})
    return [pl.col("due_on"), pl.col("adjusted_due_on")], edges, [pl.col("grace_days") + 1, pl.col("charge_off_dpd")]


def _instalment_event_exprs(schemes: Mapping[str, tuple[int, ...]]) -> list[pl.Expr]:
    """``_instalment_events`` as dates."""
    dues, edges, offsets = _instalment_events(schemes)
    due = pl.col("adjusted_due_on")
    return [*dues, *[due + pl.duration(days=e) for e in edges], *[due + pl.duration(days=1) * o for o in offsets]]


# The event days a loan's terms make: disbursement and a cap change.
_LOAN_EVENT_COLUMNS = ("disbursed_on", "cap_switch_on")


def loan_event_days(
    terms: pl.DataFrame, inst: pl.DataFrame, schemes: Mapping[str, tuple[int, ...]]
) -> pl.DataFrame:
    """Per loan (``loan_id``, ``day``), every event day its terms and instalments make."""
    j = inst.join(terms.select("loan_id", "grace_days", "charge_off_dpd"), on="loan_id")
    per_inst = j.select("loan_id", pl.concat_list(_instalment_event_exprs(schemes)).alias("day")).explode("day")
    per_loan = terms.select("loan_id", pl.concat_list(_LOAN_EVENT_COLUMNS).alias("day")).explode("day")
    return pl.concat([per_inst, per_loan.cast({"day": pl.Date})]).drop_nulls("day")


def next_event_day(
    terms: pl.DataFrame, inst: pl.DataFrame, schemes: Mapping[str, tuple[int, ...]], after: dt.date,
    *, edges_of: pl.Expr | None = None,
) -> pl.DataFrame:
    """Per loan of ``terms`` (``loan_id``, ``next``): its first event day after ``after`` (null: none).

    ``edges_of``: only instalments matching it make days other than their due dates (an instalment
    paid in full can no longer be late, so its grace, bucket and charge-off days change nothing)."""
    # In days since the epoch (a date's physical value): the first event after ``after`` is the
    # first offset past ``after - adjusted_due_on``, an integer comparison an event, rather than a
    # date built for every event of every instalment (at the close's sizes, half of the watch's span).
    dues, edges, offsets = _instalment_events(schemes)
    at = pl.lit((after - _EPOCH).days, pl.Int32)
    due = pl.col("adjusted_due_on").to_physical()
    since = at - due
    first_edge = pl.when(since < edges[0]).then(edges[0])
    for e in edges[1:]:
        first_edge = first_edge.when(since < e).then(e)
    first_after = pl.min_horizontal(first_edge, *[pl.when(since < o).then(o) for o in offsets])
    keep = edges_of if edges_of is not None else pl.lit(True)
    j = inst.join(terms.select("loan_id", "grace_days", "charge_off_dpd"), on="loan_id")
    per_inst = j.select(
        "loan_id",
        pl.min_horizontal(*[pl.when(d.to_physical() > at).then(d.to_physical()) for d in dues],
                          pl.when(keep).then(due + first_after)).cast(pl.Int32).cast(pl.Date).alias("next"),
    ).group_by("loan_id").agg(pl.col("next").min())
    later = lambda e: pl.when(e > pl.lit(after, pl.Date)).then(e)  # noqa: E731
    per_loan = terms.select("loan_id", pl.min_horizontal(*[later(pl.col(c)) for c in _LOAN_EVENT_COLUMNS]).alias("own"))
    return per_loan.join(per_inst, on="loan_id", how="left").select(
        "loan_id", pl.min_horizontal("own", "next").alias("next"))


_EPOCH = dt.date(1970, 1, 1)


def event_days(
    terms: pl.DataFrame,
    inst: pl.DataFrame,
    payments: pl.DataFrame,
    schemes: Mapping[str, tuple[int, ...]],
    after: dt.date,
    until: dt.date,
    extra: tuple[dt.date, ...] = (),
) -> list[dt.date]:
    """Every day in (after, until] on which something can change for these loans, and ``until``."""
    days: set[dt.date] = set(extra) | {until}
    days |= set(terms["disbursed_on"].to_list())
    days |= set(loan_event_days(terms, inst, schemes)["day"].unique().to_list())
    days |= set(payments["paid_on"].to_list())
    return sorted(d for d in days if d is not None and after < d <= until)


def _state_days(book: Book) -> set[dt.date]:
    """Days the state itself schedules: a settlement's deadline, the end of a probation."""
    out: set[dt.date] = set()
    one = dt.timedelta(days=1)
    for col in ("settlement_pay_by", "probation_until"):
        for d in book.loans[col].drop_nulls().to_list():
            out |= {d, d + one}
    return out


def replay(
    terms: pl.DataFrame,
    schedule: pl.DataFrame,
    payments: pl.DataFrame,
    until: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    adjustments: pl.DataFrame | None = None,
) -> History:
    """The state of ``terms``' loans at the end of ``until``, from their facts alone.

    Take-on loans start from their take-on balances (``book.takeon``) and replay only what
    happened after their take-on date; the others start before their disbursement.
    """
    adjustments = adjustments if adjustments is not None else pl.DataFrame(schema=adj_rules.ADJUSTMENTS)
    groups = []
    plain = terms.filter(pl.col("takeon_date").is_null())
    if not plain.is_empty():
        groups.append((plain, None))
    for (day,), group in terms.filter(pl.col("takeon_date").is_not_null()).group_by("takeon_date"):
        groups.append((group, day))
    parts = [
        _replay_group(
            g, schedule.join(g.select("loan_id"), on="loan_id"),
            payments.join(g.select("loan_id"), on="loan_id"),
            adjustments.join(g.select("loan_id"), on="loan_id"), until, schemes, takeon_day,
        )
        for g, takeon_day in groups
    ]
    if not parts:
        loans, inst = initial_state(terms, schedule)
        return History(Book(loans, inst), pl.DataFrame(schema=ALLOCATIONS), pl.DataFrame(schema=TRANSITIONS),
                       pl.DataFrame(schema=MOVEMENTS))
    return History(
        Book(pl.concat([p.book.loans for p in parts]), pl.concat([p.book.inst for p in parts])),
        pl.concat([p.allocations for p in parts]),
        pl.concat([p.transitions for p in parts]),
        pl.concat([p.movements for p in parts]),
    )


def _replay_group(
    terms: pl.DataFrame,
    schedule: pl.DataFrame,
    payments: pl.DataFrame,
    adjustments: pl.DataFrame,
    until: dt.date,
    schemes: Mapping[str, tuple[int, ...]],
    takeon_day: dt.date | None,
) -> History:
    if takeon_day is not None:
        loans, inst = takeon_state(terms, schedule, schemes)
        start = takeon_day
        # Only events after the take-on date are replayed: the other system accounted for the rest.
        payments = payments.filter(pl.col("paid_on") > takeon_day)
        adjustments = adjustments.filter(pl.col("effective_on") > takeon_day)
    else:
        loans, inst = initial_state(terms, schedule)
        start = terms["disbursed_on"].min() - dt.timedelta(days=1)
    book = Book(loans.with_columns(pl.lit(start, pl.Date).alias("as_of")), inst)
    pz = adj_rules.pauses(adjustments)
    fact_days = set(adjustments["effective_on"].to_list()) | set(pz["start_on"].to_list())
    fact_days |= set(pz["end_on"].drop_nulls().to_list())
    one = dt.timedelta(days=1)
    closing = set(adjustments.filter(pl.col("type") == "write_off")["effective_on"].to_list())
    for agreed, params in adjustments.filter(pl.col("type") == "settlement").select("effective_on", "params").rows():
        pay_by = dt.date.fromisoformat(json.loads(params)["pay_by"])
        fact_days |= {pay_by, pay_by + one}
        closing |= {d for d in payments["paid_on"].to_list() if agreed <= d <= pay_by}
    # A loan closed by a decision (written off, or settled by a payment) keeps the dpd and bucket of
    # the day before, as the nightly close does: that day is stepped too, not jumped over.
    fact_days |= {d - one for d in closing}
    ageing = pz.filter(pl.col("ageing_pause"))
    if not ageing.is_empty():
        # dpd stands still under an ageing pause, so bucket edges move: step every day from the
        # first such pause rather than predict where the edges land.
        first = ageing["start_on"].min()
        fact_days |= {first + dt.timedelta(days=k) for k in range(max((until - first).days + 1, 0))}
    allocations, transitions, movements = [], [], []
    days = event_days(terms, inst, payments, schemes, start, until, tuple(fact_days | _state_days(book)))
    i = 0
    while i < len(days):
        day = days[i]
        today = adjustments.filter(pl.col("effective_on") == day)
        result = step(book, terms, payments.filter(pl.col("paid_on") == day), day, schemes, today, pz)
        book = result.book
        allocations.append(result.allocations)
        transitions.append(result.transitions)
        movements.append(result.movements)
        if not today.filter(pl.col("type").is_in(["restructure", "settlement"])).is_empty():
            # A new schedule or a deadline: the days ahead are worked out again from the new state.
            later = event_days(terms, book.inst, payments, schemes, day, until,
                               tuple(d for d in fact_days | _state_days(book) if d > day))
            days = days[: i + 1] + later
        i += 1
    return History(
        book,
        pl.concat(allocations) if allocations else pl.DataFrame(schema=ALLOCATIONS),
        pl.concat(transitions) if transitions else pl.DataFrame(schema=TRANSITIONS),
        pl.concat(movements) if movements else pl.DataFrame(schema=MOVEMENTS),
    )
