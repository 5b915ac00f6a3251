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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import polars as pl
from sqlalchemy import Connection, Engine

from arrears.book import adjustments as adj_rules
from arrears.book import payments as pay
from arrears.book import quiet as quiet_rules
from arrears.book.keys import in_id_order, in_sorted
from arrears.book.promises import PROMISES, decide
from arrears.book.quiet import QUIET_TOTALS, quiet_totals
from arrears.book.replay import replay
from arrears.book.snapshot import portfolio_snapshot
from arrears.book.state import initial_state
from arrears.book.step import Book, DayResult, step
from arrears.book.takeon import takeon_state
from arrears.close.lock import exclusive
from arrears.close.parts import Part, cut, own_facts
from arrears.problems import BadInput, Problem
from arrears.store import book_io as io
from arrears.store import tables as t
from arrears.store.bulk import ArrowReader, insert_frame, write_changed
from arrears.store.db import require_current

_SQLITE_CACHE_KIB = 1_000_000
# From this many stored loans to step, the day cuts them into this many parts (slices of
# consecutive ids), stepped ``_THREADS`` at a time: Polars leaves a core idle a third of a step's
# time, which the other part's step takes; and the first part's writes begin while the next part
# is stepped (PostgreSQL: the server writes on its own core). From 500,000: at 1M loans (159k
# touched) the parts' fixed costs outweigh the core they win, and the two steps then compete with
# the server's writes (1M PostgreSQL closes 8.7-10.5 s cut from 20,000, 8.3-9.0 s from 500,000; the
# 10M day in memory cut in two: 4.4-4.7 s, uncut 5.8-6.1 s). Not on SQLite, where writing binds
# every value in Python (a 1M close measured 48-63 s in parts under a load of 17: not yet known
# to be the load's alone).
_PARTS_FROM = {"postgresql": 500_000}
_STEP_PARTS = 2
_THREADS = 2
T = TypeVar("T")


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
            first = io.first_book_day(conn) if last is None else last + dt.timedelta(days=1)
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
    """Close ``day``: step the touched loans, leave the quiet ones, record the day. One transaction
    (the caller's): nothing of it is visible until it commits."""
    started = time.perf_counter()
    yesterday = day - dt.timedelta(days=1)
    if conn.dialect.name == "sqlite":
        # The day rewrites rows scattered over the state tables: a page cache large enough to hold
        # them (SQLite's default is 2 MB) saves reading and journalling pages again and again.
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    products = io.load_products(conn)
    schemes = io.schemes(products)
    # Every read is set-based, on connections of its own, before the day writes anything
    # (ArrowReader). Two readers, so that two independent reads run at once (``_Beside``): the
    # database works in C on one while the other's rows arrive, each on a core of its own.
    with ArrowReader(conn) as rd, ArrowReader(conn) as rd2, _Beside(rd, rd2) as beside:
        new_later = beside.submit(io.read_new_loans, rd2, day, products)
        facts = io.read_unapplied_payments(rd, day)
        decisions = io.read_open_adjustments(rd)
        open_facts = facts.filter(pl.col("applied_by_close").is_null())
        open_decisions = decisions.filter(pl.col("applied_by_close").is_null())
        # Facts for days already closed re-derive their loans: payments and decisions dated before
        # today, any reversal (it takes its payment out as of the payment's own value date), and any
        # correction (the loan's terms themselves changed).
        late_payments = open_facts.filter((pl.col("paid_on") < day) | pl.col("reverses").is_not_null())["loan_id"]
        late_decisions = open_decisions.filter(
            (pl.col("effective_on") < day) | (pl.col("type") == "correction"))["loan_id"]
        applied_payments = open_facts.filter((pl.col("paid_on") <= day) | pl.col("reverses").is_not_null())
        applied_decisions = open_decisions.filter(
            (pl.col("effective_on") <= day) | (pl.col("type") == "correction"))
        quiet_ahead = io.read_quiet_stocks(rd, day)
        # Touched: what the watch says must be stepped, every loan with a fact of today (or a late
        # one), and the loans starting. The rest are quiet: their stored state is their state today.
        due_watch, unwatched = io.read_due_watch(rd, day)
        new = new_later.result()
        touched_by_fact = pl.concat([unwatched, applied_payments["loan_id"], applied_decisions["loan_id"], new["loan_id"]])
        touched = pl.concat([due_watch["loan_id"], touched_by_fact]).unique()
        # Instalments settled before today are left where they are, except for loans with an
        # adjustment today (a restructure numbers its instalments after all the old ones).
        whole = applied_decisions["loan_id"].unique()
        part = touched.filter(~touched.is_in(whole.implode()))
        # The terms and the loans' state on the second reader while the first reads the open
        # instalments, the longest read.
        terms_later = beside.submit(lambda: (io.read_terms(rd2, rd2.keys("_close_touched", touched), products),
                                             io.read_loan_states(rd2, rd2.keys("_close_part", part)),
                                             io.read_applied_reversals(rd2, day)))
        open_inst = io.read_instalments(rd, rd.keys("_close_part", part), open_on=day)
        whole_book = io.read_book(rd, rd.keys("_close_whole", whole)) if not whole.is_empty() else None
        # The due loans' watch rows are read already; only the others touched (by a fact) are left.
        others = not_due(touched_by_fact, due_watch["loan_id"])
        old_watch = pl.concat([due_watch, io.read_watch(rd, rd.keys("_close_watch", others))])
        parallel = beside.parallel
        all_terms, part_loans, reversals = terms_later.result()
        facts = pl.concat([facts, reversals])
        terms = all_terms.filter(
            (pl.col("disbursed_on") <= day) & (pl.col("takeon_date").is_null() | (pl.col("takeon_date") <= day)))
        stored = Book(part_loans, open_inst)
        if whole_book is not None:
            stored = Book(pl.concat([stored.loans, whole_book.loans]), pl.concat([stored.inst, whole_book.inst]))
        # In id order (as read through the primary key, or merged or sorted here): the step then
        # neither sorts the book nor puts its results back, nor does the watch's trial step, and
        # the state written is compared with the stored state side by side.
        stored = book_in_id_order(stored)
        ahead = stored.loans.filter(pl.col("as_of") >= day)
        if not ahead.is_empty():
            raise RuntimeError(f"stored state is already past {yesterday} for {ahead.height} loans")
        # A touched loan was quiet since its stored date, so that state is its state at yesterday.
        book = Book(stored.loans.with_columns(pl.lit(yesterday, pl.Date).alias("as_of")), stored.inst)
        # (A loan disbursed or taken on today has no past here to re-derive: it starts fresh below.)
        started_before = terms.filter(
            (pl.col("disbursed_on") < day) & (pl.col("takeon_date").is_null() | (pl.col("takeon_date") < day))
        )["loan_id"]
        redo_ids = pl.concat([new["loan_id"], late_payments, late_decisions]).unique()
        redo_ids = redo_ids.filter(redo_ids.is_in(started_before.implode())).sort()
        fresh = new.filter((pl.col("disbursed_on") == day) & pl.col("takeon_date").is_null())
        taken_on = new.filter(pl.col("takeon_date") == day)
        if not redo_ids.is_empty():
            # A re-derived loan is replayed from all its facts, not only the open ones.
            redo_keys = rd.keys("_close_redo", redo_ids)
            facts = pl.concat([facts, io.read_payments(rd, redo_keys)]).unique("payment_id", keep="first")
            decisions = pl.concat([decisions, io.read_adjustments(rd, redo_keys)]).unique(
                "adjustment_id", keep="first")
        starting = pl.concat([redo_ids, fresh["loan_id"], taken_on["loan_id"]]).unique()
        schedule = io.read_schedule(rd, rd.keys("_close_start", starting)) if not starting.is_empty() else None
    effective = pay.effective(facts)
    adjustments = decisions.select(adj_rules.ADJUSTMENTS.names())
    pauses = adj_rules.pauses(adjustments)
    redo = redo_ids.to_list()
    _fault("before-write", day)
    # Every write of the day goes through one queue, in order, on a thread of its own (``_Writes``):
    # the database works on one core while Polars computes on the other. One connection and one
    # transaction still: only that thread uses the connection until the queue is drained, and the
    # queue is drained, even when the computing fails, before the transaction ends. What does not
    # depend on the step (the facts marked applied, the promises) is written while it runs.
    with _Writes(parallel) as writes:
        writes.submit(io.mark_applied, conn, t.payments, "payment_id", applied_payments["payment_id"].to_list(), day)
        writes.submit(io.mark_applied, conn, t.adjustments, "adjustment_id",
                      applied_decisions["adjustment_id"].to_list(), day)
        writes.submit(_decide_promises, conn, day, redo_ids, effective)
        hist = None
        if redo:
            sub = terms.filter(pl.col("loan_id").is_in(redo_ids.implode()))
            hist = replay(sub, schedule.filter(pl.col("loan_id").is_in(redo_ids.implode())),
                          effective.filter(pl.col("loan_id").is_in(redo_ids.implode())),
                          yesterday, schemes, adjustments.filter(pl.col("loan_id").is_in(redo_ids.implode())))
            writes.submit(io.replace_history, conn, redo, hist.allocations, hist.transitions, hist.movements)
        # The touched loans are stepped in parts (each loan's step is its own), two at a time, each
        # part's next quiet spans worked out as soon as it is stepped and its state and history
        # written meanwhile; the snapshot, which needs every part, once the last one is stepped.
        todays, todays_adjustments = effective.filter(pl.col("paid_on") == day), adjustments.filter(
            pl.col("effective_on") == day)
        parts = day_parts(stored, book, redo_ids, hist.book if hist is not None else None, fresh, schedule, taken_on,
                          schemes, terms, todays, todays_adjustments,
                          _PARTS_FROM.get(conn.dialect.name, 2**62))

        def saved(p: Part, b: Book, r: DayResult | None) -> None:
            writes.submit(_save, conn, p.stored, b)
            if r is not None:
                writes.submit(io.append_history, conn, r.allocations, r.transitions, r.movements)

        result, watch, (snapshot, taken_back) = day_in_parts(
            parts, day, schemes, pauses, saved,
            lambda out, movements: snapshot_and_taken_back(out, terms, movements, old_watch, quiet_ahead, day))
        out = result.book
        writes.submit(lambda: write_changed(conn, t.loan_watch, _changed_rows(watch, old_watch, ["loan_id"]).sort("loan_id"),
                                            _compared(watch, ["loan_id"])))
        # The quiet loans' part of the snapshots: today's as counted ahead, less the loans a fact
        # touched before their quiet span ended; those spans are taken back from the coming days,
        # and the new spans of today's loans added to them.
        horizon = day + dt.timedelta(days=quiet_rules.HORIZON + 1)
        added = quiet_totals(watch, day + dt.timedelta(days=1), horizon)
        writes.submit(io.save_quiet_stocks, conn, day, _plus(_plus(quiet_ahead.filter(pl.col("day") > day), added, 1),
                                                            taken_back.filter(pl.col("day") > day), -1))
        writes.submit(insert_frame, conn, t.portfolio_snapshots, snapshot)
    _fault("before-commit", day)
    seconds = time.perf_counter() - started
    conn.execute(t.closed_days.insert(), [{
        "day": day, "closed_at": dt.datetime.now(dt.timezone.utc), "loans_stepped": out.loans.height,
        "loans_rederived": len(redo), "seconds": f"{seconds:.3f}",
    }])
    return DayReport(day, out.loans.height, len(redo), seconds)


