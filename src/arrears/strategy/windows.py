"""The window each proposal is offered in: the strategy's local hours on the plan date, in *every*
candidate zone of the borrower (pure). A borrower who may be in Shanghai or Urumqi is offered only
the hours that are inside 09:00-20:00 in both. The compliance engine then decides; it narrows a
proposal blocked only by the law's hours to what every zone allows, and the shell re-proposes it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.policy.check.prepare import local_instant
from arrears.policy.check.world import UTC
from arrears.policy.zones import jurisdiction_zones


def with_windows(proposals: pl.DataFrame, zones: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """``proposals`` (hours_from/hours_until, jurisdiction, a unique ``_i``) with ``zone`` (the first
    candidate, for writing local times) and ``start``/``end`` (UTC). ``zones``: borrower_id, zones."""
    # Nothing known of where they are: every zone of the jurisdiction, as the engine reads it.
    known = proposals["jurisdiction"].drop_nulls().unique().sort().to_list()
    fallback = pl.DataFrame({"jurisdiction": known, "_fallback": [list(jurisdiction_zones(j) or ("UTC",)) for j in known]},
                            schema={"jurisdiction": pl.String, "_fallback": pl.List(pl.String)})
    p = (proposals.join(zones.select("borrower_id", pl.col("zones").alias("_zones")), on="borrower_id", how="left")
         .join(fallback, on="jurisdiction", how="left"))
    p = p.with_columns(
        pl.when(pl.col("_zones").list.len() > 0).then(pl.col("_zones")).otherwise(pl.col("_fallback"))
        .alias("_zones")).drop("_fallback")
    each = p.select("_i", "hours_from", "hours_until", pl.col("_zones").alias("_zone")).explode("_zone")
    parts = []
    for (zone,), part in each.partition_by("_zone", as_dict=True, maintain_order=True).items():
        parts.append(part.with_columns(
            local_instant(pl.lit(day), pl.col("hours_from"), str(zone)).alias("start"),
            local_instant(pl.lit(day), pl.col("hours_until"), str(zone)).alias("end"),
        ))
    if not parts:
        return proposals.with_columns(pl.lit(None, pl.String).alias("zone"), pl.lit(None, UTC).alias("start"),
                                      pl.lit(None, UTC).alias("end"))
    window = pl.concat(parts).group_by("_i").agg(pl.col("start").max(), pl.col("end").min())
    # Zones too far apart to share a moment of the hours: an empty window, which the engine blocks.
    window = window.with_columns(pl.max_horizontal("start", "end").alias("end"))
    return (p.join(window, on="_i", how="left")
            .with_columns(pl.col("_zones").list.first().alias("zone"), pl.col("start").cast(UTC), pl.col("end").cast(UTC))
            .drop("_zones"))
