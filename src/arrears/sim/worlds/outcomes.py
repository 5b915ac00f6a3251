"""The day's contact events and what they change: promises, offers taken up, agencies, flags.

``execute_plan`` carries out the plan's rows (``dialer.carry_out`` decides what happened);
``inbound_calls`` adds the borrowers who get in touch themselves, and the rare life events that
reach the lender that way (a death reported by the family, a bankruptcy notice).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl

from arrears.book.schedule import add_months
from arrears.sim.worlds import behaviour as bh
from arrears.sim.worlds import dialer as dl
from arrears.sim.worlds import frames as fr
from arrears.sim.worlds.people import utc_offset
from arrears.sim.worlds.population import minor_text

NO_EFFORT = ("complaint", "dispute", "cease_request", "attorney_represented", "opt_out")
STOPPING = ("cease_request", "attorney_represented")
HOURS = (("18:00", "20:00"), ("09:00", "12:00"), ("12:00", "14:00"))
ACTION_COLUMNS = ("action_id", "borrower_id", "loan_id", "loan_ids", "action", "channel", "party",
                  "window_start", "window_end", "offer", "address")


@dataclass
class DayContacts:
    contacts: pl.DataFrame
    adjustments: pl.DataFrame
    effort: np.ndarray  # per borrower
    fatigue: np.ndarray  # per borrower


def execute_plan(world, date: dt.date, actions: pl.DataFrame | None, arrears, cap, rng) -> DayContacts:
    nb = world._fatigue.shape[0]
    effort, fatigue = np.zeros(nb), np.zeros(nb)
    nothing = DayContacts(pl.DataFrame(schema=fr.CONTACTS), pl.DataFrame(schema=fr.ADJUSTMENTS), effort, fatigue)
    if actions is None or actions.height == 0 or "action" not in actions.columns:
        return nothing
    a = _executable(world, actions)
    _place_with_agency(world, a.filter(pl.col("action") == "agency_placement"))
    a = a.filter(pl.col("action").is_in(dl.CONTACT_ACTIONS) & pl.col("_ch").is_not_null())
    if a.height == 0:
        return nothing
    b, loan = a["_b"].to_numpy(), a["_l"].to_numpy()
    channel = a["_ch"].to_numpy()
    kind = world._book.borrower_type[b]
    to_ref = (a["party"] != "borrower").to_numpy()
    is_offer = a["action"].is_in(["settlement_offer", "plan_offer"]).to_numpy()
    offers = [_offer(o) for o in a["offer"].to_list()]
    accept_p = _accept_p(offers, a["action"].to_list(), kind, cap[loan])
    # Gateways send the day's messages as the window opens; calls and visits spread over the day.
    # So a preference stated on a call later that day never finds a message still waiting to go.
    messages = [dl.CHANNELS.index(c) for c in ("sms", "email", "app_push", "letter")]
    first = np.where(np.isin(channel, messages), dl.MESSAGE_SECONDS, np.inf)
    at = dl.at_in_window(rng, a["window_start"], a["window_end"], within=first)
    reach = np.where(world._dead[b], 0.0, np.where(world._represented[b], 0.3, 1.0))
    ex = dl.carry_out(rng, channel, is_offer, to_ref, kind, world._fatigue[b], reach, accept_p)
    outcome = ex.outcome
    outcome[ex.accepted] = np.where(a["action"].to_numpy()[ex.accepted] == "settlement_offer",
                                    "settlement_accepted", "plan_accepted")
    address = a["_address"].to_numpy()
    outcome[(outcome == "undeliverable") & pl.Series(address).is_null().to_numpy()] = "delivered"
    promise_amount, promise_date = _promises(world, date, rng, outcome, b, loan, kind, arrears, cap)
    adjustments = _offers_taken(world, date, rng, a, outcome, offers, kind, loan, cap)
    _apply_facts(world, outcome, b)
    np.add.at(effort, b, np.where(np.isin(outcome, NO_EFFORT), 0.0, ex.effort))
    np.add.at(fatigue, b, ex.fatigue)
    stamp = date.strftime("%Y%m%d")
    events = pl.DataFrame({
        "event_id": (f"{world.prefix}-E{stamp}-" + a["action_id"]),
        "borrower_id": a["borrower_id"],
        "loan_id": world._loan_index["loan_id"].gather(loan),
        "loan_ids": a["loan_ids"],
        "action_id": a["action_id"],
        "channel": pl.Series([dl.CHANNELS[c] for c in channel], dtype=pl.String),
        "direction": pl.Series(["outbound"] * a.height, dtype=pl.String),
        "at": at,
        "party": a["party"],
        "address": a["_address"],
        "outcome": pl.Series(list(outcome), dtype=pl.String),
        "promise_amount": promise_amount,
        "promise_date": promise_date,
    }).with_columns(*_hours(rng, outcome), _recording())
    replies = _sms_replies(world, rng, events, kind, world._fatigue[b])
    return DayContacts(pl.concat([events, replies], how="diagonal_relaxed"), adjustments, effort, fatigue)


def _executable(world, actions: pl.DataFrame) -> pl.DataFrame:
    """The plan's rows joined to the world's people and loans, with the address each would use.
    Rows the outside systems cannot carry out (no window, no e-mail address) are dropped."""
    a = actions.with_columns(
        pl.lit(None, pl.String).alias(c) for c in ACTION_COLUMNS if c not in actions.columns
    ).with_columns(pl.col(c).cast(pl.String) for c in ACTION_COLUMNS if c not in ("window_start", "window_end"))
    a = a.sort("action_id").join(world._borrower_index, on="borrower_id", how="inner")
    a = a.join(world._loan_index, on="loan_id", how="left").with_columns(
        pl.col("_l").fill_null(pl.col("_b")),  # a borrower's first loan has the borrower's index
        pl.col("party").fill_null("borrower"),
        pl.coalesce("channel", pl.when(pl.col("action").is_in(dl.CHANNELS)).then(pl.col("action")),
                    pl.lit("agent_call")).alias("_channel"),
    )
    a = a.with_columns(
        pl.col("_channel").replace_strict(
            {c: i for i, c in enumerate(dl.CHANNELS)}, default=None, return_dtype=pl.Int64).alias("_ch"))
    people = world._people
    b = a["_b"].to_numpy()
    ch = a["_channel"].to_list()
    party = a["party"].to_list()
    given = a["address"].to_list()
    addr = []
    for i, (c, p) in enumerate(zip(ch, party)):
        if p != "borrower":
            addr.append(people.reference_phone.get(p) if c in ("sms", "robocall", "agent_call") else None)
        elif c in ("sms", "robocall", "agent_call"):
            addr.append(given[i] or people.phone[b[i]])
        elif c == "email":
            addr.append(people.email[b[i]])
        elif c in ("letter", "field_visit"):
            addr.append(people.postal[b[i]])
        else:
            addr.append(f"app:{a['borrower_id'][i]}")
    a = a.with_columns(pl.Series("_address", addr, dtype=pl.String))
    agency = pl.col("action") == "agency_placement"
    usable = agency | (pl.col("window_start").is_not_null() & pl.col("window_end").is_not_null()
                       & ~((pl.col("_channel") == "email") & pl.col("_address").is_null()))
    return a.filter(usable)


def _place_with_agency(world, rows: pl.DataFrame) -> None:
    loans = rows["_l"].to_numpy()
    new = loans[~world._agency[loans]]
    world._agency[new] = True
    world._lam_inf[new] += bh.AGENCY_LIFT
    world._lam[new] += 0.5 * bh.DELTA2


def _offer(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _minor(value) -> int | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError):
        return None
    return int(amount * 100) if amount > 0 else None


def _accept_p(offers: list[dict], action: list[str], kind: np.ndarray, cap: np.ndarray) -> np.ndarray:
    p = np.zeros(len(offers))
    for i, (o, act) in enumerate(zip(offers, action)):
        if act == "settlement_offer" and (amount := _minor(o.get("amount"))) and cap[i] > 0:
            discount = 1 - amount / cap[i]
            p[i] = bh.ACCEPT[kind[i]] + 0.8 * max(discount, 0.0) - (0.5 if discount < 0 else 0.0)
        elif act == "plan_offer" and _minor(o.get("instalment")):
            p[i] = bh.ACCEPT[kind[i]] + 0.15
    return np.clip(p, 0.0, 0.95)


def _promises(world, date, rng, outcome, b, loan, kind, arrears, cap):
    """Promise amounts and dates, and the payments of the promises that will be kept."""
    n = outcome.shape[0]
    owed = arrears[loan]
    full = rng.random(n) < 0.7
    part = (rng.uniform(0.3, 0.9, n) * owed).astype(np.int64)
    amount = np.minimum(-(-np.where(full, owed, part) // 100) * 100, cap[loan])
    # Nothing to promise (nothing owed, or nothing more may be paid): the talk ends without one.
    outcome[(outcome == "promise_to_pay") & ((owed <= 0) | (amount <= 0))] = "right_party_contact"
    made = outcome == "promise_to_pay"
    d = date.toordinal()
    due = d + rng.integers(1, 8, n)
    kept = made & (rng.random(n) < bh.KEEP[kind])
    early = rng.random(n) < 0.2
    pay_day = np.where(early, d + 1 + (rng.random(n) * (due - d)).astype(np.int64), due)
    world.schedule_payments(pay_day[kept], loan[kept], amount[kept], fr.PROMISE)
    text = minor_text(np.where(made, amount, 0))
    promise_amount = pl.select(pl.when(pl.Series(made)).then(text)).to_series().alias("promise_amount")
    dates = [dt.date.fromordinal(int(x)) if m else None for x, m in zip(due, made)]
    return promise_amount, pl.Series("promise_date", dates, dtype=pl.Date)


def _offers_taken(world, date, rng, a, outcome, offers, kind, loan, cap) -> pl.DataFrame:
    d = date.toordinal()
    rows = []
    for i in np.flatnonzero(np.isin(outcome, ("settlement_accepted", "plan_accepted"))):
        o, honour = offers[i], bh.HONOUR[kind[i]]
        if outcome[i] == "settlement_accepted":
            amount = min(_minor(o.get("amount")) or 0, int(cap[loan[i]]))
            pay_by = _date(o.get("pay_by")) or date + dt.timedelta(days=30)
            last = max(pay_by.toordinal(), d + 1)
            if amount > 0 and rng.random() < honour:
                day = d + 1 + int(rng.integers(0, last - d))
                world.schedule_payments(np.array([day]), loan[i:i + 1], np.array([amount]), fr.SETTLEMENT)
            if world.records_settlements and amount > 0:
                rows.append({
                    "adjustment_id": f"{world.prefix}-J{date:%Y%m%d}-{a['action_id'][int(i)]}",
                    "loan_id": world._loan_index["loan_id"][int(loan[i])],
                    "type": "settlement", "effective_on": date,
                    "amount": minor_text(np.array([amount]))[0], "currency": world.terms.currency,
                    "params": json.dumps({"pay_by": pay_by.isoformat()}),
                })
        else:
            amount = _minor(o.get("instalment")) or 0
            count = int(o.get("count") or 1)
            first = _date(o.get("first_due_on")) or date + dt.timedelta(days=7)
            days = np.array([_nth(first, j, o.get("frequency") or "monthly") for j in range(count)])
            keeps = np.cumprod(rng.random(count) < honour).astype(bool) & (days > d)
            world.schedule_payments(days[keeps], np.full(keeps.sum(), loan[i]), np.full(keeps.sum(), amount), fr.PLAN)
    return pl.DataFrame(rows, schema=fr.ADJUSTMENTS) if rows else pl.DataFrame(schema=fr.ADJUSTMENTS)


def _nth(first: dt.date, j: int, frequency: str) -> int:
    if frequency == "monthly":
        return add_months(first, j).toordinal()
    step = {"weekly": 7, "biweekly": 14}.get(frequency, 30)
    return first.toordinal() + step * j


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _apply_facts(world, outcome: np.ndarray, b: np.ndarray) -> None:
    world._represented[b[np.isin(outcome, STOPPING)]] = True
    disputed = b[outcome == "dispute"]
    if disputed.shape[0]:
        loans = np.isin(world._book.loan_borrower, disputed)
        world._lam[loans] *= 0.5


def _hours(rng, outcome: np.ndarray) -> list[pl.Series]:
    pick = rng.integers(0, len(HOURS), outcome.shape[0])
    wanted = outcome == "preferred_hours"
    return [
        pl.Series(name, [HOURS[p][k] if w else None for p, w in zip(pick, wanted)], dtype=pl.String)
        for k, name in enumerate(("hours_from", "hours_to"))
    ]


def _recording() -> pl.Expr:
    # CN requires a recording for every visit; calls are recorded too.
    return pl.when(pl.col("channel").is_in(["agent_call", "field_visit"])).then(
        pl.lit("rec/") + pl.col("event_id")).alias("recording_ref")


def _sms_replies(world, rng, events: pl.DataFrame, kind, fatigue) -> pl.DataFrame:
    """A few people answer a text with STOP (退订): an inbound opt-out at that number."""
    p = 0.003 * (1 + fatigue) * np.where(kind == bh.HOSTILE, 5, 1)
    stop = ((events["channel"] == "sms") & (events["outcome"] == "delivered")
            & (events["party"] == "borrower")).to_numpy() & (rng.random(events.height) < p)
    rows = events.filter(pl.Series(stop))
    return rows.select(
        (pl.col("event_id") + "-R").alias("event_id"), "borrower_id", "loan_id", "channel",
        pl.lit("inbound").alias("direction"), dl.later(pl.col("at"), 300).alias("at"), "party",
        "address", pl.lit("opt_out").alias("outcome"),
    )


def inbound_calls(world, date: dt.date, arrears, cap, rng) -> DayContacts:
    """Borrowers in arrears who call in, and deaths and bankruptcies the lender hears of."""
    book, people = world._book, world._people
    nb = world._fatigue.shape[0]
    kind = book.borrower_type
    owing = np.bincount(book.loan_borrower, weights=arrears > 0, minlength=nb) > 0
    u = rng.random((3, nb))
    d = date.toordinal()
    calls = owing & ~world._gone & (u[0] < bh.INBOUND[kind] * (1 + 3 * world._recent))
    died = ~world._dead & (u[1] < bh.DEATH_DAILY)
    broke = ~world._gone & ~died & (book.trouble_day <= d) & (u[2] < bh.BANKRUPTCY_DAILY * world.bankruptcy_scale)
    said = np.array(bh.INBOUND_OUTCOMES, dtype=object)[bh.choose(rng, bh.INBOUND_P[kind])]
    who = np.flatnonzero(calls | died | broke)
    outcome = np.where(died[who], "deceased", np.where(broke[who], "bankruptcy", said[who])).astype(object)
    loan = who  # the borrower's first loan shares its index
    written_letter = (np.isin(outcome, ("dispute", "cease_request")) & (rng.random(who.shape[0]) < world.written_share)) | broke[who]
    party = np.where(died[who], people.first_reference[who], "borrower")
    party = np.where(_is_none(party), "borrower", party)
    promise_amount, promise_date = _promises(world, date, rng, outcome, who, loan, kind[who], arrears, cap)
    world._dead |= died
    world._gone |= died | broke
    _apply_facts(world, outcome, who)
    effort = np.zeros(nb)
    np.add.at(effort, who, np.where(np.isin(outcome, ("promise_to_pay", "right_party_contact", "hardship")), 0.5, 0.0))
    minutes = rng.integers(9 * 60, 20 * 60, who.shape[0])
    offset = [utc_offset(z, date) for z in people.home_zone[who]]
    at = [f"{date.isoformat()}T{m // 60:02d}:{m % 60:02d}:{s:02d}{o}"
          for m, s, o in zip(minutes, rng.integers(0, 60, who.shape[0]), offset)]
    channel = np.where(written_letter, "letter", "agent_call")
    phone = people.phone[who]
    address = np.where(party == "borrower", np.where(written_letter, people.postal[who], phone),
                       [people.reference_phone.get(p) for p in party])
    tag = np.where(died[who] | broke[who], "X", "I")
    events = pl.DataFrame({
        "event_id": [f"{world.prefix}-{t}{date:%Y%m%d}-{x:06d}" for t, x in zip(tag, who)],
        "borrower_id": people.borrowers["borrower_id"].gather(who),
        "loan_id": world._loan_index["loan_id"].gather(loan),
        "channel": pl.Series(list(channel), dtype=pl.String),
        "direction": pl.Series(["inbound"] * who.shape[0], dtype=pl.String),
        "at": pl.Series(at, dtype=pl.String),
        "party": pl.Series(list(party), dtype=pl.String),
        "address": pl.Series(list(address), dtype=pl.String),
        "outcome": pl.Series(list(outcome), dtype=pl.String),
        "written": pl.Series(["true" if w else None for w in written_letter], dtype=pl.String),
        "promise_amount": promise_amount,
        "promise_date": promise_date,
    }).with_columns(*_hours(rng, outcome), _recording())
    return DayContacts(events, pl.DataFrame(schema=fr.ADJUSTMENTS), effort, np.zeros(nb))


def _is_none(values: np.ndarray) -> np.ndarray:
    return np.array([v is None for v in values], dtype=bool)
