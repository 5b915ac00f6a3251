"""The history's facts taken in NumPy from each pair's kinds, days and terms (``history_facts``,
``batch_counts``) equal the per-pair Polars expressions of ``_FACTS`` summed, minimised, maximised
and or-ed per (action, zone) row by Polars' group-by, on random small worlds: several zones an
action may be in (one with a DST change inside the days drawn), people, loans (lists of several
too), addresses, the borrower's work number, opt-outs and nulls everywhere they may be."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from arrears.book.outcomes import OUTCOMES
from arrears.policy.check import history
from arrears.policy.check.engine import _zoned
from arrears.policy.check.prepare import zone_keys
from arrears.policy.check.world import CONTACTS, UTC

ZONES = ("America/New_York", "Europe/London", "Asia/Shanghai")
# 56 days from 2026-02-06, so that every window (the day, 7 days, 30 days) both holds and misses
# events; half the draws fall on the four days around 2026-03-08, New York's spring-forward day
# (23 hours), where same-day events are frequent.
T0 = dt.datetime(2026, 2, 6, tzinfo=dt.UTC)
BORROWERS = ("B1", "B2", "B3")
PARTIES = ("borrower", "R1", "R2", None)
LOANS = ("L1", "L2", "L3")
ADDRESSES = ("A1", "A2", "W1", None)
FAMILIES = ("phone", "text", "email", "visit", "letter", None)
CHANNELS = ("agent_call", "robocall", "sms", "email", "letter", "field_visit")
OUTCOME_NAMES = tuple(o.name for o in OUTCOMES)

instants = st.builds(
    lambda day, minute: T0 + dt.timedelta(days=day, minutes=minute),
    st.one_of(st.integers(0, 55), st.integers(29, 32)), st.integers(0, 24 * 60 - 1))
loan_lists = st.lists(st.sampled_from(LOANS), max_size=2, unique=True)


@st.composite
def worlds(draw: st.DrawFn, several_loans: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    zones = {b: draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True)) for b in BORROWERS}
    work = {b: draw(st.sampled_from(("W1", None))) for b in BORROWERS}
    rows = []
    for i in range(draw(st.integers(1, 12))):
        b = draw(st.sampled_from(BORROWERS))
        loans = draw(loan_lists) if several_loans else [draw(st.sampled_from(LOANS))]
        rows.append({
            "action_id": f"a{i}", "borrower_id": b, "party": draw(st.sampled_from(PARTIES)),
            "loan_id": loans[0] if loans else None, "loan_ids": loans,
            "address_used": draw(st.sampled_from(ADDRESSES)), "family": draw(st.sampled_from(FAMILIES)),
            "work_phone": work[b], "start": draw(instants), "zones": draw(st.sampled_from((zones[b], zones[b][:1]))),
            "optout_on": draw(st.one_of(st.none(), st.dates(dt.date(2026, 2, 5), dt.date(2026, 4, 3)))),
        })
    actions = (
        pl.DataFrame(rows, schema={
            "action_id": pl.String, "borrower_id": pl.String, "party": pl.String, "loan_id": pl.String,
            "loan_ids": pl.List(pl.String), "address_used": pl.String, "family": pl.String, "work_phone": pl.String,
            "start": UTC, "zones": pl.List(pl.String), "optout_on": pl.Date})
        .with_row_index("idx").sort("borrower_id", "start", "action_id").with_row_index("seq")
        .with_columns(pl.col("start").alias("end"))
    )
    zoned = _zoned(actions).join(actions.select("idx", "optout_on"), on="idx", how="left")
    contacts = pl.DataFrame([
        {"event_id": f"e{i}", "borrower_id": draw(st.sampled_from(BORROWERS)),
         "loan_ids": draw(loan_lists if several_loans else loan_lists.filter(lambda x: len(x) < 2)),
         "channel": draw(st.sampled_from(CHANNELS)), "direction": draw(st.sampled_from(("outbound", "inbound"))),
         "at": draw(instants), "party": draw(st.sampled_from(PARTIES)), "address": draw(st.sampled_from(ADDRESSES)),
         "outcome": draw(st.sampled_from(OUTCOME_NAMES))}
        for i in range(draw(st.integers(0, 25)))
    ], schema=CONTACTS)
    return zoned, history.history_events(contacts)


def _reference(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Every pair's ``_pair_columns`` in Polars (the work number compared per pair), aggregated by
    Polars (the engine's former way)."""
    side, ev, loan_lists, action_lists = history._sides(zoned, events)
    names = [f[0] for f in history._ROW_FACTS]
    how = {f[0]: f[4] for f in history._ROW_FACTS}
    agg = {"count": lambda c: pl.col(c).sum().cast(pl.Int32), "min": lambda c: pl.col(c).min().cast(pl.Int64),
           "max": lambda c: pl.col(c).max().cast(pl.Int64), "any": lambda c: pl.col(c).max().cast(pl.Boolean)}
    per_row = (
        side.join(ev, on="bz", how="inner").filter(pl.col("ev_at") < pl.col("start"))
        .select("zrow", *history._pair_columns(loan_lists, only=tuple(names), action_lists=action_lists,
                                               work_on_event=False))
        .group_by("zrow").agg(agg[how[c]](c) for c in names)
    )
    return (
        zoned.select("zrow").join(per_row, on="zrow", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in history.COUNTS)
        .with_columns(pl.col(c).fill_null(False) for c in history.FLAGS)
    )


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data())
def test_history_facts_equal_the_pairs_summed(data: st.DataObject) -> None:
    zoned, events = data.draw(worlds(several_loans=data.draw(st.booleans())))
    got = history.history_facts(zoned, events).drop("days_since_first_attempt").sort("zrow")
    want = _reference(zoned, events).select(got.columns).sort("zrow")
    assert_frame_equal(got, want)