def day_parts(stored: Book, book: Book, redo_ids: pl.Series, hist: Book | None, fresh: pl.DataFrame,
              schedule: pl.DataFrame | None, taken_on: pl.DataFrame, schemes, terms: pl.DataFrame,
              payments: pl.DataFrame, adjustments: pl.DataFrame, cut_from: int) -> list[Part]:
    """The day's parts: the stored loans (``book``: ``stored`` as of yesterday; both in id order)
    cut into ``_STEP_PARTS`` slices of consecutive ids from ``cut_from`` loans; the loans starting
    today (re-derived: ``hist``, the replay of ``redo_ids``; new: ``fresh``) a part of their own;
    the loans taken on today (their state is the end of today's: not stepped) one more."""
    empty = Book(stored.loans.clear(), stored.inst.clear())
    starting, starting_stored = [], empty
    if hist is not None:
        keep = ~pl.col("loan_id").is_in(redo_ids.implode())
        starting_stored = Book(stored.loans.filter(~keep), stored.inst.filter(~keep))
        book = Book(book.loans.filter(keep), book.inst.filter(keep))
        stored = Book(stored.loans.filter(keep), stored.inst.filter(keep))
        starting.append(hist)
    if not fresh.is_empty():
        starting.append(Book(*initial_state(fresh, schedule.join(fresh.select("loan_id"), on="loan_id"))))
    # Few, so merged into id order at little cost.
    extra = book_in_id_order(Book(pl.concat([b.loans for b in starting]), pl.concat([b.inst for b in starting]))
                             ) if starting else empty
    taken = empty
    if not taken_on.is_empty():
        taken = Book(*takeon_state(taken_on, schedule.join(taken_on.select("loan_id"), on="loan_id"), schemes))
    at = cut(book, _STEP_PARTS if book.loans.height >= cut_from else 1)
    extras = [extra.loans["loan_id"], taken.loans["loan_id"]]
    own = [own_facts(f, at, extras) for f in (terms, payments, adjustments)]
    books = [*zip(at.slices(book), at.slices(stored)), (extra, starting_stored), (taken, empty)]
    parts = [Part(b, s, *facts, stepped=i < len(books) - 1) for i, ((b, s), facts) in enumerate(zip(books, zip(*own)))]
    kept = [p for p in parts if not p.book.loans.is_empty()]
    # At least one part stepped (on no loans, if need be): the day's history has its frames.
    return kept if any(p.stepped for p in kept) else [parts[0], *kept]


