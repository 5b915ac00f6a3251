"""Benchmark: the nightly close, over a synthetic book of N loans.

Modes (``--mode``):
- ``step``: the pure day step in memory (``arrears.book.step.step``) for one day over the whole
  book: no database, no reading or writing of state. Wall time, loans/s and peak RSS.
- ``sqlite`` and ``postgres``: ``close_days`` (what ``arrears close-day --date D`` runs) end to end,
  on a database holding the same book as of D-1: every read, the step, every write, the commit.
  Wall time, book loans/s, touched loans/s, peak RSS of the closing process, and the time of each
  read/compute/write phase. PostgreSQL: ``--pg-url`` (a server where the bench may create
  databases), else a throwaway cluster started as tests/conftest.py does. See "end to end" below.
- ``touched``: the close's in-memory work for one day (``close_in_memory``: what ``close_one`` does
  between its reads and its writes: the touched loans from the watch, the step of those loans, their
  next quiet spans, the quiet loans' part of the snapshots, the snapshot), on the book as the close
  holds it (``Held``: the watch of the whole book; the state, OPEN instalments and terms of the
  touched loans only). Its own generation, ``--slice`` loans at a time, so that N can be 10M;
  ``--held DIR`` keeps that book as Parquet for the next run. Wall and CPU time, book loans/s
  (N / time), touched loans/s, peak RSS, and the time of each phase.
- ``replay``: a full recomputation in memory, ``book.replay`` of every loan from disbursement to D.
- ``import``: the import of N borrowers and N loans through the real importer (runs
  bench/import_loans.py, into SQLite and into the PostgreSQL server).
Each mode receives the same ``Inputs``, so the in-memory and end-to-end figures are for one book.
``--shape`` picks the book (``SHAPES``: the first one measured, the issue's typical day, a day with
5% of loans touched); ``--full`` makes the close step every loan (a full recomputation of the day);
``--days K`` closes K days one after another, as the closed-loop simulator does. The loaded
database holds what the close of D-1 would have left, ``loan_watch`` and ``quiet_stocks`` included,
computed with the close's own functions (``book.quiet``).

    uv run python bench/close_day.py --n 1000000 --repeat 1 --mode sqlite --mode postgres --shape issue
    uv run python bench/close_day.py --n 1000000 --mode sqlite --shape quiet [--full]   # a 5% day vs a full one
    uv run python bench/close_day.py --n 20000 --mode sqlite --mode postgres --shape issue --days 30  # the simulator
    uv run python bench/close_day.py                       # step, sqlite, postgres; N = 100,000, 3 repeats
    uv run python bench/close_day.py --n 1000000 --repeat 1 --mode sqlite --mode postgres
    uv run python bench/close_day.py --n 20000 --profile   # cProfile of one step / one close
    uv run python bench/close_day.py --n 1000000 --mode import
    flock /tmp/arrears-heavy.lock uv run python bench/close_day.py --n 10000000 --repeat 2 --mode touched \
        --shape issue --slice 500000 --held /tmp/held_10m   # the issue's 10M in-memory day

The book is generated with NumPy from a fixed seed, directly as the step's input frames (terms,
instalments, loan state as of D-1, the payments of D), not through the import: building a million
schedules loan by loan in Python would take longer than what is measured.

Shortcuts, all in the generation (none in what is timed):
- Schedules are computed vectorised (annuity: the rounded exact payment, interest half-up on the
  running balance, the last instalment takes the rest; equal principal: principal // term, the last
  takes the rest). They are close to ``book.schedule``'s but not identical to its steered annuity:
  a benchmark input, not the product's rule. Only monthly frequencies, regular first period.
- The state as of D-1 is not replayed: ``initial_state`` then, directly in Polars, every instalment
  due before a per-loan cut-off is marked fully paid (current loans: everything due before D;
  delinquent loans: everything due before D-1-X for a drawn X; paid-off loans: everything).
  Penalty and late fees accrued so far are approximated in closed form (penalty held to the cap
  minus the contract rate on capped products, no whole-loan cap, nothing in ``capped_micro``).
  dpd, dofd, bucket, status and charge-off then come from the product's own ``ageing.age`` run on
  D-1; ``charged_off_on`` and ``closed_on`` are moved back to when they would have happened, and
  ``bucket_since`` is left at D-1.
- Peak RSS is reset before every timed run (``/proc/self/clear_refs``, which also resets
  ``getrusage``'s ``ru_maxrss``), so it is the step's own high-water mark with the inputs already
  in memory, not the generator's.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import gc
import glob
import multiprocessing
import os
import pstats
import pwd
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from arrears.book.adjustments import ADJUSTMENTS, PAUSES
from arrears.book.ageing import age
from arrears.book.payments import effective
from arrears.book.products import Fee, Product
from arrears.book.quiet import HORIZON, QUIET_TOTALS, quiet_totals, watch
from arrears.book.replay import event_days, replay
from arrears.book.schedule import SCHEDULE_SCHEMA
from arrears.book.state import INSTALMENT_STATE, LOAN_STATE, PAYMENTS, initial_state
from arrears.book.step import Book, DayResult, step
from arrears.book.terms import bucket_schemes, loan_terms
from arrears.calendar import roll
from arrears.close.run import (  # the close's own: one definition
    _PARTS_FROM,
    _plus,
    book_in_id_order,
    day_in_parts,
    day_parts,
    not_due,
    snapshot_and_taken_back,
)
from arrears.store import tables as t
from arrears.store.bulk import insert_frame
from arrears.store.db import make_engine, upgrade

DAY = dt.date(2026, 6, 15)  # the day being closed (D); the book is as of D-1
CURRENCY = "CNY"
PENALTY_RATE_DAILY_NANO = 500_000  # 0.0005 a day
TERMS = np.array([3, 6, 9, 12, 18, 24])
TERM_WEIGHTS = [0.15, 0.25, 0.10, 0.30, 0.10, 0.10]

PRODUCTS = {
    # As examples/products.toml's cn_online: capped, grace, tolerance, residual write-off, late fee.
    "cn_online": Product(
        code="cn_online", calendar="CN", business_day_rule="next_business_day", grace_days=3,
        arrears_tolerance="1.00", residual_writeoff_below="0.50", cap="cn_licensed_24",
        fees=(Fee(type="late", amount="20.00", max_per_period=1, max_total="100.00"),),
    ),
    # Capped, penalty on principal and interest, component-major, prepayment shortens the term.
    "cn_consumer": Product(
        code="cn_consumer", penalty_base="overdue_principal_and_interest", allocation="component_major",
        prepayment="reduce_term", cap="cn_licensed_24",
    ),
    # No cap (e.g. a partner's book), a longer grace.
    "cn_partner": Product(code="cn_partner", grace_days=5, cap="none"),
}
PRODUCT_WEIGHTS = [0.5, 0.3, 0.2]

# Mix of the book on D-1.
CATEGORIES = ("current", "delinquent", "paid_off", "pending")
CATEGORY_WEIGHTS = [0.78, 0.17, 0.045, 0.005]
# Delinquent loans: the drawn days past the last paid instalment (dpd comes out in (X-31, X]).
DPD_RANGES = [(5, 30), (30, 60), (60, 90), (90, 120), (120, 200)]
DPD_WEIGHTS = [0.45, 0.20, 0.15, 0.10, 0.10]

# Book shapes (``--shape``): the day closed, the term mix and the category mix.
# - default: the book the step figures in docs/performance.md were first taken on (10.6 instalments
#   a loan; D a Monday, so weekend due dates roll onto it: 1 loan in 18 due);
# - issue: the nightly-close issue's typical day: about 6 instalments a loan, D a Wednesday (1 loan
#   in 30 due), 15% delinquent;
# - quiet: a day on which about 5% of the loans have events (few delinquent loans).
SHAPES = {
    "default": (DAY, TERM_WEIGHTS, CATEGORY_WEIGHTS),
    "issue": (dt.date(2026, 6, 17), [0.35, 0.35, 0.15, 0.15, 0.0, 0.0], [0.80, 0.15, 0.045, 0.005]),
    "quiet": (dt.date(2026, 6, 17), [0.35, 0.35, 0.15, 0.15, 0.0, 0.0], [0.94, 0.01, 0.045, 0.005]),
}


@dataclass(frozen=True, slots=True)
class Inputs:
    day: dt.date
    terms: pl.DataFrame
    book: Book
    payments: pl.DataFrame
    schemes: dict[str, tuple[int, ...]]
    loans: pl.DataFrame  # the loans as imported (the ``loans`` table's columns, without recorded_at)
    watch: pl.DataFrame | None = None  # book.quiet.watch of the book on D-1 (the close's loan_watch)


# --- generation ---------------------------------------------------------------------------------


def _add_months(start: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``start`` (datetime64[D]) + ``months``, keeping the day of month clamped to the month's end
    (as ``schedule.add_months`` with the disbursement's own day)."""
    m0 = start.astype("datetime64[M]")
    day_of_month = (start - m0.astype("datetime64[D]")).astype(np.int64)  # 0-based
    target = m0 + months.astype("timedelta64[M]")
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day_of_month, month_len - 1).astype("timedelta64[D]")


