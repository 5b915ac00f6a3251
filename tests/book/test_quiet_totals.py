"""``quiet.quiet_totals`` against the quiet loans valued one by one on every day of their spans.

The close adds these totals to the coming days' snapshots instead of stepping the quiet loans, so
they must be exactly what ``balances``' expressions give each loan on each day: the reference
here repeats every watch row for each day of its span and values it there, the straightforward
way the totals were first computed."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from arrears.book.balances import accrued_gross, accrued_net
from arrears.book.quiet import QUIET_TOTALS, WATCH, quiet_totals
from arrears.book.snapshot import OPEN

FIRST = dt.date(2026, 3, 10)
STATUSES = ("current", "delinquent", "in_plan", "charged_off", "paid_off", "written_off", "settled")


@st.composite
def watch_rows(draw) -> pl.DataFrame:
    rows = []
    for i in range(draw(st.integers(0, 30))):
        start = FIRST + dt.timedelta(days=draw(st.integers(-40, 5)))
        length = draw(st.integers(1, 35))
        running = draw(st.booleans())
        rows.append({
            "loan_id": f"L{i:03d}",
            "quiet_until": draw(st.one_of(st.none(), st.dates(FIRST - dt.timedelta(days=3), FIRST + dt.timedelta(days=60)))),
            "currency": draw(st.sampled_from(["CNY", "USD"])),
            "status": draw(st.sampled_from(STATUSES)),
            "bucket": draw(st.sampled_from(["current", "1-30", "31-60"])),
            "principal_outstanding": draw(st.integers(0, 10**9)),
            "owed": draw(st.integers(0, 10**9)),
            "period_start": start if running else None,
            "due_on": start + dt.timedelta(days=length) if running else None,
            "interest": draw(st.integers(0, 10**6)) if running else None,
            "interest_less": draw(st.integers(0, 10**6)) if running else None,
            "interest_held": draw(st.integers(-10, 10**4)),
        })
    return pl.DataFrame(rows, schema=WATCH)


def reference(watch: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    day = pl.col("day")
    rows = watch.filter(pl.col("quiet_until").is_not_null() & (pl.col("quiet_until") >= first)).with_columns(
        pl.date_ranges(pl.lit(first, pl.Date), pl.min_horizontal("quiet_until", pl.lit(last, pl.Date))).alias("day"),
    ).explode("day")
    gross = pl.when((pl.col("period_start") < day) & (pl.col("due_on") > day)).then(accrued_gross(day, pl.col("interest_less")))
    is_open = pl.col("status").is_in(OPEN)
    return (
        rows.with_columns((pl.col("owed") + accrued_net(gross, pl.col("interest_held"))).alias("total"))
        .group_by("day", "currency", "bucket")
        .agg(
            pl.len().cast(pl.Int64).alias("members"),
            is_open.sum().cast(pl.Int64).alias("loans"),
            pl.col("principal_outstanding").filter(is_open).sum().alias("principal_outstanding"),
            pl.col("total").filter(is_open).sum().alias("total_outstanding"),
        )
        .select(QUIET_TOTALS.names())
        .cast(dict(QUIET_TOTALS))
    )


@settings(max_examples=60, deadline=None)
@given(watch_rows(), st.integers(0, 3), st.integers(-1, 50))
def test_quiet_totals_are_the_loans_valued_day_by_day(watch, offset, days):
    first = FIRST + dt.timedelta(days=offset)
    last = first + dt.timedelta(days=days)
    keys = ["day", "currency", "bucket"]
    assert_frame_equal(quiet_totals(watch, first, last).sort(keys), reference(watch, first, last).sort(keys))
