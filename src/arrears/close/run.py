"""close-day: the shell around the day step. Reads the book, steps it, writes it, one day a commit.

INTERFACE.md's semantics, and how they hold:
- every calendar day is closed, from the book's earliest disbursement, in order;
- each day is one transaction: a close killed mid-day leaves nothing of that day, and the next
  run resumes after the last committed day;
- a closed day is never closed again, so re-running changes nothing;
- one close at a time (``lock.exclusive``); a second concurrent run is refused;
- a fact recorded for a day already closed (a backdated payment, a reversal) re-derives its loan
  from the facts at the next close, through the same step (``book.replay``).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, update

from arrears.book import adjustments as adj_rules
from arrears.book import payments as pay
from arrears.book.promises import PROMISES, decide
from arrears.book.replay import replay
from arrears.book.snapshot import portfolio_snapshot
from arrears.book.state import initial_state
from arrears.book.step import Book, step
from arrears.book.takeon import takeon_state
from arrears.close.lock import exclusive
from arrears.problems import BadInput, Problem
from arrears.store import book_io as io
from arrears.store import tables as t
from arrears.store.bulk import insert_frame
from arrears.store.db import require_current


@dataclass(frozen=True, slots=True)
class DayReport:
    day: dt.date
    loans_stepped: int
    loans_rederived: int
    seconds: float


def _fault(point: str, day: dt.date) -> None:
    # Fault injection for the crash-safety tests: ARREARS_FAULT=<point>:<YYYY-MM-DD> makes this
    # process SIGKILL itself there, exactly as an operator's kill -9 or an OOM killer would.
    if os.environ.get("ARREARS_FAULT") == f"{point}:{day.isoformat()}":
        os.kill(os.getpid(), signal.SIGKILL)


def close_days(
    engine: Engine,
    target: dt.date,
    *,
    today: dt.date,
    allow_future: bool = False,
    on_day: Callable[[DayReport, int, int], None] | None = None,
) -> list[DayReport]:
    """Close every day from the first unclosed one through ``target``."""
    if target > today + dt.timedelta(days=1) and not allow_future:
        raise BadInput([Problem(None, "--date", f"{target} is more than one day past the system date "
                                f"({today}); pass --allow-future to close it anyway")])
    with exclusive(engine):
        with engine.connect() as conn:
            require_current(conn)
            last = io.last_closed(conn)
            first = io.earliest_disbursement(conn) if last is None else last + dt.timedelta(days=1)
        if first is None or target < first:
            return []
        total = (target - first).days + 1
        reports = []
        day = first
        while day <= target:
            with engine.begin() as conn:
                report = close_one(conn, day)
            reports.append(report)
            if on_day:
                on_day(report, len(reports), total)
            day += dt.timedelta(days=1)
        return reports


def close_one(conn: Connection, day: dt.date) -> DayReport:
    started = time.perf_counter()
    yesterday = day - dt.timedelta(days=1)
    products = io.load_products(conn)
    schemes = io.schemes(products)
    terms = io.load_terms(conn, products).filter(
        (pl.col("disbursed_on") <= day) & (pl.col("takeon_date").is_null() | (pl.col("takeon_date") <= day))
    )
    book = io.load_book(conn)
    facts = io.load_payments(conn)
    decisions = io.load_adjustments(conn)
    stale = book.loans.filter(pl.col("as_of") != yesterday)
    if not stale.is_empty():
        raise RuntimeError(f"stored state is not at {yesterday} for {stale.height} loans")
    known = book.loans["loan_id"]
    new = terms.filter(~pl.col("loan_id").is_in(known.implode()))
    # Facts for days already closed re-derive their loans: payments and decisions dated before
    # today, any reversal (it takes its payment out as of the payment's own value date), and any
    # correction (the loan's terms themselves changed).
    late_payments = facts.filter(
        pl.col("applied_by_close").is_null() & ((pl.col("paid_on") < day) | pl.col("reverses").is_not_null())
    )["loan_id"]
    late_decisions = decisions.filter(
        pl.col("applied_by_close").is_null() & ((pl.col("effective_on") < day) | (pl.col("type") == "correction"))
    )["loan_id"]
    # (A loan disbursed or taken on today has no past here to re-derive: it starts fresh below.)
    started_before = terms.filter(
        (pl.col("disbursed_on") < day) & (pl.col("takeon_date").is_null() | (pl.col("takeon_date") < day))
    )["loan_id"]
    redo_ids = pl.concat([new["loan_id"], late_payments, late_decisions]).unique()
    redo_ids = redo_ids.filter(redo_ids.is_in(started_before.implode())).sort().to_list()
    effective = pay.effective(facts)
    adjustments = decisions.select(adj_rules.ADJUSTMENTS.names())
    if redo_ids:
        sub = terms.filter(pl.col("loan_id").is_in(redo_ids))
        hist = replay(sub, io.load_schedule(conn, redo_ids), effective.filter(pl.col("loan_id").is_in(redo_ids)),
                      yesterday, schemes, adjustments.filter(pl.col("loan_id").is_in(redo_ids)))
        io.replace_history(conn, redo_ids, hist.allocations, hist.transitions, hist.movements)
        book = Book(
            pl.concat([book.loans.filter(~pl.col("loan_id").is_in(redo_ids)), hist.book.loans]),
            pl.concat([book.inst.filter(~pl.col("loan_id").is_in(redo_ids)), hist.book.inst]),
        )
    fresh = new.filter((pl.col("disbursed_on") == day) & pl.col("takeon_date").is_null())
    if not fresh.is_empty():
        fl, fi = initial_state(fresh, io.load_schedule(conn, fresh["loan_id"].to_list()))
        book = Book(pl.concat([book.loans, fl]), pl.concat([book.inst, fi]))
    result = step(book, terms, effective.filter(pl.col("paid_on") == day), day, schemes,
                  adjustments.filter(pl.col("effective_on") == day), adj_rules.pauses(adjustments))
    out = result.book
    taken_on = new.filter(pl.col("takeon_date") == day)
    if not taken_on.is_empty():
        # Taken over today: the other system's balances are the state at the end of today.
        tl, ti = takeon_state(taken_on, io.load_schedule(conn, taken_on["loan_id"].to_list()), schemes)
        out = Book(pl.concat([out.loans, tl]), pl.concat([out.inst, ti]))
    _fault("before-write", day)
    io.save_book(conn, out)
    io.append_history(conn, result.allocations, result.transitions, result.movements)
    # Promises: kept or broken from the payments that count; re-decided when their loan was re-derived.
    promises = io.load_promises(conn)
    if not promises.is_empty():
        todo = promises.filter((pl.col("status") == "open") | pl.col("loan_id").is_in(redo_ids))
        decided = decide(todo.select(PROMISES.names()), effective, day)
        changed = decided.join(todo.select("promise_id", "status", "decided_on", "paid_toward"),
                               on="promise_id", suffix="_was").filter(
            (pl.col("status") != pl.col("status_was")) | ~pl.col("decided_on").eq_missing(pl.col("decided_on_was"))
            | (pl.col("paid_toward") != pl.col("paid_toward_was")))
        io.save_promise_outcomes(conn, changed)
    # Portfolio-wide figures come after the step, from its outputs (the step itself has none).
    insert_frame(conn, t.portfolio_snapshots, portfolio_snapshot(out.loans, out.inst, terms, result.movements, day))
    _fault("before-commit", day)
    conn.execute(
        update(t.payments)
        .where(t.payments.c.applied_by_close.is_(None),
               (t.payments.c.paid_on <= day) | t.payments.c.reverses.is_not(None))
        .values(applied_by_close=day)
    )
    conn.execute(
        update(t.adjustments)
        .where(t.adjustments.c.applied_by_close.is_(None),
               (t.adjustments.c.effective_on <= day) | (t.adjustments.c.type == "correction"))
        .values(applied_by_close=day)
    )
    seconds = time.perf_counter() - started
    conn.execute(t.closed_days.insert(), [{
        "day": day, "closed_at": dt.datetime.now(dt.timezone.utc), "loans_stepped": out.loans.height,
        "loans_rederived": len(redo_ids), "seconds": f"{seconds:.3f}",
    }])
    return DayReport(day, out.loans.height, len(redo_ids), seconds)
