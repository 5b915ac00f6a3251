"""Benchmark: import N synthetic borrowers and N loans through ``import_file``.

The requirement (issue: imports): 100,000 loans import in well under a minute.

    uv run python bench/import_loans.py                    # N = 100,000 into a fresh SQLite file
    uv run python bench/import_loans.py --n 20000 --pg-url postgresql+psycopg://user@host/empty_db
    uv run python bench/import_loans.py --profile loans    # cProfile of the loans import
    uv run python bench/import_loans.py --n 1000000 --shape issue   # the issue's book: ~6.3 instalments a loan

``--shape`` picks the loans' terms: ``default`` (four markets' products: monthly annuities and equal
principal of 3 to 36 instalments, bullets, biweekly annuities; 14.6 instalments a loan) or ``issue``
(the close issue's reference book, as ``bench/close_day.py --shape issue``: monthly terms of 3, 6, 9
or 12 instalments weighted 35/35/15/15, 6.3 instalments a loan on average).

The files are generated with NumPy from a fixed seed, so a run is repeatable. Each kind is timed
end to end (read, check, convert, derive schedules, write, commit); peak RSS is the process's
high-water mark after that kind (``resource.getrusage``), so it only ever grows. ``CPU s`` is this
process's user + system time for the kind (not the PostgreSQL server's): on a shared machine it
moves less with the load than the wall time. The phases of each kind are timed by wrapping the
functions the importer calls (``PHASES``); "rest" is the commit and everything not wrapped.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from arrears.ingest.runner import import_file
from arrears.store import tables as t
from arrears.store.db import make_engine, upgrade

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BUSINESS_DATE = dt.date(2026, 1, 1)

# (jurisdiction, country, currency, language, phone prefix, time zone, products)
MARKETS = [
    ("CN", "CN", "CNY", "zh-CN", "+86138", "Asia/Shanghai", ["cn_online", "default"]),
    ("US-CA", "US", "USD", "en-US", "+1310555", "America/Los_Angeles", ["us_consumer"]),
    ("US-MA", "US", "USD", "en-US", "+1617555", "America/New_York", ["us_consumer"]),
    ("GB", "GB", "GBP", "en-GB", "+447700", "Europe/London", ["gb_consumer", "default"]),
]
MARKET_WEIGHTS = [0.55, 0.15, 0.1, 0.2]
# --shape issue: monthly terms and their weights as bench/close_day.py's issue book (mean 6.3).
ISSUE_TERMS, ISSUE_TERM_WEIGHTS = [3, 6, 9, 12], [0.35, 0.35, 0.15, 0.15]
SHAPES = ("default", "issue")


def _text(values) -> pl.Series:
    """A string column from a NumPy array (object arrays holding None included)."""
    return pl.Series([None if v is None else str(v) for v in np.asarray(values).tolist()], dtype=pl.String)


def generate(n: int, seed: int, out: Path, shape: str = "default") -> tuple[Path, Path]:
    """``borrowers.csv`` and ``loans.csv`` with n rows each (loans spread over the borrowers)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1)
    market = rng.choice(len(MARKETS), size=n, p=MARKET_WEIGHTS)
    pick = lambda k: np.array([m[k] for m in MARKETS])[market]  # noqa: E731
    has_email = rng.random(n) < 0.6
    phone_digits = rng.integers(0, 10**5, size=n)
    borrowers = pl.DataFrame(
        {
            "borrower_id": [f"B{i:08d}" for i in ids],
            "name": [f"Borrower {i}" for i in ids],
            "phone": [f"{p}{i % 1000:03d}{d:05d}"[:13] for p, i, d in zip(pick(4), ids, phone_digits)],
            "email": [f"b{i}@example.com" if e else None for i, e in zip(ids, has_email)],
            "language": pick(3),
            "jurisdiction": pick(0),
            "timezone": _text(np.where(rng.random(n) < 0.7, pick(5), None)),
            "country": pick(1),
            "date_of_birth": (
                np.datetime64("1960-01-01") + rng.integers(0, 40 * 365, size=n).astype("timedelta64[D]")
            ).astype(str),
            "monthly_income": [f"{x}.{c:02d}" for x, c in zip(rng.integers(1500, 30000, size=n), rng.integers(0, 100, size=n))],
            "monthly_income_currency": pick(2),
        }
    )

    owner = rng.integers(0, n, size=n)  # a loan's borrower; some borrowers get several loans
    lm = market[owner]
    if shape == "issue":  # monthly annuities and equal principal only, the issue's terms
        kind = rng.choice(2, size=n, p=[0.75, 0.25])
        term = rng.choice(ISSUE_TERMS, size=n, p=ISSUE_TERM_WEIGHTS)
    else:
        kind = rng.choice(4, size=n, p=[0.6, 0.2, 0.1, 0.1])  # annuity / equal_principal / bullet / biweekly
        term = np.choose(kind, [rng.choice([3, 6, 12, 24, 36], size=n), rng.choice([6, 12, 24], size=n),
                                np.ones(n, dtype=int), rng.choice([13, 26], size=n)])
    frequency = np.choose(kind, [np.array(["monthly"] * n), np.array(["monthly"] * n),
                                 np.array(["days"] * n), np.array(["biweekly"] * n)])
    method = np.choose(kind, [np.array(["annuity"] * n), np.array(["equal_principal"] * n),
                              np.array(["bullet"] * n), np.array(["annuity"] * n)])
    products = np.array([rng.choice(MARKETS[m][6]) for m in lm])
    disbursed = np.datetime64("2025-01-01") + rng.integers(0, 540, size=n).astype("timedelta64[D]")
    loans = pl.DataFrame(
        {
            "loan_id": [f"L{i:08d}" for i in ids],
            "borrower_id": borrowers["borrower_id"].gather(owner),
            "product": _text(np.where(products == "default", None, products)),
            "currency": np.array([m[2] for m in MARKETS])[lm],
            "principal": [f"{x}.{c:02d}" for x, c in zip(rng.integers(500, 50_000, size=n), rng.integers(0, 100, size=n))],
            "annual_rate": [f"0.{r:04d}" for r in rng.integers(500, 2400, size=n)],
            "term": term.astype(str),
            "frequency": frequency,
            "period_days": _text(np.where(kind == 2, rng.choice(["7", "14", "30"], size=n), None)),
            "method": method,
            "disbursed_on": disbursed.astype(str),
            "penalty_rate_daily": _text(np.where(rng.random(n) < 0.5, "0.0005", None)),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    b, lo = out / "borrowers.csv", out / "loans.csv"
    borrowers.write_csv(b)
    loans.write_csv(lo)
    return b, lo


# Phases of an import, timed by wrapping the functions the importer calls (wall seconds).
PHASES = {
    "read file": ("arrears.ingest.runner", "read_rows"),
    "checks": ("arrears.ingest.runner", "run_checks"),
    "borrowers known": ("arrears.ingest.loans", "unknown_borrowers"),
    "stored loans": ("arrears.ingest.loans", "read_table"),
    "convert": ("arrears.ingest.loans", "normalise"),
    "schedules": ("arrears.ingest.loans", "schedule_frame"),
    "write": ("arrears.ingest.loans", "insert_frame_bulk"),  # per table: "write loans", "write schedule"
    "write staged (SQLite)": ("arrears.ingest.loans", "insert_frames_staged"),  # both tables
    # Parts of "write staged" (so not counted again in "rest"):
    "  of which sort": ("arrears.store.bulk", "_in_key_order"),
    "  of which to text": ("arrears.store.bulk", "_sqlite_text"),
    "  of which foreign keys": ("arrears.store.bulk", "_check_references"),
}
spent: dict[str, float] = {}


def _time_phases() -> None:
    import importlib

    for phase, (module, name) in PHASES.items():
        mod = importlib.import_module(module)
        inner = getattr(mod, name, None)
        if inner is None:  # an older revision of the importer (an A/B run against it)
            continue

        def timed(*a, __inner=inner, __phase=phase, **k):
            start = time.perf_counter()
            label = f"{__phase} {a[1].name}" if __phase == "write" else __phase
            try:
                return __inner(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        setattr(mod, name, timed)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(url: str, files: dict[str, Path], profile: str | None) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(t.loans.select().limit(1)).first() is not None:
            sys.exit(f"{url}: the database already holds loans; the benchmark needs an empty one")
    print(f"\n== {engine.dialect.name}: {engine.url.render_as_string(hide_password=True)}")
    print(f"{'kind':<10} {'rows':>9} {'added':>9} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12} {'CPU s':>7}")
    now = dt.datetime.now(dt.timezone.utc)
    total = 0.0
    for kind, path in files.items():
        prof = cProfile.Profile() if profile == kind else None
        spent.clear()
        cpu = cpu_seconds()
        start = time.perf_counter()
        if prof:
            prof.enable()
        result = import_file(engine, kind, path, business_date=BUSINESS_DATE, now=now)
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
        total += elapsed
        print(
            f"{kind:<10} {result.rows_in_file:>9,} {result.rows_added:>9,} {elapsed:>8.2f} "
            f"{result.rows_in_file / elapsed:>9,.0f} {peak_rss_mb():>12,.0f} {cpu_seconds() - cpu:>7.2f}",
            flush=True,
        )
        if spent:
            phases = ", ".join(f"{p} {v:.2f}" for p, v in spent.items())
            print(f"{'':<10}   phases (s): {phases}, rest {elapsed - sum(v for p, v in spent.items() if not p.startswith(' ')):.2f}", flush=True)
        if prof:
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    with engine.connect() as conn:
        sched = conn.execute(t.schedule.select().with_only_columns(t.schedule.c.n)).all()
    print(f"{'total':<10} {'':>9} {'':>9} {total:>8.2f}    ({len(sched):,} schedule rows)")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="borrowers and loans to generate (default 100000)")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--pg-url", help="also import into this (empty) PostgreSQL database")
    ap.add_argument("--dir", type=Path, help="where to write the files and the SQLite database (default: a temp dir)")
    ap.add_argument("--profile", choices=["borrowers", "loans"], help="print a cProfile of one kind's import")
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--shape", choices=SHAPES, default="default",
                    help="the loans' terms (default: 14.6 instalments a loan; issue: 6.3, monthly)")
    args = ap.parse_args(argv)
    _time_phases()

    work = args.dir or Path(tempfile.mkdtemp(prefix="arrears-bench-"))
    start = time.perf_counter()
    b, lo = generate(args.n, args.seed, work, args.shape)
    print(f"generated {args.n:,} borrowers and {args.n:,} loans ({args.shape}) in {time.perf_counter() - start:.1f}s "
          f"({work})")
    files = {"products": EXAMPLES / "products.toml", "borrowers": b, "loans": lo}
    if not args.no_sqlite:
        db = work / "bench.db"
        db.unlink(missing_ok=True)
        run(f"sqlite:///{db}", files, args.profile)
    if args.pg_url:
        run(args.pg_url, files, args.profile)


if __name__ == "__main__":
    main()