def day_in_parts(parts: list[Part], day: dt.date, schemes, pauses: pl.DataFrame,
                 saved: Callable[[Part, Book, DayResult | None], None] | None = None,
                 beside: Callable[[Book, pl.DataFrame], T] | None = None) -> tuple[DayResult, pl.DataFrame, T | None]:
    """Each part stepped, and its next quiet spans worked out, ``_THREADS`` at a time (Polars leaves
    a core idle much of a step's time; two steps fill it); ``saved`` called on this thread for each
    part in order as soon as it is stepped, and ``beside`` (the snapshot) once every part is, while
    the last quiet spans are worked out. Returns the day (the parts' rows one part after the other),
    the watch rows, and what ``beside`` gave."""
    with ThreadPoolExecutor(_THREADS, thread_name_prefix="close-part") as pool:
        stepping = [pool.submit(step, p.book, p.terms, p.payments, day, schemes, p.adjustments, pauses)
                    if p.stepped else None for p in parts]
        books, results, watching = [], [], []
        for p, f in zip(parts, stepping):
            r = f.result() if f is not None else None
            b = r.book if r is not None else p.book
            if saved is not None:
                saved(p, b, r)
            books.append(b)
            if r is not None:
                results.append(r)
            watching.append(pool.submit(quiet_rules.watch, b, p.terms, day, schemes, pauses))
        out = Book(pl.concat([b.loans for b in books]), pl.concat([b.inst for b in books]))
        movements = pl.concat([r.movements for r in results])
        aside = beside(out, movements) if beside is not None else None
        watch = pl.concat([w.result() for w in watching])
    day_result = DayResult(out, pl.concat([r.allocations for r in results]),
                           pl.concat([r.transitions for r in results]), movements)
    return day_result, watch, aside


