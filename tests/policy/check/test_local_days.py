"""``by_zone``'s local days from each zone's offset per UTC hour equal Polars' conversion of every
instant, across the spring-forward and the fall-back of zones whose offsets or changes are not
whole hours (Lord Howe's DST is 30 minutes, Chatham is +12:45/+13:45, Kathmandu +5:45), one whose
change is at local midnight (Sao Paulo, 2018-2019: the day itself starts an hour late), in every
time unit; and on the path for instants spread thinly over years."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_series_equal

from arrears.policy.check.prepare import _local_days, by_zone

ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kathmandu",
         "America/Sao_Paulo", "UTC")
# Windows holding the zones' changes (2018-2019 for Sao Paulo, 2024 for the others).
WINDOWS = ((dt.datetime(2018, 10, 30), dt.datetime(2018, 11, 8)), (dt.datetime(2019, 2, 13), dt.datetime(2019, 2, 20)),
           (dt.datetime(2024, 3, 5), dt.datetime(2024, 4, 10)), (dt.datetime(2024, 9, 25), dt.datetime(2024, 11, 6)))


def _exact(frame: pl.DataFrame) -> pl.Series:
    return pl.Series("day", [
        pl.Series([at]).cast(frame["at"].dtype).dt.convert_time_zone(z).dt.date().item()
        for at, z in frame.select(pl.col("at").to_physical(), "zone").iter_rows()
    ], pl.Date)


def _instants(unit: str, rng: np.random.Generator) -> pl.DataFrame:
    per_us = {"ms": 0.001, "us": 1, "ns": 1000}[unit]
    ats = []
    for lo, hi in WINDOWS:
        start = int(lo.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
        stop = int(hi.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
        # Every 7 minutes, plus a second's worth of jitter in the unit (instants one unit either side
        # of a change or a midnight are among them: 7 minutes divide no hour).
        ats.append((np.arange(start, stop, 7 * 60_000_000) * per_us).astype(np.int64))
    at = np.concatenate(ats)
    at = np.concatenate([at, at + 1, at - 1, at + rng.integers(0, int(1_000_000 * per_us), at.size)])
    zone = rng.choice(ZONES, at.size)
    order = rng.permutation(at.size)
    return pl.DataFrame({"at": pl.Series(at[order]).cast(pl.Datetime(unit, "UTC")), "zone": zone[order]})


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_local_days_across_changes(unit: str) -> None:
    frame = _instants(unit, np.random.default_rng(8))
    got = by_zone(frame, "at", "day")["day"]
    expected = pl.concat([
        part.with_columns(pl.col("at").dt.convert_time_zone(z).dt.date().alias("day"))  # type: ignore[arg-type]
        for (z,), part in frame.with_row_index().partition_by("zone", as_dict=True).items()
    ]).sort("index")["day"]
    assert_series_equal(got, expected)
    # Spot-check the exact conversion itself on a sample, one instant at a time.
    sample = frame.with_columns(got).sample(300, seed=8)
    assert_series_equal(sample["day"], _exact(sample))


def test_thin_instants_are_converted_one_by_one() -> None:
    # Five instants over six years: more hours than rows, no hour table.
    at = [dt.datetime(2019 + k, 3, 31, 1, 0, tzinfo=dt.UTC) for k in range(5)]
    frame = pl.DataFrame({"at": at, "zone": ["Europe/London", "Pacific/Chatham", "Australia/Lord_Howe", "UTC",
                                              "America/New_York"]})
    assert_series_equal(by_zone(frame, "at", "day")["day"], _exact(frame))


def test_hours_holding_a_change_are_converted() -> None:
    # London's 2024 fall-back at 01:00 UTC: the hour before it (00:00-01:00 UTC, 01:00-02:00 BST)
    # holds the change at its end; both its minutes and the next hour's are right.
    at = pl.datetime_range(dt.datetime(2024, 10, 26, 22, tzinfo=dt.UTC), dt.datetime(2024, 10, 27, 2, tzinfo=dt.UTC),
                           "1m", eager=True)
    for z in ("Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo"):
        zones = pl.Series([z] * at.len())
        assert_series_equal(pl.Series(_local_days(at, zones)).cast(pl.Date),
                            at.dt.convert_time_zone(z).dt.date(), check_names=False)
