"""When an action may happen: the jurisdiction's hours and the person's stated hours, in every
candidate zone, on the action's local day.

Per zone the allowed window is [local day start, next local day start) narrowed by the hours rule
(``local_hours_from`` <= t < ``local_hours_until``) when it applies to the channel, and by stated
``preferred_hours``. The action's allowed window is the intersection over its candidate zones: the
largest window in which every one of these rules allows every moment. Wall times are built in each
zone (``zoneinfo``), so 08:00 is 08:00 on the day of a DST change too.
"""

from __future__ import annotations

import polars as pl

from arrears.policy.check.prepare import local_instant
from arrears.policy.check.world import UTC

HOURS_RULES = {"US": "US-TIME", "US-MA": "US-TIME", "CN": "CN-HOURS", "GB": "GB-CONTACT"}
_DAY = 24 * 60


_KEY = ("zone", "d", "_hf", "_hu", "_pf", "_pu")


def _zone_windows(part: pl.DataFrame, zone: str) -> pl.DataFrame:
    return part.with_columns(
        local_instant(pl.col("d"), pl.lit(0), zone).alias("day_start"),
        local_instant(pl.col("d"), pl.lit(_DAY), zone).alias("day_end"),
        local_instant(pl.col("d"), pl.col("_hf"), zone).alias("h_start"),
        local_instant(pl.col("d"), pl.col("_hu"), zone).alias("h_end"),
        local_instant(pl.col("d"), pl.col("_pf"), zone).alias("p_start"),
        local_instant(pl.col("d"), pl.col("_pu"), zone).alias("p_end"),
    )


def _inside(lo: str, hi: str) -> pl.Expr:
    """[start, end] inside [lo, hi): an instant at ``hi`` itself is outside (21:00 is too late),
    a window may end at ``hi``."""
    return (pl.col("start") >= pl.col(lo)) & (pl.col("start") < pl.col(hi)) & (pl.col("end") <= pl.col(hi))


def windows(zoned: pl.DataFrame) -> pl.DataFrame:
    """Per action (``idx``): ``hours_ok``, ``pref_ok``, ``win_start``, ``win_end``.

    ``zoned`` has one row per (action, zone) with ``d``, ``start``, ``end``, ``hours_apply``,
    ``hours_from``/``hours_until`` (minutes) and ``pref_from``/``pref_until`` (minutes or null)."""
    schema = {"idx": pl.UInt32, "hours_ok": pl.Boolean, "pref_ok": pl.Boolean, "win_start": UTC, "win_end": UTC}
    if zoned.is_empty():
        return pl.DataFrame(schema=schema)
    # The wall times in minutes each window is built from; the instants are worked out once per
    # distinct (zone, local day, minutes), a few hundred at most, and joined back to the rows.
    keyed = zoned.with_columns(
        pl.when(pl.col("hours_apply")).then(pl.col("hours_from")).otherwise(0).fill_null(0).cast(pl.Int64).alias("_hf"),
        pl.when(pl.col("hours_apply")).then(pl.col("hours_until")).otherwise(_DAY).fill_null(_DAY).cast(pl.Int64).alias("_hu"),
        pl.col("pref_from").fill_null(0).cast(pl.Int64).alias("_pf"),
        pl.col("pref_until").fill_null(_DAY).cast(pl.Int64).alias("_pu"),
    )
    distinct = keyed.select(_KEY).unique()
    parts = [_zone_windows(part, z) for (z,), part in distinct.partition_by("zone", as_dict=True).items()]  # type: ignore[arg-type]
    w = keyed.join(pl.concat(parts), on=list(_KEY), how="left", nulls_equal=True)
    pref_applies = pl.col("hours_apply") & pl.col("pref_from").is_not_null()
    hours_ok = _inside("h_start", "h_end")
    pref_ok = ~pref_applies | _inside("p_start", "p_end")
    win_start = pl.max_horizontal("day_start", "h_start", pl.when(pref_applies).then(pl.col("p_start")))
    win_end = pl.min_horizontal("day_end", "h_end", pl.when(pref_applies).then(pl.col("p_end")))
    if zoned["idx"].n_unique() == zoned.height:
        # One zone per action (the usual batch): the action's row is its only zone's, no group-by.
        # ``all`` skips nulls, so a single null is True, as it is in a group.
        return w.select(
            "idx", hours_ok.fill_null(True).alias("hours_ok"), pref_ok.fill_null(True).alias("pref_ok"),
            win_start.alias("win_start"), win_end.alias("win_end"),
        ).select(pl.col(c).cast(t) for c, t in schema.items())
    return w.group_by("idx").agg(
        hours_ok.all().alias("hours_ok"),
        pref_ok.all().alias("pref_ok"),
        win_start.max().alias("win_start"),
        win_end.min().alias("win_end"),
    ).select(pl.col(c).cast(t) for c, t in schema.items())