def not_due(ids: pl.Series, due: pl.Series) -> pl.Series:
    """``ids`` that are not among ``due``, the watch's due loans: those come in id order (read
    so, or filtered from a watch in id order), so each id is looked up by a binary search instead of
    hashing every due id (at 10M, 0.37 s on one core). ``ids`` as they come (the day's facts, mostly in
    id order: searched in that order, the look-ups stay in cache), made unique once the few left."""
    member = in_sorted(ids, due) if due.is_sorted() else ids.is_in(due.implode())
    return ids.filter(~member).unique(maintain_order=True)


def book_in_id_order(book: Book) -> Book:
    """``book`` in id order (``keys.in_id_order``), its loans and its instalments put in order side
    by side: each is a copy of every column on one core (at 10M, 0.4 s and 0.6 s)."""
    with ThreadPoolExecutor(1, thread_name_prefix="close-order") as pool:
        loans = pool.submit(in_id_order, book.loans)
        inst = in_id_order(book.inst)
        return Book(loans.result(), inst)


def snapshot_and_taken_back(out: Book, terms: pl.DataFrame, movements: pl.DataFrame, old_watch: pl.DataFrame,
                            quiet_ahead: pl.DataFrame, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The day's portfolio snapshot, and the quiet totals the day's touched loans take back (their
    quiet spans ended early): what the snapshot needs of the quiet loans, and nothing of the watch
    being worked out for tomorrow."""
    horizon = day + dt.timedelta(days=quiet_rules.HORIZON + 1)
    taken_back = quiet_totals(old_watch, day, horizon)
    quiet_today = _plus(quiet_ahead.filter(pl.col("day") == day), taken_back.filter(pl.col("day") == day), -1)
    return portfolio_snapshot(out.loans, out.inst, terms, movements, day, quiet=quiet_today), taken_back


class _Beside:
    """Runs work in a thread of its own, beside the caller's: a read on the second reader while the
    caller reads on the first, or the writes of the state while the caller computes.

    Only where the readers have connections of their own (ADBC; ``True`` for one known to be so):
    a reader that falls back on the command's connection (an in-memory SQLite book, whose pool
    gives each thread a connection of its own) cannot be shared between threads, and then the work
    runs at once, in the caller's thread. Leaving the block waits for the work, even on an error."""

    def __init__(self, *readers: ArrowReader | bool) -> None:
        self.parallel = all(r if isinstance(r, bool) else r.own_connection for r in readers)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="close") if self.parallel else None

    def __enter__(self) -> _Beside:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def submit(self, fn: Callable[..., T], *args) -> Future[T]:
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        done: Future[T] = Future()
        done.set_result(fn(*args))
        return done


