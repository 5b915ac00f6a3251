"""The closed loop (INTERFACE.md, "Simulation worlds"): import the world's book, then each day
plan on the state closed the day before, let the world carry the plan out, import what happened
and close the day. Every step goes through the same functions as the commands (imports with their
checks, the plan with the compliance engine and the audit log, close-day): no shortcut around them.

The first day has no closed day before it (the book starts that day), so nothing is planned for it;
the world plays it with an empty plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from arrears.close.run import close_days
from arrears.comply.service import record_executed
from arrears.ingest.runner import import_file
from arrears.plan.service import make_plan
from arrears.policy.check.params import Packs
from arrears.store import book_io as io
from arrears.store.db import unit_of_work
from arrears.store.policy_queries import contacts_recorded_at

START_KINDS = ("products", "borrowers", "references", "loans", "agents")
DAY_KINDS = ("payments", "contacts", "flags", "adjustments")


@dataclass
class Days:
    """What the loop saw, day by day, for the report (all frames are the world's or the plan's)."""

    start: dict[str, pl.DataFrame]
    actions: list[pl.DataFrame] = field(default_factory=list)  # the plan of each day
    payments: list[pl.DataFrame] = field(default_factory=list)
    contacts: list[pl.DataFrame] = field(default_factory=list)
    flags: list[pl.DataFrame] = field(default_factory=list)
    arrears: list[pl.DataFrame] = field(default_factory=list)  # loans in arrears at each day's start
    dates: list[dt.date] = field(default_factory=list)


def _write(frame: pl.DataFrame, path: Path) -> Path | None:
    if frame is None or frame.width == 0 or frame.is_empty():
        return None
    frame.write_parquet(path)
    return path


def _import(engine: Engine, kind: str, path: Path, day: dt.date, packs: Packs, now: dt.datetime) -> None:
    after = None
    if kind == "contacts":
        # As ``arrears import contacts`` does: each executed contact is audited with the engine's verdict.
        def after(conn) -> None:
            record_executed(conn, contacts_recorded_at(conn, now), day, packs, now)
    import_file(engine, kind, path, business_date=day, now=now, after=after)


def simulate(engine: Engine, world, *, days: int, strategy: str, seed: int, start: dt.date | None, work: Path,
             packs: Packs, on_day: Callable[[dt.date, int], None] | None = None) -> Days:
    work.mkdir(parents=True, exist_ok=True)
    now = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    frames = world.start(seed)
    with engine.connect() as conn:
        already = io.earliest_disbursement(conn)
    first_disbursed = min(pl.Series(frames["loans"]["disbursed_on"]).cast(pl.Date)) if "loans" in frames else None
    begin = start or first_disbursed or already
    for kind in START_KINDS:
        path = _write(frames.get(kind), work / f"sim-{kind}.parquet")
        if path is not None:
            _import(engine, kind, path, begin, packs, _stamp(now, begin, 0))
    seen = Days(start=frames)
    for i in range(days):
        day = begin + dt.timedelta(days=i)
        with engine.connect() as conn:
            last = io.last_closed(conn)
        if last is not None and last >= day - dt.timedelta(days=1):
            with unit_of_work(engine) as conn:
                report = make_plan(conn, day, strategy, packs, _stamp(now, day, 1))
            actions = report.actions
            seen.arrears.append(report.arrears.with_columns(pl.lit(day).alias("day")))
        else:
            actions = pl.DataFrame()
        happened = world.day(day, actions)
        for kind in DAY_KINDS:
            path = _write(happened.get(kind), work / f"sim-{kind}-{day.isoformat()}.parquet")
            if path is not None:
                _import(engine, kind, path, day, packs, _stamp(now, day, 2 + DAY_KINDS.index(kind)))
        close_days(engine, day, today=day, allow_future=True)
        seen.dates.append(day)
        seen.actions.append(actions.with_columns(pl.lit(day).alias("day")) if actions.width else actions)
        for name, store in (("payments", seen.payments), ("contacts", seen.contacts), ("flags", seen.flags)):
            f = happened.get(name)
            if f is not None and f.width and not f.is_empty():
                store.append(f.with_columns(pl.lit(day).alias("day")))
        if on_day:
            on_day(day, i + 1)
    return seen


def _stamp(base: dt.datetime, day: dt.date, step: int) -> dt.datetime:
    """A recorded_at for each step of each simulated day: ordered, and the same on every run, so
    the same seed gives the same database and the same report."""
    # Noon UTC the next day: after the end of the local day everywhere a borrower may live.
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12, 0), tzinfo=dt.UTC) + dt.timedelta(seconds=step)
