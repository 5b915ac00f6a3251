"""The day's plan: facts from the store → the strategies (pure) → the compliance engine → agents'
capacity → the plan tables, the audit log and the actions file, in one transaction.

Every row written as ``planned`` has passed the compliance engine with the window it carries.
A proposal the engine blocks is kept as ``held`` with the rules that blocked it (what we chose not
to do is part of the record); one that passed but found no agent is ``deferred`` and goes first
the next day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection

from arrears.comply.actions_file import write_frame
from arrears.comply.service import record
from arrears.money import exponent
from arrears.policy.check.engine import evaluate
from arrears.policy.check.params import Packs
from arrears.policy.check.world import World, actions_frame
from arrears.store import book_io as io
from arrears.store import plan_queries as q
from arrears.store.bulk import ArrowReader
from arrears.store.policy_queries import load_world
from arrears.strategy import derive
from arrears.strategy.assign import ASSIGNMENTS, assign
from arrears.strategy.capacity import assign_agents
from arrears.strategy.choose import PROPOSALS, STATES, choose
from arrears.strategy.load import resolve
from arrears.strategy.windows import with_windows
from arrears.templates.loader import TemplateSet, default_templates

HOURS_RULES = {"US-TIME", "CN-HOURS", "GB-CONTACT"}


class NotClosed(Exception):
    """The day before the plan date is not closed: a plan on stale balances is refused (exit 1)."""


@dataclass(frozen=True)
class PlanReport:
    day: dt.date
    run: int
    strategy: str
    planned: int
    deferred: int
    held: int
    left_alone: int  # borrowers in arrears whose state holds contact (a promise, a dispute, ...)
    actions: pl.DataFrame  # the planned rows, INTERFACE.md ``actions`` columns
    arrears: pl.DataFrame  # the loans in arrears the plan saw: loan_id, borrower_id, currency, bucket, dpd, total_outstanding


def _action_ids(frame: pl.DataFrame, day: dt.date) -> pl.Series:
    # Stable: the same inputs give the same id (INTERFACE.md), whatever the order of the rows.
    keys = frame.select(pl.concat_str([pl.lit(day.isoformat()), "borrower_id", "action", pl.col("channel").fill_null(""),
                                       "party", pl.col("template_id").fill_null("")], separator="|")).to_series()
    return pl.Series("action_id", ["P" + hashlib.sha256(k.encode()).hexdigest()[:23] for k in keys], pl.String)


def _pick_language(p: pl.DataFrame, templates: TemplateSet) -> pl.DataFrame:
    """The borrower's language when the template has it, else the same primary language, else the
    template's own (a CN template may exist in zh-CN only)."""
    have = pl.DataFrame(sorted(templates.templates), orient="row", schema={"template_id": pl.String, "t_lang": pl.String})
    cand = p.select("_i", "template_id", "language").join(have, on="template_id", how="inner").with_columns(
        pl.when(pl.col("t_lang") == pl.col("language")).then(0)
        .when(pl.col("t_lang").str.split("-").list.first() == pl.col("language").str.split("-").list.first()).then(1)
        .otherwise(2).alias("_rank"))
    best = cand.sort("_i", "_rank", "t_lang").group_by("_i").first().select("_i", "t_lang")
    return p.join(best, on="_i", how="left").with_columns(pl.coalesce("t_lang", "language").alias("language")).drop("t_lang")


def _engine_input(p: pl.DataFrame) -> pl.DataFrame:
    return actions_frame(p.select("action_id", "borrower_id", "loan_id", "loan_ids", "action", "channel", "party",
                                  "start", "end", "template_id", "language", "offer_amount", "offer_pay_by",
                                  "recording_ref"))


def _recording(action_id: pl.Expr, action: pl.Expr) -> pl.Expr:
    """Every visit is planned with the reference its full audio and video recording will be kept
    under (CN-BEHAV requires one; the rest of the world is better for it too)."""
    return pl.when(action == "field_visit").then(pl.concat_str(pl.lit("recordings/"), action_id))