class _Writes:
    """The day's writes, in the order submitted, on one thread of their own beside the caller's
    (``_Beside``'s rule: only where the readers had connections of their own; else each runs at
    once, in the caller's thread). Once one fails the rest are skipped (the transaction is lost
    anyway); leaving the block waits for them all and raises the first failure, so nothing uses
    the connection after it and no error goes unseen."""

    def __init__(self, parallel: bool) -> None:
        self._beside = _Beside(parallel)
        self._done: list[Future] = []
        self._failed = False

    def __enter__(self) -> _Writes:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._beside.__exit__(exc_type, *exc)
        if exc_type is None:
            for f in self._done:
                f.result()

    def submit(self, fn: Callable[..., object], *args) -> None:
        def run() -> None:
            if self._failed:
                return
            try:
                fn(*args)
            except BaseException:
                self._failed = True
                raise

        try:
            self._done.append(self._beside.submit(run))
        except BaseException:
            # Run at once (no thread of its own): the error is the caller's now.
            self._failed = True
            raise


def _decide_promises(conn: Connection, day: dt.date, redo_ids: pl.Series, effective: pl.DataFrame) -> None:
    """Promises: kept or broken from the payments that count; re-decided when their loan was
    re-derived. The day's facts hold every payment only of the re-derived loans (the others' are
    today's and not yet applied ones): the payments of the other loans with a promise are read."""
    promises = io.load_promises(conn, open_or=redo_ids.to_list())
    if promises.is_empty():
        return
    todo = promises.filter((pl.col("status") == "open") | pl.col("loan_id").is_in(redo_ids.implode()))
    others = todo.filter(~pl.col("loan_id").is_in(redo_ids.implode()))["loan_id"].unique().sort().to_list()
    counted = effective.filter(pl.col("loan_id").is_in(redo_ids.implode()))
    if others:
        counted = pl.concat([counted, pay.effective(io.load_payments(conn, others))])
    decided = decide(todo.select(PROMISES.names()), counted, day)
    changed = decided.join(todo.select("promise_id", "status", "decided_on", "paid_toward"),
                           on="promise_id", suffix="_was").filter(
        (pl.col("status") != pl.col("status_was")) | ~pl.col("decided_on").eq_missing(pl.col("decided_on_was"))
        | (pl.col("paid_toward") != pl.col("paid_toward_was")))
    io.save_promise_outcomes(conn, changed)


