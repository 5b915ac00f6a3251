"""From facts to proposals: each borrower's state (first match wins), its actions that are due by
their cadence, the statutory notices that apply, each with its expected value and a reason (pure).

An action whose expected value is not positive is left out ("no door visit costs more than it can
recover"); a statutory notice is planned whatever it costs.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.strategy.conditions import expression
from arrears.strategy.facts import FACTS
from arrears.strategy.model import PPM, ActionSpec, Strategy

PROPOSALS = pl.Schema({
    "borrower_id": pl.String,
    "loan_id": pl.String,
    "loan_ids": pl.List(pl.String),
    "jurisdiction": pl.String,
    "language": pl.String,
    "currency": pl.String,
    "action": pl.String,
    "channel": pl.String,
    "party": pl.String,
    "template_id": pl.String,
    "offer": pl.String,  # INTERFACE.md offer JSON
    "offer_amount": pl.Int64,  # settlement amount or plan instalment, minor units
    "offer_pay_by": pl.Date,
    "expected_value_micro": pl.Int64,  # uplift × balance − cost, micro-minor units
    "strategy": pl.String,
    "state": pl.String,
    "sets_flag": pl.String,
    "is_notice": pl.Boolean,
    "hours_from": pl.Int32,  # local minutes
    "hours_until": pl.Int32,
    "reason": pl.String,
})
STATES = pl.Schema({"borrower_id": pl.String, "strategy": pl.String, "state": pl.String})
# The last day each (borrower, action, template) was planned: the cadence counts from it.
LAST_PLANNED = pl.Schema({"borrower_id": pl.String, "action": pl.String, "template_id": pl.String, "last_on": pl.Date})

_WORDS = {
    "sms": "SMS", "email": "e-mail", "robocall": "automated call", "agent_call": "agent call",
    "letter": "letter", "field_visit": "field visit", "app_push": "app notification",
    "settlement_offer": "settlement offer", "plan_offer": "payment plan offer", "agency_placement": "agency placement",
}


def _all(when) -> pl.Expr:
    e = pl.lit(True)
    for key, value in when:
        e = e & expression(key, value)
    return e


def _spec_rows(specs: list[tuple[int, ActionSpec, str, str | None]], strategy: Strategy) -> pl.DataFrame:
    rows = []
    for key, s, name, flag in specs:
        o = s.offer
        cost = strategy.costs.get(s.action, strategy.costs.get(s.channel or "", 0))
        rows.append({
            "_key": key, "action": s.action, "channel": s.channel, "template_id": s.template,
            "cadence": s.cadence_days, "uplift": s.uplift_ppm, "cost": cost, "state": name, "sets_flag": flag,
            "o_type": o.type if o else None, "o_discount": o.discount_ppm if o else None,
            "o_days": (o.pay_by_days if o.type == "settlement" else o.first_due_in_days) if o else None,
            "o_count": o.count if o else None, "o_freq": o.frequency if o else None,
        })
    schema = {"_key": pl.Int32, "action": pl.String, "channel": pl.String, "template_id": pl.String,
              "cadence": pl.Int32, "uplift": pl.Int64, "cost": pl.Int64, "state": pl.String, "sets_flag": pl.String,
              "o_type": pl.String, "o_discount": pl.Int64, "o_days": pl.Int32, "o_count": pl.Int32, "o_freq": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def states_of(facts: pl.DataFrame, strategy: Strategy) -> pl.Expr:
    """The index of the first state whose conditions hold (null: none does)."""
    chain = None
    for i, s in enumerate(strategy.states):
        chain = (pl.when(_all(s.when)).then(pl.lit(i)) if chain is None
                 else chain.when(_all(s.when)).then(pl.lit(i)))
    return chain.otherwise(None).cast(pl.Int32) if chain is not None else pl.lit(None, pl.Int32)


def _money_text(minor: pl.Expr, exp: int = 2) -> pl.Expr:
    # Offers carry exact decimal text in major units (INTERFACE.md), never a float.
    whole = (minor // 10**exp).cast(pl.String)
    frac = (minor % 10**exp).cast(pl.String).str.zfill(exp)
    return pl.concat_str(whole, pl.lit("."), frac) if exp else whole


def _offers(p: pl.DataFrame, day: dt.date, exp: int) -> pl.DataFrame:
    settle = pl.col("o_type") == "settlement"
    plan = pl.col("o_type") == "plan"
    amount = (
        pl.when(settle).then(pl.col("balance") - pl.col("balance") * pl.col("o_discount") // PPM)
        .when(plan).then(-(-pl.col("balance") // pl.col("o_count")))
    )
    due = pl.lit(day) + pl.duration(days=pl.col("o_days"))
    p = p.with_columns(amount.alias("offer_amount"), pl.when(settle | plan).then(due).alias("offer_pay_by"))
    text = _money_text(pl.col("offer_amount"), exp)
    pay_by = pl.col("offer_pay_by").dt.strftime("%Y-%m-%d")
    offer = (
        pl.when(settle).then(pl.concat_str(
            pl.lit('{"type": "settlement", "amount": "'), text, pl.lit('", "currency": "'), pl.col("currency"),
            pl.lit('", "pay_by": "'), pay_by, pl.lit('"}')))
        .when(plan).then(pl.concat_str(
            pl.lit('{"type": "plan", "instalment": "'), text, pl.lit('", "currency": "'), pl.col("currency"),
            pl.lit('", "count": '), pl.col("o_count").cast(pl.String), pl.lit(', "frequency": "'), pl.col("o_freq"),
            pl.lit('", "first_due_on": "'), pay_by, pl.lit('"}')))
    )
    return p.with_columns(offer.alias("offer"))


def _reason(exp: int) -> pl.Expr:
    """"DPD 35, balance 8,400.00, promise broken on 03-02: agent call (late: call and settlement offer)"."""
    whole = (pl.col("balance") // 10**exp).cast(pl.String)
    # Thousands separators, for a person reading it.
    grouped = whole.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.reverse().str.strip_prefix(",")
    balance = pl.concat_str(grouped, pl.lit("."), (pl.col("balance") % 10**exp).cast(pl.String).str.zfill(exp)) if exp else grouped
    parts = [
        pl.format("DPD {}, balance {} {}", pl.col("dpd"), balance, pl.col("currency")),
        pl.when(pl.col("days_since_broken_promise").is_not_null()).then(
            pl.format(", promise broken {} days ago", pl.col("days_since_broken_promise"))).otherwise(pl.lit("")),
        pl.when(pl.col("days_since_rpc") >= 14).then(
            pl.format(", no contact for {} days", pl.col("days_since_rpc"))).otherwise(pl.lit("")),
        pl.when(pl.col("refusals") > 0).then(pl.format(", {} refusal(s)", pl.col("refusals"))).otherwise(pl.lit("")),
        pl.format(": {} ({})", pl.col("action").replace_strict(_WORDS, default=pl.col("action")), pl.col("state")),
    ]
    return pl.concat_str(parts)


def choose(facts: pl.DataFrame, strategy: Strategy, day: dt.date, last_planned: pl.DataFrame,
           collector_role: str = "first_party", exp: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``PROPOSALS``, ``STATES``) for the borrowers of ``facts`` under ``strategy`` on ``day``.

    ``exp`` is the currency's minor-unit exponent (every borrower a strategy covers owes in its currency).
    """
    facts = facts.select(FACTS.names())
    specs: list[tuple[int, ActionSpec, str, str | None]] = []
    for i, s in enumerate(strategy.states):
        specs += [(i, a, s.name, None) for a in s.actions]
    with_state = facts.with_columns(states_of(facts, strategy).alias("_key"))
    names = {i: s.name for i, s in enumerate(strategy.states)}
    states = with_state.filter(pl.col("_key").is_not_null()).select(
        "borrower_id", pl.lit(strategy.name).alias("strategy"),
        pl.col("_key").replace_strict(names, return_dtype=pl.String).alias("state"))
    parts = []
    if specs:
        parts.append(with_state.filter(pl.col("_key").is_not_null()).join(_spec_rows(specs, strategy), on="_key")
                     .with_columns(pl.lit(False).alias("is_notice")))
    for j, n in enumerate(strategy.notices):
        if n.collector_roles and collector_role not in n.collector_roles:
            continue
        due = facts.filter(_all(n.when) & ~pl.col("flags").list.contains(n.sets_flag))
        if not due.is_empty():
            parts.append(due.with_columns(pl.lit(-1 - j, pl.Int32).alias("_key"))
                         .join(_spec_rows([(-1 - j, n.spec, n.name, n.sets_flag)], strategy), on="_key")
                         .with_columns(pl.lit(True).alias("is_notice")))
    if not parts:
        return pl.DataFrame(schema=PROPOSALS), states.cast(dict(STATES))
    p = pl.concat(parts, how="vertical_relaxed")
    # Cadence: not again until ``cadence`` days after it was last planned for this borrower.
    p = p.join(last_planned.select(LAST_PLANNED.names()), on=["borrower_id", "action", "template_id"], how="left",
               nulls_equal=True)
    p = p.filter(pl.col("last_on").is_null() | ((pl.lit(day) - pl.col("last_on")).dt.total_days() >= pl.col("cadence")))
    p = p.with_columns((pl.col("balance") * pl.col("uplift") - pl.col("cost")).alias("expected_value_micro"))
    p = p.filter(pl.col("is_notice") | (pl.col("expected_value_micro") > 0))
    p = _offers(p, day, exp)
    p = p.with_columns(
        pl.lit("borrower").alias("party"),
        pl.lit(strategy.name).alias("strategy"),
        pl.lit(strategy.hours[0], pl.Int32).alias("hours_from"),
        pl.lit(strategy.hours[1], pl.Int32).alias("hours_until"),
        _reason(exp).alias("reason"),
    )
    return p.select(pl.col(c).cast(t) for c, t in PROPOSALS.items()), states.cast(dict(STATES))
