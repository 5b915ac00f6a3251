"""Champion/challenger results: per arm, how many episodes, the share cured and the amount
collected per episode, each with a 95% interval (pure).

An episode counts once it is 90 days old ("mature"), so young episodes of a newer arm do not look
worse for being young. *Cured*: none of the borrower's loans is in arrears 90 days after the episode
began (every loan's bucket then is ``current``, or it was closed). *Collected*: every payment on the
borrower's loans in those 90 days, per currency.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

Z95 = 1.959964
HORIZON = 90


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score interval: honest near 0 and 1 and for small n, unlike p ± 1.96·se."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: list[int]) -> tuple[float, float, float]:
    """Mean and its normal 95% interval (the central limit theorem; fine from a few dozen episodes)."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = Z95 * math.sqrt(var / n)
    return (mean, mean - half, mean + half)


def arm_results(assignments: pl.DataFrame, loans: pl.DataFrame, transitions: pl.DataFrame,
                payments: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """One row per (arm, currency): episodes, cured, cure rate and interval, collected per episode
    (minor units) and interval.

    ``assignments``: borrower_id, episode_start, arm. ``loans``: loan_id, borrower_id, currency.
    ``transitions``: loan_id, day, to_bucket. ``payments``: loan_id, paid_on, amount (effective).
    """
    mature = assignments.filter(pl.col("episode_start") + pl.duration(days=HORIZON) <= day).with_columns(
        (pl.col("episode_start") + pl.duration(days=HORIZON)).alias("at"))
    if mature.is_empty():
        return pl.DataFrame(schema={"arm": pl.String, "currency": pl.String, "episodes": pl.Int64, "cured": pl.Int64,
                                    "cure_rate": pl.Float64, "cure_low": pl.Float64, "cure_high": pl.Float64,
                                    "collected_mean": pl.Float64, "collected_low": pl.Float64, "collected_high": pl.Float64})
    ep = mature.with_row_index("_e").join(loans, on="borrower_id")
    # Each loan's bucket at the horizon: the last transition on or before it (none: current).
    t = ep.join(transitions, on="loan_id", how="left").filter(pl.col("day").is_null() | (pl.col("day") <= pl.col("at")))
    last = t.sort("day", nulls_last=False).group_by("_e", "loan_id").agg(pl.col("to_bucket").last())
    still = last.filter(pl.col("to_bucket").is_not_null() & (pl.col("to_bucket") != "current")).select("_e").unique()
    paid = (ep.join(payments, on="loan_id").filter((pl.col("paid_on") >= pl.col("episode_start")) & (pl.col("paid_on") < pl.col("at")))
            .group_by("_e").agg(pl.col("amount").sum().alias("collected")))
    per = (ep.group_by("_e").agg(pl.col("arm").first(), pl.col("currency").first())
           .join(paid, on="_e", how="left").with_columns(pl.col("collected").fill_null(0))
           .with_columns((~pl.col("_e").is_in(still["_e"].implode())).alias("cured")))
    rows = []
    for (arm, currency), part in sorted(per.partition_by("arm", "currency", as_dict=True).items()):
        n, cured = part.height, int(part["cured"].sum())
        lo, hi = wilson(cured, n)
        mean, mlo, mhi = mean_interval(part["collected"].to_list())
        rows.append((arm, currency, n, cured, cured / n, lo, hi, mean, mlo, mhi))
    return pl.DataFrame(rows, orient="row", schema=["arm", "currency", "episodes", "cured", "cure_rate", "cure_low",
                                                    "cure_high", "collected_mean", "collected_low", "collected_high"])