def _plus(a: pl.DataFrame, b: pl.DataFrame, sign: int) -> pl.DataFrame:
    """Quiet totals ``a`` plus (or minus) ``b``, per day, currency and bucket."""
    keys, values = ["day", "currency", "bucket"], ["members", "loans", "principal_outstanding", "total_outstanding"]
    both = pl.concat([a.select(QUIET_TOTALS.names()),
                      b.select(*keys, *[pl.col(c) * sign for c in values]).cast(dict(QUIET_TOTALS))])
    return both.group_by(keys).agg(pl.col(values).sum()).select(QUIET_TOTALS.names()).cast(dict(QUIET_TOTALS))


def _changed_rows(new: pl.DataFrame, old: pl.DataFrame, keys: list[str], ignore: tuple[str, ...] = ()) -> pl.DataFrame:
    """The rows of ``new`` that ``old`` does not hold exactly (``ignore`` aside); both unique by ``keys``.

    With column ``changed``: a bit for each compared column (``_compared``) that differs, or null
    for a row ``old`` does not hold (``bulk.write_changed`` writes only those columns)."""
    # Joined on the key alone and compared column by column: cheaper than hashing whole rows.
    cols = _compared(new, keys, ignore)
    if len(cols) > 62:  # pragma: no cover - the widest state table has 31
        raise ValueError(f"{len(cols)} columns do not fit the bits of an Int64")
    bits = [pl.when(pl.col(c).eq_missing(pl.col(f"{c}__was"))).then(pl.lit(0, pl.Int64)).otherwise(pl.lit(1 << i, pl.Int64))
            for i, c in enumerate(cols)]
    mask = pl.sum_horizontal(bits) if bits else pl.lit(0, pl.Int64)
    if new.height == old.height and new.select(keys).equals(old.select(keys)):
        # The same rows in the same order (the step keeps its input's order; so does the day's usual
        # mix of touched loans): compared side by side, without the join.
        was = old.select([pl.col(c).alias(f"{c}__was") for c in cols])
        return (pl.concat([new, was], how="horizontal").with_columns(mask.alias("changed"))
                .filter(pl.col("changed") != 0).select(*new.columns, "changed"))
    was = old.select(*keys, *[pl.col(c).alias(f"{c}__was") for c in cols], pl.lit(True).alias("__old"))
    return (new.join(was, on=keys, how="left")
            .with_columns(pl.when(pl.col("__old").is_null()).then(None).otherwise(mask).alias("changed"))
            .filter(pl.col("changed").is_null() | (pl.col("changed") != 0)).select(*new.columns, "changed"))


def _compared(frame: pl.DataFrame, keys: list[str], ignore: tuple[str, ...] = ()) -> list[str]:
    """The columns ``_changed_rows`` compares, in the order of its bits."""
    return [c for c in frame.columns if c not in ignore and c not in keys]


def _save(conn: Connection, stored: Book, out: Book) -> None:
    """Write only what changed, row by row: a stepped loan whose state moved only in date keeps its
    row (dated the day it last changed), and so do its unchanged instalments (and, written by the
    caller the same way, its watch row)."""
    # In key order: each page of the table is visited once.
    loans = _changed_rows(out.loans, stored.loans, ["loan_id"], ignore=("as_of",)).sort("loan_id")
    write_changed(conn, t.loan_state, loans, _compared(out.loans, ["loan_id"], ("as_of",)))
    inst = _changed_rows(out.inst, stored.inst, ["loan_id", "n"]).sort("loan_id", "n")
    write_changed(conn, t.instalment_state, inst, _compared(out.inst, ["loan_id", "n"]))
    # Instalments can also go: a rebuilt schedule may be shorter than the one it replaces.
    gone = stored.inst.select("loan_id", "n").join(out.inst.select("loan_id", "n"), on=["loan_id", "n"], how="anti")
    io.delete_instalments(conn, gone)
