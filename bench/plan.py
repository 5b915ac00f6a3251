"""Benchmark: ``arrears plan`` for one day over a synthetic book of N loans (15% delinquent), end to
end: the reads of the loans in arrears and their borrowers' facts, the strategies, the compliance
engine on every proposal, agents' capacity, the plan tables and the audit log, the commit.

The book is bench/close_day.py's (NumPy-generated, one borrower per loan, CN, closed through D-1),
loaded once into a SQLite file and reused; each timed run plans D on a fresh copy of it.

    uv run python bench/plan.py                    # N = 100,000
    uv run python bench/plan.py --n 1000000        # the issue's target: at most 30 s
    uv run python bench/plan.py --n 20000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import shutil
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from close_day import DAY, generate, load_database, peak_rss_mb  # noqa: E402

from arrears.plan.service import make_plan  # noqa: E402
from arrears.policy.check.params import Packs  # noqa: E402
from arrears.store import tables as t  # noqa: E402
from arrears.store.bulk import insert_frame  # noqa: E402
from arrears.store.db import make_engine  # noqa: E402

NOW = dt.datetime(2026, 6, 15, 6, 0, tzinfo=dt.UTC)


def _book(n: int, seed: int, cache: Path) -> Path:
    path = cache / f"plan-{n}-{seed}.db"
    if path.exists():
        return path
    started = time.perf_counter()
    inp = generate(n, seed)
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    load_database(f"sqlite:///{tmp}", inp, history=False)
    engine = make_engine(f"sqlite:///{tmp}")
    agents = max(4, n // 5_000)  # one agent for every 5,000 loans: capacity binds, as it does in life
    with engine.begin() as conn:
        insert_frame(conn, t.agents, pl.DataFrame({
            "agent_id": [f"A{i:04d}" for i in range(agents)], "valid_from": [dt.date(2026, 1, 1)] * agents,
            "team": ["cn"] * agents, "languages": ["zh-CN"] * agents, "jurisdictions": ["CN"] * agents,
            "daily_calls": [120] * agents, "daily_visits": [4] * agents, "recorded_at": [NOW] * agents}))
    engine.dispose()
    tmp.rename(path)
    print(f"book of {n:,} loans generated and loaded in {time.perf_counter() - started:.1f} s: {path}", flush=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/arrears-bench"))
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    book = _book(args.n, args.seed, args.cache)
    packs = Packs.load()
    for i in range(args.repeat):
        run = args.cache / "plan-run.db"
        shutil.copyfile(book, run)
        engine = make_engine(f"sqlite:///{run}")
        prof = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if prof:
            prof.enable()
        with engine.begin() as conn:
            report = make_plan(conn, DAY, "champion", packs, NOW)
        seconds = time.perf_counter() - started
        if prof:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        engine.dispose()
        print(f"run {i + 1}: {args.n:,} loans, {report.arrears.height:,} in arrears: {report.planned:,} planned, "
              f"{report.deferred:,} deferred, {report.held:,} held, {report.left_alone:,} left alone; "
              f"{seconds:.1f} s, peak RSS {peak_rss_mb():,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
