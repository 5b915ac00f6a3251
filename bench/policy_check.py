"""Benchmark: the compliance engine deciding a day's proposed actions, audit rows included.

    uv run python bench/policy_check.py                                  # 1,000,000 actions
    uv run python bench/policy_check.py --actions 100000 --borrowers 50000 --contacts 300000

The world (borrowers with their candidate zones already resolved, as the import stores them;
references, flags, loans with their receivable, the contact history) is generated with NumPy from a
fixed seed by ``tests/policy/check/random_world.py``, the generator the property tests use. Timed:
the decisions and the audit rows (one ``policy_check`` row per action, hash-chained per jurisdiction)
appended to a fresh SQLite database in one transaction, as ``arrears policy check`` does them:
``comply.service.decide_and_record``, which decides one chunk of a jurisdiction's borrowers while
the one before is recorded. ``--sequential``: ``engine.evaluate`` over the whole batch, then ``record``, each timed
on its own. Printed: the time of each part (wall, and the process's CPU time: on a shared machine
the wall time says as much about the neighbours as about the code), actions/s and peak RSS.

``--world-cache DIR``: the generated world and batch are kept in DIR as Parquet files, keyed by the
sizes, the seed and the generator's source (an edited generator makes a new entry), and read back
on the next run with the same key: a few seconds instead of about a minute at full size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared generator lives in tests/

from tests.policy.check.random_world import actions, world  # noqa: E402

from arrears.comply.service import decide_and_record, record  # noqa: E402
from arrears.policy.check.engine import evaluate  # noqa: E402
from arrears.policy.check.params import Packs  # noqa: E402
from arrears.policy.check.world import World  # noqa: E402
from arrears.store.db import make_engine, unit_of_work, upgrade  # noqa: E402

_GENERATOR = Path(__file__).resolve().parents[1] / "tests" / "policy" / "check" / "random_world.py"
_PARTS = ("borrowers", "references", "contacts", "flags", "loans")


def _generated(n_actions: int, n_borrowers: int, per_borrower: int, seed: int, cache: str | None) -> tuple[World, pl.DataFrame]:
    """The world and the batch, from ``cache`` when it holds them for these sizes, this seed and
    this generator; generated (and stored there) otherwise."""
    if cache is None:
        w = world(n_borrowers, seed, contacts_per_borrower=per_borrower)
        return w, actions(w, n_actions, seed)
    source = hashlib.sha256(_GENERATOR.read_bytes()).hexdigest()[:12]
    where = Path(cache) / f"a{n_actions}-b{n_borrowers}-c{per_borrower}-s{seed}-{source}"
    if (where / "actions.parquet").exists():
        w = World(**{p: pl.read_parquet(where / f"{p}.parquet") for p in _PARTS})
        return w, pl.read_parquet(where / "actions.parquet")
    w = world(n_borrowers, seed, contacts_per_borrower=per_borrower)
    a = actions(w, n_actions, seed)
    part = where.with_name(where.name + ".part")  # renamed when whole: a killed run leaves no half entry
    part.mkdir(parents=True, exist_ok=True)
    for p in _PARTS:
        getattr(w, p).write_parquet(part / f"{p}.parquet")
    a.write_parquet(part / "actions.parquet")
    part.rename(where)
    return w, a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actions", type=int, default=1_000_000)
    ap.add_argument("--borrowers", type=int, default=500_000)
    ap.add_argument("--contacts", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-audit", action="store_true", help="time the engine alone")
    ap.add_argument("--sequential", action="store_true",
                    help="decide the whole batch, then record it (each part timed on its own)")
    ap.add_argument("--db", help="write the audit rows to this database (e.g. postgresql+psycopg://...); "
                                 "default: a fresh SQLite file")
    ap.add_argument("--world-cache", metavar="DIR",
                    help="keep the generated world and batch in DIR and read them back on the next run")
    args = ap.parse_args()

    t0 = time.perf_counter()
    w, a = _generated(args.actions, args.borrowers, max(1, args.contacts // args.borrowers), args.seed,
                      args.world_cache)
    packs = Packs.load("first_party")
    print(f"generated {a.height:,} actions, {w.borrowers.height:,} borrowers, {w.contacts.height:,} contacts, "
          f"{w.flags.height:,} flags in {time.perf_counter() - t0:.1f} s "
          f"({'read back or generated, ' if args.world_cache else ''}not timed)", flush=True)

    rows = 0
    if args.no_audit:
        t1, c1 = time.perf_counter(), time.process_time()
        decisions = evaluate(a, w, packs)
        t2, c2 = time.perf_counter(), time.process_time()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(args.db or f"sqlite:///{tmp}/bench.db")
            upgrade(engine)
            if args.db:  # a database given may hold an earlier run's rows for the same day
                with unit_of_work(engine) as conn:
                    conn.exec_driver_sql("DELETE FROM audit_log")
            if args.sequential:
                t1, c1 = time.perf_counter(), time.process_time()
                decisions = evaluate(a, w, packs)
            t2, c2 = time.perf_counter(), time.process_time()
            with unit_of_work(engine) as conn:
                if args.sequential:
                    rows = record(conn, decisions, "policy_check", dt.date(2026, 3, 2), dt.datetime.now(dt.UTC),
                                  w.borrowers, {"collector_role": "first_party"})
                else:
                    t1, c1 = t2, c2
                    decisions, rows = decide_and_record(conn, a, w, packs, "policy_check", dt.date(2026, 3, 2),
                                                        dt.datetime.now(dt.UTC), {"collector_role": "first_party"})
    t3, c3 = time.perf_counter(), time.process_time()
    allowed = int((decisions["decision"] == "allow").sum())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    where = 'SQLite' if not args.db else args.db.split(':')[0]
    if args.no_audit or args.sequential:
        if args.no_audit:
            t2, c2 = t3, c3
        print(f"engine: {t2 - t1:.2f} s (CPU {c2 - c1:.2f} s) for {a.height:,} actions "
              f"({a.height / (t2 - t1):,.0f} actions/s); {allowed:,} allowed, {a.height - allowed:,} blocked")
        if not args.no_audit:
            print(f"audit:  {t3 - t2:.2f} s (CPU {c3 - c2:.2f} s) for {rows:,} rows ({where})")
    else:
        print(f"engine and audit, overlapped: {a.height:,} actions decided, {rows:,} audit rows ({where}); "
              f"{allowed:,} allowed, {a.height - allowed:,} blocked")
    print(f"total:  {t3 - t1:.2f} s (CPU {c3 - c1:.2f} s); peak RSS {rss:.1f} GB")


if __name__ == "__main__":
    main()
