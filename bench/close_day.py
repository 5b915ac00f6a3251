"""Benchmark: the nightly close, over a synthetic book of N loans.

Modes (``--mode``):
- ``step``: the pure day step in memory (``arrears.book.step.step``) for one day over the whole
  book: no database, no reading or writing of state. Wall time, loans/s and peak RSS.
- (to come, with the nightly-close issue: ``sqlite`` and ``postgres``, the close end to end
  against a database holding the same book; add them to ``MODES``. Each mode receives the same
  ``Inputs``, so the in-memory figure and the end-to-end figures are for the same book.)

    uv run python bench/close_day.py                       # N = 100,000, 3 repeats
    uv run python bench/close_day.py --n 1000000 --repeat 3
    uv run python bench/close_day.py --n 20000 --profile   # cProfile of one step

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
import datetime as dt
import gc
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from arrears.book.ageing import age
from arrears.book.products import Fee, Product
from arrears.book.schedule import SCHEDULE_SCHEMA
from arrears.book.state import PAYMENTS, initial_state
from arrears.book.step import Book, step
from arrears.book.terms import bucket_schemes, loan_terms
from arrears.calendar import roll

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


@dataclass(frozen=True, slots=True)
class Inputs:
    day: dt.date
    terms: pl.DataFrame
    book: Book
    payments: pl.DataFrame
    schemes: dict[str, tuple[int, ...]]


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


def generate(n: int, seed: int, day: dt.date = DAY) -> Inputs:
    rng = np.random.default_rng(seed)
    d = np.datetime64(day, "D")
    loan_ids = pl.Series("loan_id", [f"L{i:09d}" for i in range(1, n + 1)], dtype=pl.String)
    codes = np.array(list(PRODUCTS))
    product = codes[rng.choice(len(codes), size=n, p=PRODUCT_WEIGHTS)]
    category = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_WEIGHTS)
    term = rng.choice(TERMS, size=n, p=TERM_WEIGHTS).astype(np.int64)
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
            "borrower_id": pl.Series([f"B{i:09d}" for i in range(1, n + 1)], dtype=pl.String),
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
    return Inputs(day, terms, book, _payments(rng, book, terms, day), schemes)


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


def mode_step(inp: Inputs, repeat: int, profile: bool) -> tuple[list[Run], str]:
    """The in-memory day step over the whole book, ``repeat`` times on the same input."""
    runs: list[Run] = []
    note = ""
    for i in range(repeat):
        gc.collect()
        reset = _reset_peak_rss()
        prof = cProfile.Profile() if profile and i == 0 else None
        start = time.perf_counter()
        if prof:
            prof.enable()
        result = step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes)
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
        runs.append(Run(elapsed, peak_rss_mb() if reset else float("nan")))
        if i == 0:
            status = result.book.loans.group_by("status").len().sort("status")
            note = (
                f"after the step: {', '.join(f'{s} {c:,}' for s, c in status.iter_rows())}; "
                f"{result.allocations.height:,} allocations, {result.transitions.height:,} transitions"
            )
        del result
        if prof:
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
            pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return runs, note


MODES: dict[str, Callable[[Inputs, int, bool], tuple[list[Run], str]]] = {"step": mode_step}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="loans in the book (default 100000)")
    ap.add_argument("--seed", type=int, default=20260615)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per mode (default 3)")
    ap.add_argument("--mode", choices=list(MODES), action="append",
                    help="what to measure (repeatable; default: all)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the first run")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    inp = generate(args.n, args.seed)
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

    rows = []
    for mode in args.mode or list(MODES):
        before = _rss_mb()
        runs, note = MODES[mode](inp, args.repeat, args.profile)
        print(f"{mode}: {note}")
        secs = [r.seconds for r in runs]
        rows.append((mode, min(secs), statistics.median(secs), max(r.peak_rss_mb for r in runs), before))
    print(f"\nday {inp.day}, N = {args.n:,} loans, {inp.book.inst.height:,} instalments, "
          f"{inp.payments.height:,} payments, {args.repeat} runs")
    print(f"{'mode':<8} {'best s':>8} {'median s':>9} {'loans/s (best)':>15} {'loans/s (median)':>17} "
          f"{'RSS before MB':>14} {'peak RSS MB':>12}")
    for mode, best, med, peak, before in rows:
        print(f"{mode:<8} {best:>8.2f} {med:>9.2f} {args.n / best:>15,.0f} {args.n / med:>17,.0f} "
              f"{before:>14,.0f} {peak:>12,.0f}")


if __name__ == "__main__":
    main()