def _times_monthly(amount: np.ndarray, rate_nano: np.ndarray) -> np.ndarray:
    """amount x annual_rate / 12, half-up, in integers (as ``schedule._times`` for monthly periods)."""
    return (2 * amount * rate_nano + 12 * 10**9) // (24 * 10**9)


def _schedule(n: int, principal: np.ndarray, rate_nano: np.ndarray, term: np.ndarray, annuity: np.ndarray,
              disbursed: np.ndarray, bdr_next: np.ndarray, loan_ids: pl.Series) -> pl.DataFrame:
    """All instalments of all loans, vectorised over loans (a loop over at most 24 instalments)."""
    kmax = int(term.max())
    r = rate_nano / 12 / 1e9
    pmt = np.rint(principal * r / (1 - (1 + r) ** -term.astype(float))).astype(np.int64)
    each = principal // term
    bal = principal.copy()
    prin = np.zeros((n, kmax), dtype=np.int64)
    intr = np.zeros((n, kmax), dtype=np.int64)
    for k in range(1, kmax + 1):
        live = k <= term
        interest = _times_monthly(bal, rate_nano)
        p = np.where(annuity, np.clip(pmt - interest, 0, bal), np.minimum(each, bal))
        p = np.where(k == term, bal, p)
        p = np.where(live, p, 0)
        prin[:, k - 1] = p
        intr[:, k - 1] = np.where(live, interest, 0)
        bal = bal - p
    loan_idx = np.repeat(np.arange(n), term)
    starts = np.repeat(np.cumsum(term) - term, term)
    k = np.arange(loan_idx.size) - starts + 1
    due = _add_months(disbursed[loan_idx], k)
    # The business-day roll on distinct dates only (a few hundred), then mapped back.
    uniq = np.unique(due)
    rolled = np.array([roll(d, "next_business_day", "CN") for d in uniq.astype(dt.date)], dtype="datetime64[D]")
    adjusted = np.where(bdr_next[loan_idx], rolled[np.searchsorted(uniq, due)], due)
    return pl.DataFrame(
        {
            "loan_id": loan_ids.gather(loan_idx),
            "n": k.astype(np.int32),
            "due_on": due,
            "adjusted_due_on": adjusted,
            "principal": prin[loan_idx, k - 1],
            "interest": intr[loan_idx, k - 1],
        }
    ).cast(dict(SCHEDULE_SCHEMA))


