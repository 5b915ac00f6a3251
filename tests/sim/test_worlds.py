"""The shipped worlds: what they hand the simulator passes the real imports, days respect the plan's
windows, the same seed gives the same frames, and each world looks like its market."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from arrears.ingest.runner import import_file
from arrears.sim.worlds import ConsumerUS, OnlineLendingCN
from arrears.sim.worlds.dialer import at_in_window
from arrears.store.db import make_engine, upgrade

NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
WORLDS = [pytest.param(OnlineLendingCN, id="cn"), pytest.param(ConsumerUS, id="us")]
MONEY = {"principal", "amount", "promise_amount", "monthly_income"}
START_KINDS = ("agents", "borrowers", "references", "loans")
DAY_KINDS = ("payments", "contacts", "adjustments")


@pytest.fixture
def sqlite(tmp_path: Path):
    eng = make_engine(f"sqlite:///{tmp_path / 'arrears.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def _import(engine, tmp_path: Path, frames: dict[str, pl.DataFrame], kinds, day: dt.date) -> dict[str, int]:
    added = {}
    for kind in kinds:
        frame = frames.get(kind)
        if frame is None or frame.height == 0:
            continue
        path = tmp_path / f"{kind}-{day}.parquet"
        frame.write_parquet(path)
        added[kind] = import_file(engine, kind, path, business_date=day, now=NOW).rows_added
    return added


def _window(date: dt.date, offset: str, start: str, end: str) -> tuple[str, str]:
    return f"{date}T{start}{offset}", f"{date}T{end}{offset}"


def _actions(world, start: dict[str, pl.DataFrame], date: dt.date, offset: str) -> pl.DataFrame:
    """A hand-made plan touching every channel and both offers, for the first 40 borrowers."""
    loans = start["loans"].group_by("borrower_id", maintain_order=True).first().head(40)
    refs = start["references"].group_by("borrower_id", maintain_order=True).first()
    kinds = ["agent_call", "sms", "robocall", "email", "letter", "field_visit", "settlement_offer",
             "plan_offer", "agency_placement", "agent_call"]
    rows = []
    for i, (borrower, loan, currency) in enumerate(loans.select("borrower_id", "loan_id", "currency").iter_rows()):
        action = kinds[i % len(kinds)]
        channel = {"settlement_offer": "agent_call", "plan_offer": "sms", "agency_placement": None}.get(action, action)
        ws, we = _window(date, offset, "09:00:00", "09:00:02" if i == 1 else "20:00:00")
        offer = None
        if action == "settlement_offer":
            offer = json.dumps({"type": "settlement", "amount": "300.00", "currency": currency, "pay_by": "2026-03-31"})
        if action == "plan_offer":
            offer = json.dumps({"type": "plan", "instalment": "100.00", "currency": currency, "count": 3,
                                "frequency": "monthly", "first_due_on": "2026-03-01"})
        party = "borrower"
        if i % len(kinds) == 9:
            match = refs.filter(pl.col("borrower_id") == borrower)
            party = match["reference_id"][0] if match.height else "borrower"
        rows.append({
            "action_id": f"A{i:04d}", "business_date": date, "borrower_id": borrower, "loan_id": loan,
            "loan_ids": None, "action": action, "channel": channel, "party": party,
            "window_start": None if action == "agency_placement" else ws,
            "window_end": None if action == "agency_placement" else we,
            "template_id": None, "language": None, "offer": offer, "assigned_to": None,
        })
    return pl.DataFrame(rows, schema_overrides={c: pl.String for c in ("loan_ids", "channel", "window_start",
                        "window_end", "template_id", "language", "offer", "assigned_to")})


def _float_money(frames: dict[str, pl.DataFrame]) -> list[str]:
    return [f"{k}.{c}" for k, f in frames.items() for c, t in f.schema.items() if c in MONEY and t.is_float()]


@pytest.mark.parametrize("World", WORLDS)
def test_start_and_days_import_cleanly_and_contacts_fall_inside_windows(World, sqlite, tmp_path):
    world = World(loans=300)
    start = world.start(7)
    assert start["loans"].height == 300
    assert not _float_money(start)
    added = _import(sqlite, tmp_path, start, START_KINDS, world.start_date)
    assert added["loans"] == 300 and added["borrowers"] == start["borrowers"].height

    first = min(start["loans"]["disbursed_on"])
    date = world.start_date + dt.timedelta(days=14)
    offset = "+08:00" if World is OnlineLendingCN else "-05:00"
    # The first call catches up from the earliest disbursement: a book's history of payments.
    history = world.day(first + dt.timedelta(days=1), pl.DataFrame())
    out = world.day(date, _actions(world, start, date, offset))
    assert not _float_money(out)
    for frame in (history, out):
        _import(sqlite, tmp_path, frame, DAY_KINDS, date)
    contacts = out["contacts"]
    assert contacts["event_id"].is_unique().all()
    planned = contacts.filter(pl.col("action_id").is_not_null())
    assert planned.height >= 30 and set(planned["channel"]) >= {"agent_call", "sms", "email", "letter"}
    ts = pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
    ws = pl.lit(f"{date}T09:00:00{offset}").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
    we = pl.lit(f"{date}T20:00:00{offset}").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
    inside = planned.select(((ts > ws) & (ts < we)).all()).item()
    assert inside
    assert planned.filter(pl.col("action_id") == "A0001")["at"].to_list() == [f"{date}T09:00:01{offset}"]
    assert "A0008" not in planned["action_id"]  # an agency placement is no contact
    # Messages leave as their window opens (so a preference stated on a later call finds none waiting).
    messages = planned.filter(pl.col("channel").is_in(["sms", "email", "letter"]))
    assert messages.select((ts <= ws + pl.duration(minutes=30)).all()).item()


@pytest.mark.parametrize("World", WORLDS)
def test_payments_never_exceed_the_book_and_follow_disbursement(World, sqlite, tmp_path):
    world = World(loans=300)
    start = world.start(3)
    _import(sqlite, tmp_path, start, START_KINDS, world.start_date)
    days = [min(start["loans"]["disbursed_on"]) + dt.timedelta(days=k) for k in range(0, 200, 1)]
    payments = pl.concat([world.day(d, pl.DataFrame())["payments"] for d in days])
    assert payments.height > 300
    loans = start["loans"].select("loan_id", "disbursed_on", pl.col("principal").cast(pl.Decimal(18, 2)))
    paid = payments.group_by("loan_id").agg(pl.col("amount").cast(pl.Decimal(18, 2)).sum(), pl.col("paid_on").min())
    j = paid.join(loans, on="loan_id")
    assert j.filter(pl.col("paid_on") < pl.col("disbursed_on")).height == 0
    # Never more than principal and the whole of its interest (an upper bound of what is owed).
    assert j.filter(pl.col("amount") > pl.col("principal") * 2).height == 0
    _import(sqlite, tmp_path, {"payments": payments}, ("payments",), days[-1])


@pytest.mark.parametrize("take_on", [False, True])
@pytest.mark.parametrize("World", WORLDS)
def test_same_seed_same_frames_other_seed_other_frames(World, take_on):
    def run(seed: int) -> list[pl.DataFrame]:
        world = World(loans=200, take_on=take_on)
        start = world.start(seed)
        date = world.start_date
        out = world.day(date, _actions(world, start, date, "+08:00"))
        return [*start.values(), *out.values()]

    a, b, c = run(11), run(11), run(12)
    assert all(x.equals(y) for x, y in zip(a, b))
    assert not all(x.equals(y) for x, y in zip(a, c))


def test_cn_borrowers_look_chinese():
    start = OnlineLendingCN(loans=300).start(5)
    b = start["borrowers"]
    assert b["phone"].str.contains(r"^\+861[3-9]\d{9}$").all()
    assert b["name"].str.contains(r"^[\u4e00-\u9fff]{2,4}$").all()
    assert set(b["jurisdiction"]) == {"CN"} and set(b["language"]) == {"zh-CN"}
    loans = start["loans"]
    rates = loans["annual_rate"].cast(pl.Float64)
    assert rates.min() >= 0.18 and rates.max() <= 0.24
    assert set(loans["term"]) <= {3, 6, 9, 12} and set(loans["currency"]) == {"CNY"}
    assert set(start["references"]["source"]) == {"borrower_provided"}
    assert start["references"]["consented_on"].is_not_null().any()


def test_us_borrowers_span_zones_and_massachusetts():
    start = ConsumerUS(loans=300).start(5)
    b = start["borrowers"]
    assert b["phone"].str.starts_with("+1").all()
    assert b["timezone"].drop_nulls().n_unique() >= 3
    assert b["timezone"].is_null().any()
    assert (b["jurisdiction"] == "US-MA").sum() >= 10
    assert (b["servicemember"] == "true").any() and b["work_phone"].is_not_null().any()
    ma = start["loans"].join(b.select("borrower_id", "jurisdiction"), on="borrower_id")
    assert ma.filter(pl.col("jurisdiction") == "US-MA")["annual_rate"].cast(pl.Float64).max() <= 0.23


def test_windows_given_as_zoned_datetimes_and_tiny_windows():
    import numpy as np

    start = pl.Series([dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone.utc)]).dt.convert_time_zone("Asia/Shanghai")
    end = start + dt.timedelta(hours=2)
    at = at_in_window(np.random.default_rng(0), start, end)[0]
    assert at.endswith("+08:00") and "2026-03-01T17:00:00" < at[:19] < "2026-03-01T19:00:00"
    tiny = at_in_window(np.random.default_rng(0), pl.Series(["2026-03-01T10:00:00-05:00"]),
                        pl.Series(["2026-03-01T10:00:02-05:00"]))
    assert tiny.to_list() == ["2026-03-01T10:00:01-05:00"]


def test_days_only_move_forward_and_empty_plans_are_fine():
    world = OnlineLendingCN(loans=50)
    world.start(1)
    out = world.day(world.start_date, pl.DataFrame())
    assert set(out) >= {"payments", "contacts"}
    with pytest.raises(ValueError):
        world.day(world.start_date, pl.DataFrame())


@pytest.mark.parametrize("World", WORLDS)
def test_a_season_of_stand_in_collection_imports_cleanly(World, sqlite, tmp_path):
    """150 days under calibrate.py's stand-in plan: every day's frames pass the real imports
    (promises, offers taken up as settlement adjustments, inbound calls, opt-out replies, deaths)."""
    from arrears.sim.worlds.calibrate import stand_in_plan

    world = World(loans=300)
    start = world.start(2)
    _import(sqlite, tmp_path, start, START_KINDS, world.start_date)
    first = min(start["loans"]["disbursed_on"])
    outcomes = set()
    for k in range(150):
        date = first + dt.timedelta(days=k)
        plan = stand_in_plan(world, date) if date >= world.start_date else pl.DataFrame()
        out = world.day(date, plan)
        _import(sqlite, tmp_path, out, DAY_KINDS, date)
        outcomes |= set(out["contacts"]["outcome"])
    assert {"promise_to_pay", "no_answer", "delivered"} <= outcomes


def test_the_dialer_stops_attempts_outside_hours_stated_earlier_that_day():
    from arrears.sim.worlds.dialer import honour_what_was_said

    c = pl.DataFrame({
        "event_id": ["E1", "E2", "E3", "E4"], "borrower_id": ["B1"] * 4,
        "channel": ["letter", "agent_call", "agent_call", "agent_call"],
        "at": ["2026-03-09T10:15:00+08:00", "2026-03-09T10:26:00+08:00", "2026-03-09T18:30:00+08:00",
               "2026-03-10T10:26:00+08:00"],
        "direction": ["inbound", "outbound", "outbound", "outbound"],
        "outcome": ["preferred_hours", "no_answer", "no_answer", "no_answer"],
        "hours_from": ["18:00", None, None, None], "hours_to": ["20:00", None, None, None],
    })
    # 10:26 that day goes (outside 18:00-20:00, said at 10:15); 18:30 stays; the next day is a new plan.
    assert honour_what_was_said(c)["event_id"].to_list() == ["E1", "E3", "E4"]


def test_the_dialer_stops_the_days_attempts_after_a_stop_is_said():
    from arrears.sim.worlds.dialer import honour_what_was_said

    c = pl.DataFrame({
        "event_id": ["E1", "E2", "E3", "E4", "E5"], "borrower_id": ["B1", "B1", "B2", "B1", "B1"],
        "channel": ["letter", "agent_call", "agent_call", "sms", "agent_call"],
        "at": ["2026-03-09T09:15:00-05:00", "2026-03-09T09:10:00-06:00", "2026-03-09T11:00:00-05:00",
               "2026-03-09T11:30:00-05:00", "2026-03-10T10:26:00-05:00"],
        "direction": ["inbound", "outbound", "outbound", "outbound", "outbound"],
        "outcome": ["cease_request", "no_answer", "no_answer", "delivered", "no_answer"],
        "hours_from": [None] * 5, "hours_to": [None] * 5,
    })
    # E2 is 10:10 in the caller's offset (after the 09:15 stop) and goes; another borrower's call
    # and the next day's plan stay; E4, later that day, goes.
    assert honour_what_was_said(c)["event_id"].to_list() == ["E1", "E3", "E5"]


def test_the_dialer_does_not_call_back_someone_who_called_in_earlier_that_day():
    from arrears.sim.worlds.dialer import honour_what_was_said

    c = pl.DataFrame({
        "event_id": ["I1", "C1", "E1", "C2"], "borrower_id": ["B1"] * 4,
        "channel": ["agent_call", "agent_call", "email", "agent_call"],
        "at": ["2025-10-24T12:10:00-04:00", "2025-10-24T16:17:34-04:00", "2025-10-24T16:30:00-04:00",
               "2025-10-25T10:00:00-04:00"],
        "direction": ["inbound", "outbound", "outbound", "outbound"],
        "outcome": ["hardship", "voicemail", "delivered", "no_answer"],
        "hours_from": [None] * 4, "hours_to": [None] * 4,
    })
    # The call later that day goes (US-FREQ: 7 days after a conversation); the e-mail and the next
    # day's plan stay.
    assert honour_what_was_said(c)["event_id"].to_list() == ["I1", "E1", "C2"]


def test_a_world_taking_its_book_on_starts_the_platform_where_replaying_its_history_would(tmp_path):
    """``take_on``: the days before the start are played inside the world and the loans arrive with
    their take-on balances (the demo's way to skip four months of closes). The platform's book on
    the first day is then the replayed one, loan by loan, but for the penalty, which the world
    only estimates (a handful of loans whose estimate falls short stay a few days late)."""
    from arrears.policy.check.params import Packs
    from arrears.sim.session import run

    books = {}
    for take_on in (False, True):
        world = OnlineLendingCN(loans=400, take_on=take_on)
        out = run(world, work=tmp_path / f"take_on-{take_on}", days=1, strategy="champion", seed=4,
                  start=world.start_date, packs=Packs.load())
        engine = make_engine(f"sqlite:///{out.database}")
        with engine.connect() as conn:
            books[take_on] = (
                pl.read_database("SELECT loan_id, status, dpd, bucket FROM loan_state ORDER BY loan_id", conn),
                conn.exec_driver_sql("SELECT MIN(day) FROM closed_days").scalar(),
            )
        engine.dispose()
    (replayed, first_replayed), (taken_on, first_taken) = books[False], books[True]
    assert str(first_taken) == str(world.start_date - dt.timedelta(days=1)) and str(first_replayed) < str(first_taken)
    assert (replayed["status"] == "delinquent").sum() >= 20  # the comparison covers loans in arrears
    same = replayed.join(taken_on, on="loan_id", suffix="_t").filter(
        (pl.col("dpd") == pl.col("dpd_t")) & (pl.col("status") == pl.col("status_t")))
    assert taken_on.height == replayed.height == 400 and same.height >= 396
