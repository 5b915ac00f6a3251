"""A simulation's own database and files: ``arrears simulate`` and ``arrears demo`` never touch the
lender's database. Each run starts from an empty SQLite file in its work directory; a file that holds
anything but simulated data (every import of a simulation is named ``sim-…``) is refused, never
deleted.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, inspect, select

from arrears.policy.check.params import Packs
from arrears.sim.charts import write_charts
from arrears.sim.report import dumps, report
from arrears.sim.run import Days, simulate
from arrears.store import tables as t
from arrears.store.db import make_engine, upgrade


class NotDemoData(Exception):
    """The work directory's database holds data that no simulation wrote."""


@dataclass(frozen=True)
class Outcome:
    report: dict
    report_text: str
    charts: Path
    database: Path
    seen: Days


def _fresh(db: Path) -> None:
    if db.exists():
        engine = make_engine(f"sqlite:///{db}")
        try:
            with engine.connect() as conn:
                if inspect(conn).has_table("imports"):
                    names = [r[0] for r in conn.execute(select(t.imports.c.file_name)).all()]
                    foreign = sorted({n for n in names if not n.startswith("sim-")})
                    if foreign:
                        raise NotDemoData(f"{db} holds data no simulation wrote (imports of {', '.join(foreign[:3])}); "
                                          f"refusing to replace it: choose another directory")
                elif inspect(conn).get_table_names():
                    raise NotDemoData(f"{db} is not a simulation database; refusing to replace it")
        finally:
            engine.dispose()
        db.unlink()
    for side in db.parent.glob(db.name + "*"):
        side.unlink()
    frames = db.parent / "frames"
    if frames.exists():
        shutil.rmtree(frames)


def _throwaway(engine) -> None:
    """A simulation's database is rebuilt from the seed whenever it is needed: no fsync per commit
    (a simulated day commits a dozen times), and the rollback journal kept in memory rather than
    written beside the file (a crash may leave the file unusable; the next run starts afresh
    anyway). Not write-ahead logging: the close's columnar reader (ADBC, a connection of its own)
    then missed rows committed since its driver last looked."""

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA journal_mode=MEMORY")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()


def run(world, *, work: Path, days: int, strategy: str, seed: int, start: dt.date | None, packs: Packs,
        on_day: Callable[[dt.date, int], None] | None = None, out: Path | None = None) -> Outcome:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "simulation.db"
    _fresh(db)
    engine = make_engine(f"sqlite:///{db}")
    _throwaway(engine)
    try:
        upgrade(engine)
        seen = simulate(engine, world, days=days, strategy=strategy, seed=seed, start=start,
                        work=work / "frames", packs=packs, on_day=on_day)
    finally:
        engine.dispose()
    r = report(seen, strategy)
    text = dumps(r)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    charts = write_charts(seen, r, (out.with_suffix(".html") if out is not None else work / "simulation.html"))
    return Outcome(r, text, charts, db, seen)