def _decide(p: pl.DataFrame, world: World, packs: Packs, templates: TemplateSet) -> pl.DataFrame:
    """The engine's decisions; a proposal blocked only by hours is offered again inside the window
    every candidate zone allows, and the batch decided again so the caps count it.

    Each decision depends only on the actions and the facts of its own borrower (the engine decides
    as one by one, borrower by borrower: tests/policy/check/test_one_equals_batch.py), so only the
    borrowers with a proposal offered again are decided again; the others' decisions stand."""
    d = evaluate(_engine_input(p), world, packs, templates)
    rules = d["rules"].str.split(";")
    only_hours = (d["decision"] == "block") & rules.list.eval(pl.element().is_in(list(HOURS_RULES))).list.all()
    start = pl.max_horizontal("start", "allowed_start")
    end = pl.min_horizontal("end", "allowed_end")
    retry = d.select(only_hours.alias("_r"), start.alias("_s"), end.alias("_e"))
    retry = retry.with_columns((pl.col("_r") & pl.col("_s").is_not_null() & (pl.col("_s") < pl.col("_e"))).alias("_r"))
    if not retry["_r"].any():
        return d
    p = p.with_columns(
        pl.when(retry["_r"]).then(retry["_s"]).otherwise(pl.col("start")).alias("start"),
        pl.when(retry["_r"]).then(retry["_e"]).otherwise(pl.col("end")).alias("end"),
    )
    again = p["borrower_id"].filter(retry["_r"]).unique().implode()
    theirs = p["borrower_id"].is_in(again)
    facts = World(**{name: getattr(world, name).filter(pl.col("borrower_id").is_in(again))
                     for name in ("borrowers", "references", "contacts", "flags", "loans")})
    redone = evaluate(_engine_input(p.filter(theirs)), facts, packs, templates)
    # Back in the batch's order, the row of each proposal where it was.
    at = pl.Series("_at", range(p.height), pl.UInt32)
    return (pl.concat([d.filter(~theirs).with_columns(at.filter(~theirs)), redone.with_columns(at.filter(theirs))])
            .sort("_at").drop("_at"))


