"""Champion/challenger: which arm a borrower's delinquency episode follows, by a stable hash.

The draw is a pure function of (experiment, borrower, episode start): anyone can recompute it, it
never depends on the order borrowers are seen in, and a borrower's next delinquency draws afresh.
The shell records the draw when the episode starts, and the recorded arm wins thereafter, so
changing the shares mid-experiment never moves a borrower in the middle of a delinquency.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

from arrears.strategy.model import PPM, Experiment

ASSIGNMENTS = pl.Schema({"borrower_id": pl.String, "episode_start": pl.Date, "experiment": pl.String,
                         "arm": pl.String, "assigned_on": pl.Date})


def draw(experiment: str, borrower_id: str, episode_start: dt.date) -> int:
    """A uniform number in [0, 1e6) from the hash (SHA-256: stable across versions and machines)."""
    digest = hashlib.sha256(f"{experiment}\x1f{borrower_id}\x1f{episode_start.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % PPM


def arm_for(experiment: Experiment, u: int) -> str:
    edge = 0
    for a in experiment.arms:
        edge += a.share_ppm
        if u < edge:
            return a.name
    return experiment.arms[-1].name


def assign(episodes: pl.DataFrame, recorded: pl.DataFrame, experiment: Experiment, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every episode's arm, the new assignments to record).

    ``episodes``: borrower_id, episode_start. ``recorded``: ``ASSIGNMENTS`` already stored.
    """
    mine = recorded.filter(pl.col("experiment") == experiment.name).select("borrower_id", "episode_start", "arm")
    known = episodes.join(mine, on=["borrower_id", "episode_start"], how="left")
    new = known.filter(pl.col("arm").is_null())
    arms = [arm_for(experiment, draw(experiment.name, b, s)) for b, s in new.select("borrower_id", "episode_start").iter_rows()]
    new = new.with_columns(pl.Series("arm", arms, pl.String))
    fresh = new.select("borrower_id", "episode_start", pl.lit(experiment.name).alias("experiment"), "arm",
                       pl.lit(day).alias("assigned_on")).cast(dict(ASSIGNMENTS))
    every = pl.concat([known.filter(pl.col("arm").is_not_null()), new]).select("borrower_id", "arm")
    return every, fresh