@SETTINGS
@given(data=st.data())
def test_batch_counts_equal_the_pairs_summed(data: st.DataObject) -> None:
    zoned, _ = data.draw(worlds(several_loans=data.draw(st.booleans())))
    prepared = zoned.unique("idx").sort("seq")
    planned = history.planned_events(prepared)
    side, ev, loan_lists, action_lists = history._sides(zoned, planned)
    want = (
        side.join(ev, on="bz", how="inner").filter(pl.col("j") < pl.col("seq"))
        .select("zrow", "j", *history._pair_columns(loan_lists, only=history.COUNTS, action_lists=action_lists,
                                                    work_on_event=False))
        .filter(pl.any_horizontal(pl.col(c) > 0 for c in history.COUNTS))
        .sort("zrow", "j")
    )
    assert_frame_equal(history.batch_counts(zoned, planned).sort("zrow", "j"), want)


def _zoned_events_joined_on_ids(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """``_zoned_events`` the plain way: the (borrower, zone, work number) rows made unique on all
    four columns and joined on the ids themselves."""
    zones = zoned.select("borrower_id", "zone", "bz", "work_phone").unique()
    narrow = events.with_columns(history._event_kinds()).with_columns(history._packed_kinds())
    return narrow.join(zones, on="borrower_id", how="inner")


def _same_rows(got: pl.DataFrame, want: pl.DataFrame) -> None:
    cols = [c for c in got.columns if got.schema[c] != pl.List(pl.String)]
    assert_frame_equal(got.select(cols).sort(cols, nulls_last=True), want.select(cols).sort(cols, nulls_last=True))


@SETTINGS
@given(data=st.data())
def test_events_joined_on_the_ids_hash_equal_a_join_on_the_ids(data: st.DataObject) -> None:
    # Also with a hash colliding for most ids (their length), and with a null id among the events.
    zoned, events = data.draw(worlds(several_loans=False))
    events = pl.concat([events, events.head(1).with_columns(pl.lit(None, pl.String).alias("borrower_id"))])
    zones, work_on_event = history._borrower_zones(zoned)
    assert work_on_event
    _same_rows(zones, zoned.select("borrower_id", "zone", "bz", "work_phone").unique())
    want = _zoned_events_joined_on_ids(zoned, events).select(*events.columns, "ev_kinds", "bz")
    narrow = events.with_columns(history._event_kinds()).with_columns(history._packed_kinds())
    for key in (None, pl.col("borrower_id").str.len_bytes().cast(pl.UInt64)):
        _same_rows(history._on_borrower(narrow, zones, key).select(want.columns), want)


def test_a_work_number_that_is_not_the_borrowers_is_compared_per_pair() -> None:
    zoned = pl.DataFrame({"borrower_id": ["B1", "B1", "B2", "B2"], "zone": ["Z1", "Z1", "Z1", "Z2"],
                          "work_phone": ["W1", "W2", "W3", "W3"]}).pipe(zone_keys)
    zones, work_on_event = history._borrower_zones(zoned)
    assert not work_on_event
    _same_rows(zones, zoned.select("borrower_id", "zone", "bz").unique())
    zones, work_on_event = history._borrower_zones(zoned.filter(pl.col("work_phone") != "W2"))
    assert work_on_event
    _same_rows(zones, zoned.filter(pl.col("work_phone") != "W2").select("borrower_id", "zone", "bz", "work_phone"))


@SETTINGS
@given(data=st.data())
def test_first_attempt_put_in_place_and_combined_in_any_order(data: st.DataObject) -> None:
    # ``days_since_first_attempt`` set by ``zrow`` equals it joined on ``zrow``; ``combine`` gives the
    # same per action whatever the order of ``hist``'s rows (one zone per action or several).
    zoned, events = data.draw(worlds(several_loans=data.draw(st.booleans())))
    if data.draw(st.booleans()):
        zoned = zoned.unique("idx", keep="first").sort("zrow").drop("zrow").with_row_index("zrow")
    hist = history.history_facts(zoned, events)
    assert hist["zrow"].equals(zoned["zrow"])
    side, ev, loan_lists, _ = history._sides(zoned, events)
    third = side.lazy().filter(pl.col("party") != "borrower").join(ev.lazy(), on="bz").filter(
        pl.col("ev_at") < pl.col("start"))
    joined = hist.drop("days_since_first_attempt").join(
        history._first_attempt(third, loan_lists).collect(), on="zrow", how="left")
    assert_frame_equal(hist, joined.select(hist.columns))
    shuffled = hist.sample(fraction=1.0, shuffle=True, seed=data.draw(st.integers(0, 99)))
    assert_frame_equal(history.combine(shuffled, zoned).sort("idx"), history.combine(hist, zoned).sort("idx"))