def _local_text(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Instants written with the borrower's local offset (INTERFACE.md: timestamps with offset)."""
    parts = []
    for (zone,), part in frame.partition_by("zone", as_dict=True, maintain_order=True).items():
        parts.append(part.with_columns(
            pl.col(column).dt.convert_time_zone(str(zone)).dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(f"{column}_text")))
    return pl.concat(parts) if parts else frame.with_columns(pl.lit(None, pl.String).alias(f"{column}_text"))


ACTIONS_OUT = ("action_id", "business_date", "borrower_id", "loan_id", "loan_ids", "action", "channel", "party",
               "window_start", "window_end", "template_id", "language", "offer", "assigned_to", "currency",
               "expected_value", "strategy", "reason", "recording_ref")


def make_plan(conn: Connection, day: dt.date, strategy: str, packs: Packs, now: dt.datetime,
              templates: TemplateSet | None = None) -> PlanReport:
    last = io.last_closed(conn)
    if last is None or last < day - dt.timedelta(days=1):
        raise NotClosed(f"day {day - dt.timedelta(days=1)} is not closed (last closed: {last or 'none'}); "
                        f"run close-day first")
    templates = templates if templates is not None else default_templates()
    experiment = resolve(strategy)
    closed = day - dt.timedelta(days=1)
    empty_assign = pl.DataFrame(schema=ASSIGNMENTS)
    # Nothing is written before the reads end: the plan reads committed rows columnar, on one
    # connection of its own, each borrower set read once into a key table.
    with ArrowReader(conn) as rd:
        book, owners = q.arrears_book(rd)
        arrears = derive.loans_in_arrears(book, owners, closed)
        if experiment is not None:
            # The borrowers in arrears, once: every read below joins them rather than finding them
            # again in the loans' state.
            ids = arrears["borrower_id"].unique().sort().to_list()
            keys = rd.keys("_plan_borrowers", ids, column="borrower_id")
            among = q.among(keys)
            people = q.borrowers(rd, among)
            arrangements, paid = q.arrangements(rd, among)
            promises, contacts = q.promises(rd, among), q.contacts(rd, among)
            last_planned = q.last_planned(rd, day, among)
            recorded = q.assignments_of(rd, experiment.name, among)
            world = load_world(conn, ids, day, arrears.select("loan_id", pl.col("payoff_amount").alias("receivable")),
                               columnar=True, reader=(rd, keys))
    if experiment is None:
        run = q.save_plan(conn, day, strategy, _rows(pl.DataFrame(schema=_ROWS)), empty_assign, now)
        return PlanReport(day, run, strategy, 0, 0, 0, 0, _out(pl.DataFrame(schema=_ROWS), day),
                          arrears.select(_ARREARS.columns))
    facts = derive.borrower_facts(
        arrears, people, world.flags.select("borrower_id", "flag", "start_on", "end_on"), promises,
        derive.arrangement_holds(arrangements, paid, day), contacts, day)
    arm_of, fresh = assign(facts.select("borrower_id", "episode_start"), recorded, experiment, day)
    facts = facts.join(arm_of, on="borrower_id")
    single = len(experiment.arms) == 1
    proposals, states = [], []
    for arm in experiment.arms:
        mine = facts.filter(pl.col("arm") == arm.name)
        jurisdictions = mine["jurisdiction"].drop_nulls().unique().to_list()
        for s in arm.strategies:
            covered = mine.filter(pl.col("jurisdiction").is_in([j for j in jurisdictions if s.covers(j)]))
            if covered.is_empty():
                continue  # nothing to propose, no state to hold: adds no row below
            p, st = choose(covered, s, day, last_planned, packs.collector_role, exponent(s.currency))
            label = s.name if single else f"{arm.name}:{s.name}"
            proposals.append(p.with_columns(pl.lit(label).alias("strategy")))
            states.append(st.with_columns(pl.lit(label).alias("strategy")))
    p = pl.concat(proposals) if proposals else pl.DataFrame(schema=PROPOSALS)
    st = pl.concat(states) if states else pl.DataFrame(schema=STATES)
    acting = p["borrower_id"].unique()
    left_alone = int((~st["borrower_id"].is_in(acting.implode())).sum()) if not st.is_empty() else 0

    rows = pl.DataFrame(schema=_ROWS)
    if not p.is_empty():
        p = p.with_row_index("_i")
        p = _pick_language(p, templates)
        p = with_windows(p, world.borrowers.select("borrower_id", "zones"), day).sort("_i")
        p = p.with_columns(_action_ids(p, day))
        p = p.with_columns(_recording(pl.col("action_id"), pl.col("action")).alias("recording_ref"))
        d = _decide(p, world, packs, templates)
        record(conn, d, "planned_action", day, now, world.borrowers, {"strategy": strategy})
        p = p.with_columns(d["decision"], d["rules"], d["start"], d["end"])
        held = p.filter(pl.col("decision") == "block").with_columns(pl.lit("held").alias("status"),
                                                                    pl.lit(None, pl.String).alias("assigned_to"))
        ok = p.filter(pl.col("decision") == "allow")
        late = q.deferred(conn, day)
        ok = (ok.join(late, on=["borrower_id", "action"], how="left")
              .sort([pl.col("since").is_null(), pl.col("is_notice").not_(), pl.col("expected_value_micro"), "borrower_id", "action"],
                    descending=[False, False, True, False, False])
              .drop("since"))
        ok = assign_agents(ok, q.agents(conn, day))
        rows = pl.concat([ok, held], how="diagonal_relaxed").with_row_index("priority", offset=1)
        rows = _rows(rows)
    run = q.save_plan(conn, day, strategy, rows, fresh, now)
    counts = {s: int((rows["status"] == s).sum()) for s in ("planned", "deferred", "held")}
    return PlanReport(day, run, strategy, counts["planned"], counts["deferred"], counts["held"], left_alone,
                      _out(rows.filter(pl.col("status") == "planned"), day), arrears.select(_ARREARS.columns))


_ARREARS = pl.DataFrame(schema={"loan_id": pl.String, "borrower_id": pl.String, "currency": pl.String,
                                 "bucket": pl.String, "dpd": pl.Int32, "total_outstanding": pl.Int64})
_ROWS = pl.Schema({
    "action_id": pl.String, "borrower_id": pl.String, "loan_id": pl.String, "loan_ids": pl.String,
    "action": pl.String, "channel": pl.String, "party": pl.String, "window_start": pl.Datetime("us", "UTC"),
    "window_end": pl.Datetime("us", "UTC"), "template_id": pl.String, "language": pl.String, "offer": pl.String,
    "assigned_to": pl.String, "currency": pl.String, "expected_value_minor": pl.Int64, "strategy": pl.String,
    "state": pl.String, "sets_flag": pl.String, "priority": pl.Int32, "reason": pl.String, "status": pl.String,
    "rules": pl.String, "zone": pl.String, "recording_ref": pl.String,
})


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.is_empty():
        return pl.DataFrame(schema=_ROWS)
    # Half-up to the minor unit: an expected value is a figure for people, not a ledger entry.
    ev = (pl.col("expected_value_micro") + pl.when(pl.col("expected_value_micro") >= 0).then(500_000).otherwise(-500_000)) // 1_000_000
    return frame.with_columns(
        pl.col("loan_ids").list.join(";"), pl.col("start").alias("window_start"), pl.col("end").alias("window_end"),
        ev.alias("expected_value_minor"),
        pl.when(pl.col("status") == "held").then(pl.col("rules")).otherwise(None).alias("rules"),
    ).select(pl.col(c).cast(t) for c, t in _ROWS.items())


def _out(rows: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The planned rows as INTERFACE.md's ``actions`` file columns, money as decimal text."""
    if rows.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in ACTIONS_OUT})
    rows = _local_text(_local_text(rows, "window_start"), "window_end").sort("priority")
    exp = pl.col("currency").map_elements(exponent, return_dtype=pl.Int64)
    ev = pl.col("expected_value_minor")
    scale = pl.lit(10).pow(exp)
    ev_text = pl.concat_str(
        pl.when(ev < 0).then(pl.lit("-")).otherwise(pl.lit("")), (ev.abs() // scale).cast(pl.String),
        pl.when(exp > 0).then(pl.concat_str(pl.lit("."), (ev.abs() % scale).cast(pl.String).str.zfill(exp))).otherwise(pl.lit("")))
    return rows.select(
        "action_id", pl.lit(day.isoformat()).alias("business_date"), "borrower_id", "loan_id", "loan_ids", "action",
        "channel", "party", pl.col("window_start_text").alias("window_start"), pl.col("window_end_text").alias("window_end"),
        "template_id", "language", "offer", "assigned_to", "currency", ev_text.alias("expected_value"), "strategy", "reason",
        "recording_ref",
    )


def write_actions(actions: pl.DataFrame, out) -> None:
    write_frame(actions, out)