def generate(n: int, seed: int, day: dt.date | None = None, shape: str = "default", first: int = 1) -> Inputs:
    """A book of ``n`` loans numbered from ``first`` (a slice of a larger book: ``generate_touched``)."""
    shape_day, term_weights, category_weights = SHAPES[shape]
    day = day or shape_day
    rng = np.random.default_rng(seed)
    d = np.datetime64(day, "D")
    loan_ids = pl.Series("loan_id", [f"L{i:09d}" for i in range(first, first + n)], dtype=pl.String)
    codes = np.array(list(PRODUCTS))
    product = codes[rng.choice(len(codes), size=n, p=PRODUCT_WEIGHTS)]
    category = rng.choice(len(CATEGORIES), size=n, p=category_weights)
    term = rng.choice(TERMS, size=n, p=term_weights).astype(np.int64)
    annuity = rng.random(n) < 0.7
    # Capped products stay under the 24% cap on the contract rate; the uncapped one goes to 36%.
    rate_pct_bp = np.where(product == "cn_partner", rng.integers(1000, 3600, size=n), rng.integers(800, 2400, size=n))
    rate_nano = rate_pct_bp.astype(np.int64) * 100_000
    principal = rng.integers(1_000, 50_000, size=n).astype(np.int64) * 100 + rng.integers(0, 100, size=n)

    # Disbursement by category, so that each loan can be in its category on D-1.
    dpd_band = rng.choice(len(DPD_RANGES), size=n, p=DPD_WEIGHTS)
    lo = np.array([r[0] for r in DPD_RANGES])[dpd_band]
    hi = np.array([r[1] for r in DPD_RANGES])[dpd_band]
    x = rng.integers(lo, hi)  # delinquent: days since the last paid-up due date
    age_days = np.select(
        [category == 0, category == 1, category == 2],
        [
            rng.integers(1, term * 28),  # current: not yet matured
            x + 32 + rng.integers(0, np.maximum(term * 28 - 32, 1)),  # at least one instalment due before D-1-X
            term * 31 + rng.integers(1, 200),  # paid off: matured
        ],
        default=0,  # pending: disbursed on D
    )
    disbursed = d - age_days.astype("timedelta64[D]")
    # Instalments due strictly before the cut-off are paid in full.
    cutoff = np.select(
        [category == 0, category == 1, category == 2],
        [np.full(n, d), d - 1 - x.astype("timedelta64[D]"), np.full(n, d + 10_000)],
        default=d - 10_000,
    )

    loans = pl.DataFrame(
        {
            "loan_id": loan_ids,
            "borrower_id": pl.Series([f"B{i:09d}" for i in range(first, first + n)], dtype=pl.String),
            "product": product,
            "currency": np.full(n, CURRENCY),
            "principal_minor": principal,
            "annual_rate_nano": rate_nano,
            "term": term,
            "frequency": np.full(n, "monthly"),
            "period_days": pl.Series([None] * n, dtype=pl.Int64),
            "method": np.where(annuity, "annuity", "equal_principal"),
            "disbursed_on": disbursed,
            "first_due_on": pl.Series([None] * n, dtype=pl.Date),
            "contract_date": disbursed,
            "penalty_rate_daily_nano": np.full(n, PENALTY_RATE_DAILY_NANO, dtype=np.int64),
            "lender_type": pl.Series([None] * n, dtype=pl.String),
        }
    )
    terms = loan_terms(loans, PRODUCTS)
    bdr_next = np.isin(product, [c for c, p in PRODUCTS.items() if p.business_day_rule == "next_business_day"])
    schedule = _schedule(n, principal, rate_nano, term, annuity, disbursed, bdr_next, loan_ids)
    state, inst = initial_state(terms, schedule)
    schemes = bucket_schemes(PRODUCTS)
    yesterday = day - dt.timedelta(days=1)

    # --- the state as of D-1 (see the module docstring for the shortcuts)
    cut = pl.DataFrame({"loan_id": loan_ids, "_cut": cutoff, "_cat": category.astype(np.int8)})
    t = terms.select("loan_id", "grace_days", "late_fee", "late_fee_max_total", "cap_rate_nano",
                     "annual_rate_nano", "penalty_rate_nano", "penalty_base")
    inst = (
        inst.join(cut, on="loan_id", how="left")
        .with_columns((pl.col("due_on") < pl.col("_cut")).alias("_paid"))
        .with_columns(
            pl.when("_paid").then(pl.col("principal")).otherwise(0).alias("paid_principal"),
            pl.when("_paid").then(pl.col("interest")).otherwise(0).alias("paid_interest"),
        )
    )
    late_after = pl.col("adjusted_due_on") + pl.duration(days=1) * pl.col("grace_days")
    overdue = (
        inst.filter(~pl.col("_paid") & (pl.col("_cat") == 1))
        .join(t, on="loan_id")
        .with_columns((pl.lit(yesterday, pl.Date) - late_after).dt.total_days().alias("_late_days"))
        .filter(pl.col("_late_days") > 0)
        .with_columns(
            pl.when(pl.col("penalty_base") == "overdue_principal_and_interest")
            .then(pl.col("principal") + pl.col("interest")).otherwise(pl.col("principal")).alias("_base"),
            # Per day, micro-units: base x rate, held to cap - contract rate on capped products.
            pl.when(pl.col("cap_rate_nano").is_null()).then(pl.col("penalty_rate_nano") // 1000)
            .otherwise(pl.min_horizontal(
                pl.col("penalty_rate_nano") // 1000,
                ((pl.col("cap_rate_nano") - pl.col("annual_rate_nano")) // 1000).clip(0) // 365,
            )).alias("_rate_micro"),
            pl.col("late_fee").is_not_null().alias("_fee"),
        )
    )
    inst = (
        inst.join(overdue.select("loan_id", "n", pl.col("_fee").cast(pl.Int64).alias("_f")), on=["loan_id", "n"],
                  how="left")
        .with_columns(pl.col("_f").fill_null(0).alias("late_fees"))
        .drop("_f", "_cut", "_cat", "_paid")
    )
    accrued = overdue.group_by("loan_id").agg(
        (pl.col("_base") * pl.col("_rate_micro") * pl.col("_late_days")).sum().alias("_pen"),
        pl.min_horizontal(
            (pl.col("late_fee") * pl.col("_fee").cast(pl.Int64)).sum(), pl.col("late_fee_max_total").first()
        ).fill_null(0).alias("_fees"),
    )
    state = (
        state.join(cut.select("loan_id", "_cat"), on="loan_id")
        .join(accrued, on="loan_id", how="left")
        .with_columns(
            pl.lit(yesterday, pl.Date).alias("as_of"),
            pl.when(pl.col("_cat") == 3).then(pl.lit("pending")).otherwise(pl.lit("current")).alias("status"),
            pl.col("_pen").fill_null(0).alias("penalty_micro"),
            (pl.col("_fees").fill_null(0) * 1_000_000).alias("fees_micro"),
            pl.col("_fees").fill_null(0).alias("fees_gross"),
        )
        .drop("_cat", "_pen", "_fees")
    )
    state, inst, _ = age(state, inst, terms, yesterday, schemes)
    last_due = inst.group_by("loan_id").agg(pl.col("due_on").max().alias("_last"))
    state = (
        state.join(last_due, on="loan_id", how="left")
        .join(terms.select("loan_id", "charge_off_dpd"), on="loan_id")
        .with_columns(
            pl.when(pl.col("status") == "paid_off").then(pl.col("_last")).otherwise(pl.col("closed_on"))
            .alias("closed_on"),
            pl.when(pl.col("status") == "charged_off")
            .then(pl.lit(yesterday, pl.Date) - pl.duration(days=1) * (pl.col("dpd") - pl.col("charge_off_dpd")))
            .otherwise(pl.col("charged_off_on")).alias("charged_off_on"),
        )
        .drop("_last", "charge_off_dpd")
    )
    book = Book(state, inst)
    payments = _payments(rng, book, terms, day)
    if first != 1:
        payments = payments.with_columns(pl.format("S{}-{}", pl.lit(first), "payment_id").alias("payment_id"))
    return Inputs(day, terms, book, payments, schemes, loans)


def _payments(rng: np.random.Generator, book: Book, terms: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The day's payments: most current loans with an instalment due on D pay it; some delinquent
    loans pay part or all of their arrears; a few current loans prepay or pay off."""
    inst = book.inst.with_columns(
        (pl.col("principal") - pl.col("paid_principal") + pl.col("interest") - pl.col("paid_interest")).alias("_u")
    )
    per_loan = inst.group_by("loan_id").agg(
        pl.col("_u").filter(pl.col("due_on") == day).sum().alias("due_today"),
        pl.col("_u").filter(pl.col("due_on") < day).sum().alias("arrears"),
        (pl.col("principal") - pl.col("paid_principal")).sum().alias("principal_left"),
    )
    x = book.loans.select("loan_id", "status", "penalty_micro", "fees_micro").join(per_loan, on="loan_id")
    u = rng.random(x.height)
    frac = rng.uniform(0.2, 1.3, size=x.height)
    x = x.with_columns(pl.Series("_u", u), pl.Series("_frac", frac)).with_columns(
        pl.when((pl.col("status") == "current") & (pl.col("due_today") > 0) & (pl.col("_u") < 0.9))
        .then(pl.col("due_today"))
        .when(pl.col("status").is_in(["delinquent", "charged_off"]) & (pl.col("_u") < 0.2))
        .then(((pl.col("arrears") + (pl.col("penalty_micro") + pl.col("fees_micro")) // 1_000_000)
               * pl.col("_frac")).cast(pl.Int64))
        # Payoffs (a little over: the rest is held) and partial prepayments.
        .when((pl.col("status") == "current") & (pl.col("_u") < 0.0015))
        .then(pl.col("principal_left") + pl.col("principal_left") // 50)
        .when((pl.col("status") == "current") & (pl.col("_u") < 0.003))
        .then(pl.col("principal_left") // 2)
        .otherwise(0)
        .alias("amount")
    )
    p = x.filter(pl.col("amount") > 0).select("loan_id", "amount")
    return p.select(
        pl.format("P{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias("payment_id"),
        "loan_id", "amount", pl.lit(day, pl.Date).alias("paid_on"),
    ).cast(dict(PAYMENTS))


# --- measurement --------------------------------------------------------------------------------


def _reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_rss_mb: float
    rss_before_mb: float = float("nan")
    phases: dict[str, float] | None = None
    days: list[float] | None = None  # each day's seconds, when several days are closed
    cpu: float = float("nan")  # process CPU time, all threads (the wall time under load includes waiting)


def _repeat(args: argparse.Namespace, work: Callable[[], object], sort_keys: tuple[str, ...]) -> tuple[list[Run], object]:
    """``work`` run ``args.repeat`` times, each with the peak RSS reset first; the first run is
    profiled with ``--profile``. Returns the runs and the first run's result."""
    runs: list[Run] = []
    first: object = None
    for i in range(args.repeat):
        gc.collect()
        before = _rss_mb()
        reset = _reset_peak_rss()
        prof = cProfile.Profile() if args.profile and i == 0 else None
        start, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        result = work()
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
        runs.append(Run(elapsed, peak_rss_mb() if reset else float("nan"), before, cpu=time.process_time() - cpu))
        if i == 0:
            first = result
        del result
        if prof:
            for key in sort_keys:
                pstats.Stats(prof, stream=sys.stdout).sort_stats(key).print_stats(35 if key == "cumulative" else 15)
    return runs, first


def mode_step(inp: Inputs, args: argparse.Namespace) -> tuple[list[Run], str]:
    """The in-memory day step over the whole book, ``repeat`` times on the same input."""
    runs, result = _repeat(args, lambda: step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes),
                           ("cumulative", "tottime"))
    status = result.book.loans.group_by("status").len().sort("status")  # type: ignore[attr-defined]
    note = (
        f"after the step: {', '.join(f'{s} {c:,}' for s, c in status.iter_rows())}; "
        f"{result.allocations.height:,} allocations, {result.transitions.height:,} transitions"  # type: ignore[attr-defined]
    )
    return runs, note


# --- the close's in-memory work for one day, on the book as the close holds it ---------------------


@dataclass(frozen=True, slots=True)
class Held:
    """What ``close.run.close_one`` holds in memory between its reads and its writes, for a book of
    ``n`` loans as of D-1: the watch rows of the whole book (``loan_watch``), the quiet loans' part of
    the snapshots from D on (``quiet_stocks``), and, for the touched loans only, their terms, their
    stored state and their open instalments (``read_instalments(open_on=D)``: what is settled is
    not read), the day's payments, and the terms and schedule of the loans disbursed on D."""

    day: dt.date
    n: int
    schemes: dict[str, tuple[int, ...]]
    watch: pl.DataFrame
    quiet_ahead: pl.DataFrame
    terms: pl.DataFrame
    loans: pl.DataFrame
    inst: pl.DataFrame
    payments: pl.DataFrame
    fresh: pl.DataFrame
    schedule: pl.DataFrame
    instalments_in_book: int


def _open_on(day: dt.date) -> pl.Expr:
    """``store.book_io.read_instalments(open_on=day)``'s filter: the instalments not settled before day."""
    d = pl.lit(day, pl.Date)
    settled = ((pl.col("due_on") < d) & (pl.col("adjusted_due_on") < d)
               & (pl.col("principal") == pl.col("paid_principal") + pl.col("waived_principal"))
               & (pl.col("interest") == pl.col("interest_capped") + pl.col("paid_interest") + pl.col("waived_interest")))
    return ~settled


def _touched_ids(watch_rows: pl.DataFrame, payments: pl.DataFrame, new_ids: pl.Series, day: dt.date) -> pl.Series:
    """The close's touched loans: the watch's due ones (``read_due_watch``), those paying, the new ones."""
    return pl.concat([_due(watch_rows, day)["loan_id"], payments["loan_id"], new_ids]).unique()


def _due(watch_rows: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The watch rows due on ``day`` (``read_due_watch``): loans stepped every day, and spans ended."""
    return watch_rows.filter(pl.col("quiet_until").is_null() | (pl.col("quiet_until") < day))


def generate_held(n: int, seed: int, shape: str, slice_size: int = 1_000_000) -> Held:
    """``Held`` for a book of ``n`` loans, generated ``slice_size`` loans at a time (each slice as
    ``generate`` makes a book, from seed + its index, with loan numbers of its own), keeping of each
    slice only what the close would hold: a 10-million-loan book's full instalment frames would not
    fit beside the step."""
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in ("watch", "ahead", "terms", "loans", "inst", "payments",
                                                            "fresh", "schedule")}
    instalments = 0
    day, schemes = SHAPES[shape][0], {}
    for i, first in enumerate(range(1, n + 1, slice_size)):
        start = time.perf_counter()
        inp = generate(min(slice_size, n + 1 - first), seed + i, shape=shape, first=first)
        day, schemes = inp.day, inp.schemes
        w = book_watch(inp)
        fresh = inp.terms.filter(pl.col("disbursed_on") == day)
        ids = _touched_ids(w, inp.payments, fresh["loan_id"], day).implode()
        started = pl.col("loan_id").is_in(ids) & ~pl.col("loan_id").is_in(fresh["loan_id"].implode())
        parts["watch"].append(w)
        parts["ahead"].append(quiet_ahead(w, day))
        parts["terms"].append(inp.terms.filter(pl.col("loan_id").is_in(ids)))
        parts["loans"].append(inp.book.loans.filter(started))
        parts["inst"].append(inp.book.inst.filter(started & _open_on(day)))
        parts["payments"].append(inp.payments)
        parts["fresh"].append(fresh)
        parts["schedule"].append(inp.book.inst.filter(pl.col("loan_id").is_in(fresh["loan_id"].implode()))
                                 .select(SCHEDULE_SCHEMA.names()))
        instalments += inp.book.inst.height
        del inp, w
        gc.collect()
        print(f"  slice {i + 1}: loans {first:,}..{min(first + slice_size, n + 1) - 1:,} in "
              f"{time.perf_counter() - start:.1f}s; RSS {_rss_mb():,.0f} MB, peak {peak_rss_mb():,.0f} MB", flush=True)
    keys = ["day", "currency", "bucket"]
    ahead = pl.concat(parts.pop("ahead")).group_by(keys).agg(pl.exclude(keys).sum()).sort(keys)
    held = {k: pl.concat(v) for k, v in parts.items()}
    return Held(day, n, schemes, held["watch"], ahead.cast(dict(QUIET_TOTALS)), held["terms"], held["loans"],
                held["inst"], held["payments"], held["fresh"], held["schedule"], instalments)


def _save_held(h: Held, path: Path) -> None:
    """``Held`` as Parquet files, so that runs of two versions of the code time the same book
    without generating it twice (the generation of 10M loans takes about ten minutes)."""
    import json

    path.mkdir(parents=True, exist_ok=True)
    for f in dataclasses.fields(h):
        value = getattr(h, f.name)
        if isinstance(value, pl.DataFrame):
            value.write_parquet(path / f"{f.name}.parquet")
    (path / "meta.json").write_text(json.dumps({"day": h.day.isoformat(), "n": h.n, "schemes": h.schemes,
                                                "instalments_in_book": h.instalments_in_book}))


def _load_held(path: Path) -> Held:
    import json

    meta = json.loads((path / "meta.json").read_text())
    frames = {f.name: pl.read_parquet(path / f"{f.name}.parquet") for f in dataclasses.fields(Held)
              if (path / f"{f.name}.parquet").exists()}
    return Held(day=dt.date.fromisoformat(meta["day"]), n=meta["n"],
                schemes={k: tuple(v) for k, v in meta["schemes"].items()},
                instalments_in_book=meta["instalments_in_book"], **frames)


def close_in_memory(h: Held) -> tuple[DayResult, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``close_one``'s work between its reads and its writes, with its own functions, on a day with
    no adjustments, no pauses and no late facts (nothing re-derived): the touched loans from the
    watch, the step, their next quiet spans, the quiet loans' part of the snapshots, the snapshot.
    Returns the step's result, the new watch rows, the snapshot and the quiet totals ahead."""
    day, yesterday = h.day, h.day - dt.timedelta(days=1)
    due_watch = _due(h.watch, day)
    others = not_due(pl.concat([h.payments["loan_id"], h.fresh["loan_id"]]), due_watch["loan_id"])
    old_watch = pl.concat([due_watch, h.watch.filter(pl.col("loan_id").is_in(others.implode()))])
    terms = h.terms.filter(
        (pl.col("disbursed_on") <= day) & (pl.col("takeon_date").is_null() | (pl.col("takeon_date") <= day)))
    stored = book_in_id_order(Book(h.loans, h.inst))  # read in id order: only checked
    book = Book(stored.loans.with_columns(pl.lit(yesterday, pl.Date).alias("as_of")), stored.inst)
    pauses = pl.DataFrame(schema=PAUSES)
    empty = pl.Series("loan_id", [], pl.String)
    parts = day_parts(stored, book, empty, None, h.fresh, h.schedule, h.fresh.clear(), h.schemes, terms,
                      effective(h.payments).filter(pl.col("paid_on") == day), pl.DataFrame(schema=ADJUSTMENTS),
                      _PARTS_FROM["postgresql"])  # as close_one on PostgreSQL
    horizon = day + dt.timedelta(days=HORIZON + 1)
    result, new_watch, (snapshot, taken_back) = day_in_parts(
        parts, day, h.schemes, pauses, None,
        lambda out, movements: snapshot_and_taken_back(out, terms, movements, old_watch, h.quiet_ahead, day))
    added = quiet_totals(new_watch, day + dt.timedelta(days=1), horizon)
    ahead = _plus(_plus(h.quiet_ahead.filter(pl.col("day") > day), added, 1), taken_back.filter(pl.col("day") > day), -1)
    return result, new_watch, snapshot, ahead


def _timed(fn: Callable, name: str, spent: dict[str, float], cpu: dict[str, float] | None = None) -> Callable:
    """``fn``, adding its wall time to ``spent[name]`` (and its process CPU time to ``cpu[name]``)."""
    def timed(*a, **k):
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
            if cpu is not None:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - start_cpu
    return timed


def mode_touched(args: argparse.Namespace) -> None:
    """``close_in_memory`` on ``generate_held``'s book: its own generation, sliced, so that N can be 10M."""
    start = time.perf_counter()
    h = _load_held(args.held) if args.held and (args.held / "meta.json").exists() else None
    if h is None:
        h = generate_held(args.n, args.seed, args.shape, args.slice)
        if args.held:
            _save_held(h, args.held)
    elif (h.n, h.day) != (args.n, SHAPES[args.shape][0]):
        sys.exit(f"{args.held} holds a book of {h.n:,} loans on {h.day}, not the one asked for")
    gc.collect()
    generation_peak = peak_rss_mb()
    touched = _touched_ids(h.watch, h.payments, h.fresh["loan_id"], h.day).len()
    print(f"generated {args.n:,} loans ({h.instalments_in_book:,} instalments) in {time.perf_counter() - start:.0f}s, "
          f"peak RSS {peak_rss_mb():,.0f} MB; held: {h.watch.height:,} watch rows, {touched:,} touched loans "
          f"({touched / args.n:.1%}): {h.loans.height:,} stored, {h.fresh.height:,} new, {h.inst.height:,} open "
          f"instalments, {h.payments.height:,} payments; RSS {_rss_mb():,.0f} MB", flush=True)
    # Per-phase time: the functions close_in_memory calls, wrapped where they are looked up (this
    # module; the close's; the watch's trial step in book.quiet). The parts are stepped and watched
    # two at a time, the snapshot beside the last ones: the indented lines overlap in wall time
    # (each part's summed), and each one's CPU includes what the others used meanwhile.
    here, quiet_mod, run_mod = sys.modules[__name__], sys.modules[watch.__module__], sys.modules[day_parts.__module__]
    phases = {"parts (cut, facts shared out)": (here, "day_parts"),
              "steps, watches, snapshot": (here, "day_in_parts"),
              "  step (each part)": (run_mod, "step"),
              "  watch (each part)": (quiet_mod, "watch"),
              "    of which the trial step": (quiet_mod, "step_on_keys"),
              "  snapshot, quiet totals taken back": (here, "snapshot_and_taken_back")}
    top = [n for n in phases if not n.startswith(" ")]
    spent: dict[str, float] = {}
    spent_cpu: dict[str, float] = {}
    originals = [(mod, attr, getattr(mod, attr)) for mod, attr in phases.values()]
    for name, (mod, attr) in phases.items():
        setattr(mod, attr, _timed(getattr(mod, attr), name, spent, spent_cpu))
    try:
        runs, first = _repeat(args, lambda: close_in_memory(h), ("tottime", "cumulative"))
    finally:
        for mod, attr, fn in originals:
            setattr(mod, attr, fn)
    result, new_watch, snapshot, _ = first  # type: ignore[misc]
    quiet = new_watch.filter(pl.col("quiet_until").is_not_null()).height
    print(f"touched: stepped {result.book.loans.height:,} loans; {quiet:,} of them quiet from tomorrow; "
          f"{result.allocations.height:,} allocations, {result.transitions.height:,} transitions; "
          f"snapshot {snapshot.height} rows; bench process peak RSS "
          f"{max(generation_peak, *(r.peak_rss_mb for r in runs)):,.0f} MB (generation {generation_peak:,.0f} MB)")
    print(f"\nday {h.day}, N = {args.n:,} loans, {touched:,} touched loans, {h.inst.height:,} open instalments held, "
          f"{args.repeat} runs")
    print(f"{'run':<5} {'seconds':>8} {'CPU s':>7} {'book loans/s':>13} {'touched/s':>11} {'RSS before MB':>14} "
          f"{'peak RSS MB':>12}")
    for i, r in enumerate(runs):
        print(f"{i + 1:<5} {r.seconds:>8.2f} {r.cpu:>7.2f} {args.n / r.seconds:>13,.0f} {touched / r.seconds:>11,.0f} "
              f"{r.rss_before_mb:>14,.0f} {r.peak_rss_mb:>12,.0f}")
    # The CPU time (process, all threads) too: on a shared machine the wall time includes the wait
    # for a core, the CPU time does not.
    print("where the time goes (seconds a run, the mean of the runs; wall, then CPU):")
    for name in phases:  # in this order: the trial step is part of the watch
        print(f"  {name:<34} {spent.get(name, 0.0) / len(runs):>7.2f} {spent_cpu.get(name, 0.0) / len(runs):>7.2f} a run")
    total_wall, total_cpu = statistics.mean(r.seconds for r in runs), statistics.mean(r.cpu for r in runs)
    print(f"  {'the rest (ids, filters, _plus)':<34} {total_wall - sum(spent.get(n, 0.0) for n in top) / len(runs):>7.2f} "
          f"{total_cpu - sum(spent_cpu.get(n, 0.0) for n in top) / len(runs):>7.2f} a run")


# --- end to end: the same book in a database, as of D-1 ------------------------------------------
#
# The book is written straight into the tables (bulk inserts; setup, not timed): products,
# borrowers, loans, schedule, loan_state and instalment_state as of D-1, closed_days up to D-1, the
# payments of D (not yet applied) and, unless --no-history, one past payment per paid instalment
# (applied by the close of its day), because the close reads every stored payment each day. Loans
# disbursed on D are in ``loans`` and ``schedule`` only: the close starts them itself. The loaded
# database is a template; each timed run closes D on a fresh copy of it (a file copy on SQLite,
# CREATE DATABASE ... TEMPLATE on PostgreSQL) in a fresh Python process (``spawn``), so the peak
# RSS is that of a process doing nothing but the close, as ``arrears close-day`` would.

NOW = dt.datetime(2026, 6, 14, 23, 0, tzinfo=dt.timezone.utc)
LOAD_SLICE = 500_000
PG_USER = "postgres"


def book_watch(inp: Inputs) -> pl.DataFrame:
    """The close's watch rows for the book on D-1 (``book.quiet.watch``), as the close of D-1 would
    have left them: the loans started by then."""
    started = inp.loans.filter(pl.col("disbursed_on") < inp.day).select("loan_id")
    book = Book(inp.book.loans.join(started, on="loan_id"), inp.book.inst.join(started, on="loan_id"))
    return watch(book, inp.terms.join(started, on="loan_id"), inp.day - dt.timedelta(days=1), inp.schemes)


def quiet_ahead(w: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The quiet loans' part of the snapshots of D and after, as the close of D-1 would have left it
    (``book.quiet.quiet_totals`` of every watch row), summed over slices of the book."""
    last = day + dt.timedelta(days=HORIZON + 1)
    parts = [quiet_totals(part, day, last) for part in w.iter_slices(100_000)]
    keys = ["day", "currency", "bucket"]
    return pl.concat(parts).group_by(keys).agg(pl.exclude(keys).sum()).sort(keys)


def touched_loans(inp: Inputs) -> tuple[int, str]:
    """The loans the close of D steps: those its watch says change on D (an instalment due, days
    past due moving, penalty accruing, held credit, a cap biting), a payment on D, or disbursed on D."""
    day = inp.day
    w = inp.watch if inp.watch is not None else book_watch(inp)
    due = w.filter(pl.col("quiet_until").is_null() | (pl.col("quiet_until") < day))["loan_id"]
    daily = w.filter(pl.col("quiet_until").is_null())["loan_id"]
    paid = inp.payments["loan_id"].unique()
    fresh = inp.terms.filter(pl.col("disbursed_on") == day)["loan_id"]
    ids = pl.concat([due, paid, fresh]).unique()
    note = (f"touched on {day}: {ids.len():,} loans ({ids.len() / inp.book.loans.height:.1%}): "
            f"{due.len():,} by their watch ({daily.len():,} of them moving every day), {paid.len():,} paying, "
            f"{fresh.len():,} disbursed")
    return ids.len(), note


def history_payments(inp: Inputs) -> pl.DataFrame:
    """One payment per instalment paid by D-1, on its due date (a stand-in for the stored facts)."""
    paid = inp.book.inst.filter((pl.col("paid_principal") + pl.col("paid_interest")) > 0)
    return paid.select(
        pl.format("H{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(10)).alias("payment_id"),
        "loan_id", (pl.col("paid_principal") + pl.col("paid_interest")).alias("amount"),
        pl.col("due_on").alias("paid_on"),
    ).cast(dict(PAYMENTS))


def _db_tables(inp: Inputs, history: bool):
    """(table, frame) pairs: the database at the end of D-1."""
    from arrears.ingest.products import canonical

    day, yesterday = inp.day, inp.day - dt.timedelta(days=1)
    now = pl.lit(NOW, pl.Datetime("us", "UTC"))
    yield t.products, pl.DataFrame({"code": list(PRODUCTS), "definition": [canonical(p) for p in PRODUCTS.values()],
                                    "recorded_at": [NOW] * len(PRODUCTS)})
    yield t.borrowers, inp.loans.select("borrower_id", pl.format("Borrower {}", "borrower_id").alias("name"),
                                        pl.lit("zh-CN").alias("language"), pl.lit("CN").alias("jurisdiction"),
                                        now.alias("recorded_at"))
    yield t.loans, inp.loans.with_columns(now.alias("recorded_at"))
    yield t.schedule, inp.book.inst.select("loan_id", "n", "due_on", "adjusted_due_on",
                                           pl.col("principal").alias("principal_minor"),
                                           pl.col("interest").alias("interest_minor"))
    started = inp.loans.filter(pl.col("disbursed_on") < day).select("loan_id")
    yield t.loan_state, inp.book.loans.join(started, on="loan_id").select(LOAN_STATE.names())
    yield t.instalment_state, inp.book.inst.join(started, on="loan_id").select(INSTALMENT_STATE.names())
    w = inp.watch if inp.watch is not None else book_watch(inp)
    yield t.loan_watch, w
    yield t.quiet_stocks, quiet_ahead(w, day)
    parts = [_payment_rows(inp.payments, None)]
    if history:
        parts.insert(0, _payment_rows(history_payments(inp), "paid_on"))
    yield t.payments, pl.concat(parts)
    yield t.closed_days, pl.DataFrame({"day": [yesterday], "closed_at": [NOW], "loans_stepped": [started.height],
                                       "loans_rederived": [0], "seconds": ["0"]})


def _payment_rows(payments: pl.DataFrame, applied: str | None) -> pl.DataFrame:
    """Payments in the ``payments`` table's columns; ``applied``: the column holding the close that
    applied them (None: not yet applied)."""
    return payments.select(
        "payment_id", "loan_id", pl.col("amount").alias("amount_minor"), pl.lit(CURRENCY).alias("currency"),
        "paid_on", pl.lit("transfer").alias("method"), pl.lit(NOW, pl.Datetime("us", "UTC")).alias("recorded_at"),
        (pl.col(applied) if applied else pl.lit(None, pl.Date)).alias("applied_by_close"))


def later_payments(inp: Inputs, days: int, seed: int) -> list[pl.DataFrame]:
    """Payments for the ``days`` days after D, each made as D's are (from the book of D-1: instalments
    falling due that day paid by most, part of the arrears by some), with ids of their own."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for i in range(1, days + 1):
        day = inp.day + dt.timedelta(days=i)
        p = _payments(rng, inp.book, inp.terms, day)
        out.append(p.with_columns(pl.format("D{}-{}", pl.lit(i), pl.col("payment_id")).alias("payment_id")))
    return out


def load_database(url: str, inp: Inputs, history: bool) -> dict[str, int]:
    engine = make_engine(url)
    upgrade(engine)
    rows = {}
    with engine.begin() as conn:  # begun explicitly: COPY goes through the DBAPI connection
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")  # this loading connection only
        for table, frame in _db_tables(inp, history):
            for part in frame.iter_slices(LOAD_SLICE):
                insert_frame(conn, table, part)
            rows[table.name] = frame.height
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return rows


class PgServer:
    """A throwaway PostgreSQL cluster on a unix socket (as tests/conftest.py starts one; as root,
    initdb and pg_ctl run as ``postgres`` through runuser). Server defaults, fsync on, except a
    larger shared_buffers and max_wal_size, as a server sized for the book would have."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not bins and not shutil.which("initdb"):
            sys.exit("PostgreSQL server binaries not found (apt-get install postgresql), or pass --pg-url")
        self.bindir = Path(bins[-1]) if bins else Path(shutil.which("initdb")).parent
        self.base = Path(tempfile.mkdtemp(prefix="arrears-bench-pg-"))
        self.data, self.sock = self.base / "data", self.base / "sock"

    def _run(self, *cmd: str) -> None:
        argv = [str(c) for c in cmd]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", PG_USER, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
        if proc.returncode:
            sys.exit(f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")

    def start(self) -> str:
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self._run("mkdir", "-m", "0700", self.sock)
        self._run(self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", PG_USER, "-E", "UTF8",
                  "--no-locale", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.sock}'\nport = 5432\n"
                       "shared_buffers = 2GB\nmax_wal_size = 8GB\n")
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.base / "server.log", "-w", "-t", "120", "start")
        return f"postgresql+psycopg://{PG_USER}@/postgres?host={self.sock}&port=5432"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


def _pg_admin(server_url: str, *statements: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for s in statements:
            conn.exec_driver_sql(s)
    engine.dispose()


def _pg_url(server_url: str, dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=dbname).render_as_string(hide_password=False)


def _pg_exists(server_url: str, dbname: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": dbname}).first()
    engine.dispose()
    return found is not None


def _template_name(args: argparse.Namespace) -> str:
    # v3: with loan_watch and quiet_stocks (the incremental close); older templates are not reused.
    return f"book_v3_{args.shape}_n{args.n}_s{args.seed}{'' if args.history else '_nohist'}"


class SqliteBooks:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = args.workdir
        self.template = self.dir / f"{_template_name(args)}.db"

    def prepare(self, inp: Inputs, args: argparse.Namespace) -> str:
        if not self.template.exists() or args.reload:
            loading = self.template.with_suffix(".loading")
            loading.unlink(missing_ok=True)
            start = time.perf_counter()
            rows = load_database(f"sqlite:///{loading}", inp, args.history)
            loading.rename(self.template)
            return f"loaded in {time.perf_counter() - start:.0f}s: {_rows(rows)}"
        return f"reusing {self.template}"

    def copy(self) -> str:
        run = self.template.with_suffix(f".run{os.getpid()}.db")  # one per bench process
        shutil.copyfile(self.template, run)
        return _upgraded(f"sqlite:///{run}")

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        path.unlink(missing_ok=True)
        Path(f"{path}.close.lock").unlink(missing_ok=True)


class PgBooks:
    def __init__(self, args: argparse.Namespace) -> None:
        self.server = args.pg_server_url
        self.template = _template_name(args)
        self.run = f"{self.template}_run{os.getpid()}"

    def prepare(self, inp: Inputs, args: argparse.Namespace) -> str:
        if not _pg_exists(self.server, self.template) or args.reload:
            _pg_admin(self.server, f'DROP DATABASE IF EXISTS "{self.template}"', 'DROP DATABASE IF EXISTS "loading"',
                      'CREATE DATABASE "loading"')
            start = time.perf_counter()
            rows = load_database(_pg_url(self.server, "loading"), inp, args.history)
            _pg_admin(self.server, f'ALTER DATABASE "loading" RENAME TO "{self.template}"')
            return f"loaded in {time.perf_counter() - start:.0f}s: {_rows(rows)}"
        return f"reusing database {self.template}"

    def copy(self) -> str:
        _pg_admin(self.server, f'DROP DATABASE IF EXISTS "{self.run}"',
                  f'CREATE DATABASE "{self.run}" TEMPLATE "{self.template}"')
        return _upgraded(_pg_url(self.server, self.run))

    def drop(self, url: str) -> None:
        _pg_admin(self.server, f'DROP DATABASE IF EXISTS "{self.run}" WITH (FORCE)')


def _upgraded(url: str) -> str:
    """A kept book may predate a migration added since: bring the copy to head (not timed)."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in rows.items())


# Where the close spends its time: the functions close_one calls, wrapped in the child process
# (``name``: (module, attribute)). Nested entries (save_book's delete) are also inside their parent.
PHASES = {
    "read: products": ("arrears.store.book_io", "load_products"),
    "read: unapplied payments (all of their loans')": ("arrears.store.book_io", "read_unapplied_payments"),
    "read: open adjustments and pauses": ("arrears.store.book_io", "read_open_adjustments"),
    "read: loans not yet in the book": ("arrears.store.book_io", "read_new_loans"),
    "read: watch rows of the loans the watch says to step": ("arrears.store.book_io", "read_due_watch"),
    "read: terms of touched loans": ("arrears.store.book_io", "read_terms"),
    "read: state of touched loans (of loans with an adjustment)": ("arrears.store.book_io", "read_book"),
    "read: loan_state of touched loans": ("arrears.store.book_io", "read_loan_states"),
    "read: open instalments of touched loans": ("arrears.store.book_io", "read_instalments"),
    "read: watch rows of the other touched loans": ("arrears.store.book_io", "read_watch"),
    "read: quiet loans' part of the snapshots": ("arrears.store.book_io", "read_quiet_stocks"),
    "compute: quiet loans' part of the snapshots": ("arrears.close.run", "quiet_totals"),
    "read: schedule (new, re-derived)": ("arrears.store.book_io", "read_schedule"),
    "read: promises": ("arrears.store.book_io", "load_promises"),
    "compute: effective payments": ("arrears.book.payments", "effective"),
    "compute: re-derive (replay)": ("arrears.close.run", "replay"),
    "compute: initial state (new loans)": ("arrears.close.run", "initial_state"),
    "compute: step (touched loans)": ("arrears.close.run", "step"),
    "compute: watch (trial step of the next day)": ("arrears.book.quiet", "watch"),
    "compute:   of which the trial step": ("arrears.book.quiet", "step_on_keys"),
    "compute:   of which the quiet span": ("arrears.book.quiet", "_span"),
    "compute:   of which the snapshot basis": ("arrears.book.quiet", "_basis"),
    "compute: snapshot": ("arrears.close.run", "portfolio_snapshot"),
    "compute: what changed (to write)": ("arrears.close.run", "_changed_rows"),
    "write: state, instalments, watch (what changed)": ("arrears.close.run", "_save"),
    "write:   of which upserts": ("arrears.close.run", "write_changed"),
    "write: history (allocations, transitions, movements)": ("arrears.store.book_io", "append_history"),
    "write: insert_frame (instalments, snapshot)": ("arrears.close.run", "insert_frame"),
    "write: facts marked applied": ("arrears.store.book_io", "mark_applied"),
    "write: quiet loans' part of the snapshots": ("arrears.store.book_io", "save_quiet_stocks"),
}


def _close_in_child(url: str, day: dt.date, profile_to: str | None, full: bool = False,
                    later: list[pl.DataFrame] | None = None) -> Run:
    """In a fresh process: close ``day`` on ``url`` (close_days, as ``arrears close-day --date``).

    ``full``: first forget every loan's watch (not timed), so that the close steps, reads and
    writes every loan: a full recomputation of the day, through the same code.
    ``later``: then close one day after another, each day's payments (a frame each) imported
    first (not timed), as the closed-loop simulator does; ``Run.days`` holds each day's seconds."""
    import importlib

    from arrears.close.run import close_days

    phases: dict[str, float] = {}

    for name, (module, attr) in PHASES.items():
        mod = importlib.import_module(module)
        setattr(mod, attr, _timed(getattr(mod, attr), name, phases))
    engine = make_engine(url)
    if full:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM loan_watch")
    gc.collect()
    before = _rss_mb()
    prof = cProfile.Profile() if profile_to else None
    start, cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    reports = close_days(engine, day, today=day)
    if prof:
        prof.disable()
    elapsed = time.perf_counter() - start
    # On a shared machine the wall time includes the wait for a CPU; the CPU time (all threads)
    # does not, so it compares code across runs made under different loads.
    phases["cpu (process time, all threads)"] = time.process_time() - cpu
    if prof:
        prof.dump_stats(profile_to)
    assert [r.day for r in reports] == [day], reports
    phases["total (close_days)"] = elapsed
    days = [elapsed]
    for i, payments in enumerate(later or []):
        nxt = day + dt.timedelta(days=i + 1)
        with engine.begin() as conn:
            insert_frame(conn, t.payments, _payment_rows(payments, None))
        start = time.perf_counter()
        reports = close_days(engine, nxt, today=nxt)
        days.append(time.perf_counter() - start)
        assert [r.day for r in reports] == [nxt], reports
    engine.dispose()
    return Run(sum(days), peak_rss_mb(), before, phases, days)


def _mode_db(books_cls) -> Callable[[Inputs, argparse.Namespace], tuple[list[Run], str]]:
    def mode(inp: Inputs, args: argparse.Namespace) -> tuple[list[Run], str]:
        books = books_cls(args)
        note = books.prepare(inp, args)
        print(f"  {note}", flush=True)
        runs = []
        ctx = multiprocessing.get_context("spawn")
        for i in range(args.repeat):
            url = books.copy()
            prof = str(args.workdir / "close.prof") if args.profile and i == 0 else None
            later = later_payments(inp, args.days - 1, args.seed) if args.days > 1 else None
            with ctx.Pool(1) as pool:
                run = pool.apply(_close_in_child, (url, inp.day, prof, args.full, later))
            books.drop(url)
            runs.append(run)
            print(f"  run {i + 1}: {run.seconds:.2f}s, peak RSS {run.peak_rss_mb:,.0f} MB", flush=True)
            if run.days and len(run.days) > 1:
                d = run.days
                print(f"  {len(d)} days closed one after another: first {d[0]:.2f}s, then mean "
                      f"{statistics.mean(d[1:]):.3f}s, median {statistics.median(d[1:]):.3f}s, max {max(d[1:]):.3f}s "
                      f"a day", flush=True)
            if prof:
                _print_profile(prof)
        return runs, note

    return mode


def _print_profile(path: str) -> None:
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(40)


def mode_replay(inp: Inputs, args: argparse.Namespace) -> tuple[list[Run], str]:
    """A full recomputation in memory: ``book.replay`` of every loan from its disbursement through
    D, from its schedule and every payment (the history and D's). It is what close-day runs for
    the loans it re-derives (late facts, corrections), here for the whole book."""
    schedule = inp.book.inst.select("loan_id", "n", "due_on", "adjusted_due_on", "principal", "interest")
    payments = pl.concat([history_payments(inp), inp.payments])
    start_day = inp.terms["disbursed_on"].min() - dt.timedelta(days=1)
    days = event_days(inp.terms, schedule, payments, inp.schemes, start_day, inp.day)
    runs, _ = _repeat(args, lambda: replay(inp.terms, schedule, payments, inp.day, inp.schemes), ("tottime",))
    note = (f"{len(days):,} event days stepped from {start_day} ({payments.height:,} payments); "
            f"{runs[0].seconds / max(len(days), 1):.2f}s a day")
    return runs, note


def run_import(args: argparse.Namespace) -> None:
    """The import of N borrowers and N loans through the real importer: bench/import_loans.py."""
    import import_loans

    argv = ["--n", str(args.n), "--dir", str(args.workdir / "import")]
    if args.pg_server_url:
        _pg_admin(args.pg_server_url, 'DROP DATABASE IF EXISTS "import_run" WITH (FORCE)', 'CREATE DATABASE "import_run"')
        argv += ["--pg-url", _pg_url(args.pg_server_url, "import_run")]
    import_loans.main(argv)


MODES: dict[str, Callable[[Inputs, argparse.Namespace], tuple[list[Run], str]]] = {
    "step": mode_step,
    "sqlite": _mode_db(SqliteBooks),
    "postgres": _mode_db(PgBooks),
    "replay": mode_replay,
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="loans in the book (default 100000)")
    ap.add_argument("--seed", type=int, default=20260615)
    ap.add_argument("--shape", choices=list(SHAPES), default="default",
                    help="the book's shape (default: as first measured; issue: the issue's typical day; quiet: "
                    "about 5%% of loans with events)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per mode (default 3)")
    ap.add_argument("--mode", choices=[*MODES, "touched", "import"], action="append",
                    help="what to measure (repeatable; default: step, sqlite, postgres)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the first run")
    ap.add_argument("--pg-url", help="a PostgreSQL server (SQLAlchemy URL, any database on it) where the bench "
                    "may create and drop databases; default: start a throwaway cluster")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "arrears-close-bench",
                    help="where the SQLite databases and import files go; loaded SQLite books are kept and reused")
    ap.add_argument("--full", action="store_true",
                    help="sqlite/postgres: forget the watch first, so the close steps every loan (a full "
                    "recomputation of the day, for comparison)")
    ap.add_argument("--days", type=int, default=1,
                    help="sqlite/postgres: close this many days one after another (the simulator's use), "
                    "each day's payments imported before its close (not timed)")
    ap.add_argument("--slice", type=int, default=1_000_000,
                    help="touched: generate the book this many loans at a time (default 1000000)")
    ap.add_argument("--held", type=Path,
                    help="touched: keep the generated book in this directory (Parquet) and reuse it if there")
    ap.add_argument("--reload", action="store_true", help="reload the database even if a loaded book exists")
    ap.add_argument("--no-history", dest="history", action="store_false",
                    help="store only D's payments, not one past payment per paid instalment")
    args = ap.parse_args(argv)
    modes = args.mode or ["step", "sqlite", "postgres"]
    args.workdir.mkdir(parents=True, exist_ok=True)
    server = None
    args.pg_server_url = args.pg_url
    if args.pg_url is None and ("postgres" in modes or "import" in modes):
        server = PgServer()
        args.pg_server_url = server.start()
        print(f"started a throwaway PostgreSQL cluster in {server.base}")
    try:
        _main(args, modes)
    finally:
        if server:
            server.stop()


def _main(args: argparse.Namespace, modes: list[str]) -> None:
    for own, run in (("import", run_import), ("touched", mode_touched)):
        if own in modes:
            run(args)
            modes = [m for m in modes if m != own]
            if not modes:
                return
    start = time.perf_counter()
    inp = generate(args.n, args.seed, shape=args.shape)
    inp = dataclasses.replace(inp, watch=book_watch(inp))
    gen_s = time.perf_counter() - start
    mix = inp.book.loans.group_by("status").len().sort("status")
    dpd = inp.book.loans.filter(pl.col("status").is_in(["delinquent", "charged_off"]))["dpd"]
    print(f"generated {args.n:,} loans, {inp.book.inst.height:,} instalments, {inp.payments.height:,} payments "
          f"({inp.payments['loan_id'].n_unique() / args.n:.1%} of loans) in {gen_s:.1f}s; "
          f"peak RSS so far {peak_rss_mb():,.0f} MB")
    print(f"book on {inp.day - dt.timedelta(days=1)}: {', '.join(f'{s} {c:,}' for s, c in mix.iter_rows())}")
    if dpd.len():
        print(f"dpd of delinquent and charged-off loans: median {dpd.median():.0f}, "
              f"quartiles {dpd.quantile(0.25):.0f}-{dpd.quantile(0.75):.0f}, max {dpd.max()}")
    touched, note = touched_loans(inp)
    print(note, flush=True)

    rows = []
    for mode in modes:
        print(f"{mode}:", flush=True)
        runs, note = MODES[mode](inp, args)
        print(f"{mode}: {note}", flush=True)
        secs = [r.seconds for r in runs]
        rows.append((mode, runs, min(secs), statistics.median(secs)))
    print(f"\nday {inp.day}, N = {args.n:,} loans, {inp.book.inst.height:,} instalments, "
          f"{inp.payments.height:,} payments, {touched:,} touched loans, {args.repeat} runs")
    print(f"{'mode':<9} {'best s':>8} {'median s':>9} {'loans/s (best)':>15} {'loans/s (med)':>14} "
          f"{'touched/s (best)':>17} {'RSS before MB':>14} {'peak RSS MB':>12}")
    for mode, runs, best, med in rows:
        print(f"{mode:<9} {best:>8.2f} {med:>9.2f} {args.n / best:>15,.0f} {args.n / med:>14,.0f} "
              f"{touched / best:>17,.0f} {max(r.rss_before_mb for r in runs):>14,.0f} "
              f"{max(r.peak_rss_mb for r in runs):>12,.0f}")
    for mode, runs, _, _ in rows:
        if runs[0].phases:
            print(f"\n{mode}: where the time goes (seconds, each run)")
            for name in runs[0].phases:
                print(f"  {name:<56} " + " ".join(f"{r.phases.get(name, 0.0):>7.2f}" for r in runs))


if __name__ == "__main__":
    main()
