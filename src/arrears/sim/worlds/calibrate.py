"""Measure a world against its calibration targets, with a crude stand-in for the champion.

    uv run python -m arrears.sim.worlds.calibrate [cn|us] [--loans N] [--days D] [--seed S]

The stand-in is not the platform: it reads the world's own view of who is late (no imports, no
compliance) and plans, for every borrower past due, an SMS on day 1, an agent call every third day
from day 3 and a settlement offer (70 % of what is owed) at 60 and 90 days. It prints the timing of
``start`` and of one ``day`` with about 3,000 actions, the agent-call right-party-contact rate,
the promise-kept rate (a promise is kept when the loan received its amount by its date), and the
30→60 roll rate in the world's own days-past-due. docs/simulation.md records the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import numpy as np
import polars as pl

from arrears.sim.worlds import ConsumerUS, OnlineLendingCN
from arrears.sim.worlds.people import utc_offset

CONVERSATIONS = (
    "right_party_contact", "promise_to_pay", "refused_to_pay", "offer_declined", "settlement_accepted",
    "plan_accepted", "hardship", "complaint", "dispute", "cease_request", "attorney_represented",
    "preferred_hours",
)


def stand_in_plan(world, date: dt.date) -> pl.DataFrame:
    ledger = world._book.ledger
    d = date.toordinal()
    dpd = ledger.dpd(d)
    _, cap, _ = ledger.figures(d)
    late = np.flatnonzero((dpd > 0) & ~world._gone[world._book.loan_borrower])
    rows = []
    for loan in late:
        b = int(world._book.loan_borrower[loan])
        days = int(dpd[loan])
        offset = utc_offset(world._people.home_zone[b], date)
        if days in (60, 90):
            action, channel = "settlement_offer", "agent_call"
        elif days == 1:
            action, channel = "sms", "sms"
        elif days >= 3 and days % 3 == 0:
            action, channel = "agent_call", "agent_call"
        else:
            continue
        offer = None
        if action == "settlement_offer":
            amount = int(cap[loan]) * 7 // 10
            offer = json.dumps({"type": "settlement", "amount": f"{amount // 100}.{amount % 100:02d}",
                                "currency": world.terms.currency, "pay_by": str(date + dt.timedelta(days=30))})
        rows.append({
            "action_id": f"S{d}-{loan:06d}", "borrower_id": f"{world.prefix}-B{b:06d}",
            "loan_id": f"{world.prefix}-L{loan:06d}", "action": action, "channel": channel, "party": "borrower",
            "window_start": f"{date}T09:00:00{offset}", "window_end": f"{date}T20:00:00{offset}", "offer": offer,
        })
    return pl.DataFrame(rows, schema_overrides={"offer": pl.String})


def busy_plan(world, date: dt.date, count: int) -> pl.DataFrame:
    """``count`` actions over the whole book (for timing only)."""
    rng = np.random.default_rng(0)
    loans = rng.choice(world._book.principal.shape[0], count, replace=False)
    channels = np.array(["agent_call", "sms", "robocall", "email", "app_push"])[rng.integers(0, 5, count)]
    offset = utc_offset(world._people.home_zone[0], date)
    return pl.DataFrame({
        "action_id": [f"T{i:05d}" for i in range(count)],
        "borrower_id": [f"{world.prefix}-B{int(world._book.loan_borrower[loan]):06d}" for loan in loans],
        "loan_id": [f"{world.prefix}-L{loan:06d}" for loan in loans],
        "action": channels, "channel": channels, "party": ["borrower"] * count,
        "window_start": [f"{date}T09:00:00{offset}"] * count, "window_end": [f"{date}T20:00:00{offset}"] * count,
    })


def timings(World, loans: int, seed: int) -> tuple[float, float, float]:
    world = World(loans=loans)
    t = time.perf_counter()
    world.start(seed)
    started = time.perf_counter() - t
    t = time.perf_counter()
    world.day(world.start_date - dt.timedelta(days=1), pl.DataFrame())
    catch_up = time.perf_counter() - t
    plan = busy_plan(world, world.start_date, 3000)
    t = time.perf_counter()
    world.day(world.start_date, plan)
    return started, catch_up, time.perf_counter() - t


def calibrate(World, loans: int, days: int, seed: int) -> dict:
    world = World(loans=loans)
    start = world.start(seed)
    first = min(start["loans"]["disbursed_on"])
    contacts, payments, dpd = [], [], {}
    for k in range(days):
        date = first + dt.timedelta(days=k)
        plan = stand_in_plan(world, date) if date >= world.start_date else pl.DataFrame()
        out = world.day(date, plan)
        contacts.append(out["contacts"])
        payments.append(out["payments"])
        dpd[k] = world._book.ledger.dpd(date.toordinal())
    contacts = pl.concat(contacts)
    payments = pl.concat(payments).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))
    calls = contacts.filter((pl.col("channel") == "agent_call") & (pl.col("direction") == "outbound")
                            & (pl.col("party") == "borrower"))
    rpc = calls["outcome"].is_in(CONVERSATIONS).mean()
    promises = contacts.filter(pl.col("outcome") == "promise_to_pay").select(
        "event_id", "loan_id", pl.col("at").str.slice(0, 10).str.to_date().alias("made"),
        "promise_date", pl.col("promise_amount").cast(pl.Decimal(18, 2)),
    ).filter(pl.col("promise_date") < first + dt.timedelta(days=days))
    got = promises.join(payments, on="loan_id").filter(
        (pl.col("paid_on") > pl.col("made")) & (pl.col("paid_on") <= pl.col("promise_date"))
    ).group_by("event_id").agg(pl.col("amount").sum())
    kept = promises.join(got, on="event_id", how="left").select(
        (pl.col("amount").fill_null(0) >= pl.col("promise_amount")).mean()).item()
    start_k = (world.start_date - first).days
    rolled, at_30 = 0, 0
    for k in range(start_k, days - 30):
        in_30 = (dpd[k] >= 30) & (dpd[k] < 60)
        at_30 += int(in_30.sum())
        rolled += int((in_30 & (dpd[k + 30] >= 60) & (dpd[k + 30] < 90)).sum())
    return {
        "agent_calls": calls.height, "rpc": round(float(rpc), 3), "promises": promises.height,
        "promises_kept": round(float(kept), 3), "roll_30_60": round(rolled / max(at_30, 1), 3),
        "delinquent_at_start": round(float((dpd[start_k] > 0).mean()), 3),
        "complaints": int((contacts["outcome"] == "complaint").sum()),
        "outcomes": dict(calls["outcome"].value_counts().sort("outcome").iter_rows()),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("world", choices=["cn", "us"])
    p.add_argument("--loans", type=int, default=20_000)
    p.add_argument("--days", type=int, default=240)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timing-only", action="store_true")
    args = p.parse_args()
    World = OnlineLendingCN if args.world == "cn" else ConsumerUS
    started, catch_up, one_day = timings(World, args.loans, args.seed)
    print(f"{World.__name__} loans={args.loans}: start {started:.2f}s, catch-up to start date {catch_up:.2f}s, "
          f"day with 3000 actions {one_day:.3f}s")
    if not args.timing_only:
        print(json.dumps(calibrate(World, args.loans, args.days, args.seed), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
