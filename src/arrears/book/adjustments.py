"""Adjustments: the money-side decisions a collections team makes, applied by the day step.

Applied on their ``effective_on`` day, after that day's accrual and before its payments, so a
waiver granted on a call can be met by a payment the same day. What each one does, and why:

- ``waive_penalty`` / ``waive_fees``: that much (or all) of the loan's penalty or fees.
- ``waive_interest``: that much (or all) of the interest already due, oldest instalment first.
  Interest not yet due is not waived: reduce the rate with a restructure instead.
- ``pause_start`` / ``pause_end``: a pause is a fact with a start and an end (``pauses``). Its
  effects: ``contact_hold`` (compliance only), ``accrual_freeze`` (no penalty, no fees, and the
  contractual interest of frozen days is waived when its instalment falls due), and
  ``ageing_pause`` (the paused days do not count in dpd). By reason: dispute, bankruptcy and
  deceased hold contact only, since those accounts keep ageing (reporting them as current would
  misreport them); breathing_space adds the freeze; forbearance and disaster pause all three.
- ``restructure``: a new schedule from the effective day on the principal outstanding, plus
  whatever arrears the decision capitalises. Arrears carried stay owed: penalty and fees as they
  are, interest due on the old instalments, payable by the first new due date. Waived arrears are
  waived (and recorded as waived, the running period's interest earned to the day included). Old
  instalments are closed out. dpd resets to the new schedule; dofd stays, since a restructure is
  not a cure. During the probation period a missed payment returns the account to its
  pre-restructure bucket.
- ``settlement``: an agreed amount and a ``pay_by`` date. When the payments since the agreement
  reach the amount by ``pay_by``, the rest is waived and the loan is ``settled``. Paid late or
  short, nothing is waived; the payments were ordinary payments.
- ``charge_off`` (by decision: ageing charges off, and writes off what the running period earned to
  the day) and ``write_off`` (everything owed is written off; the loan closes).
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from arrears.book import schedule as sch
from arrears.book.balances import (
    MICRO,
    accrued_interest,
    fees_outstanding,
    penalty_outstanding,
    post_held_interest,
    round_micro,
    stop_interest,
    unpaid_interest,
    unpaid_principal,
    with_dues,
)
from arrears.book.frames import ENGINE
from arrears.book.keys import join_instalments, key_type, keyed
from arrears.book.state import ALLOCATIONS
from arrears.calendar import roll
from arrears.rates import parse_rate

ADJUSTMENTS = pl.Schema(
    {
        "adjustment_id": pl.String,
        "loan_id": pl.String,
        "type": pl.String,
        "effective_on": pl.Date,
        "amount": pl.Int64,  # minor units; null = all (waivers)
        "params": pl.String,  # JSON text
        "approved_by": pl.String,
    }
)

PAUSES = pl.Schema(
    {
        "loan_id": pl.String,
        "reason": pl.String,
        "contact_hold": pl.Boolean,
        "accrual_freeze": pl.Boolean,
        "ageing_pause": pl.Boolean,
        "start_on": pl.Date,
        "end_on": pl.Date,  # the first day no longer paused; null while the pause lasts
    }
)

TYPES = (
    "waive_penalty", "waive_interest", "waive_fees", "pause_start", "pause_end", "restructure",
    "settlement", "charge_off", "write_off", "correction",
)
PAUSE_REASONS = ("hardship", "forbearance", "disaster", "dispute", "bankruptcy", "deceased", "breathing_space")
PAUSE_EFFECTS = ("contact_hold", "accrual_freeze", "ageing_pause")
DEFAULT_EFFECTS = {
    "dispute": ("contact_hold",),
    "bankruptcy": ("contact_hold",),
    "deceased": ("contact_hold",),
    "breathing_space": ("contact_hold", "accrual_freeze"),
    "forbearance": PAUSE_EFFECTS,
    "disaster": PAUSE_EFFECTS,
    "hardship": ("contact_hold", "accrual_freeze"),
}
TREATMENTS = ("capitalise", "carry", "waive")


def pause_effects(params: dict) -> tuple[str, ...]:
    effects = params.get("effects")
    return tuple(effects) if effects else DEFAULT_EFFECTS[params["reason"]]


def pauses(adjustments: pl.DataFrame) -> pl.DataFrame:
    """Pause intervals from ``pause_start`` / ``pause_end`` facts (one open pause per loan at a time)."""
    rows = []
    open_: dict[str, dict] = {}
    adj = adjustments.filter(pl.col("type").is_in(["pause_start", "pause_end"])).sort("loan_id", "effective_on", "adjustment_id")
    for r in adj.iter_rows(named=True):
        if r["type"] == "pause_start":
            params = json.loads(r["params"] or "{}")
            effects = pause_effects(params)
            open_[r["loan_id"]] = {
                "loan_id": r["loan_id"], "reason": params["reason"],
                **{e: e in effects for e in PAUSE_EFFECTS}, "start_on": r["effective_on"], "end_on": None,
            }
        elif r["loan_id"] in open_:
            p = open_.pop(r["loan_id"])
            rows.append({**p, "end_on": r["effective_on"]})
    rows.extend(open_.values())
    return pl.DataFrame(rows, schema=PAUSES)


def in_force(p: pl.DataFrame, day: dt.date, effect: str) -> pl.DataFrame:
    """Loans with a pause carrying ``effect`` on ``day``."""
    return p.filter(
        pl.col(effect) & (pl.col("start_on") <= day) & (pl.col("end_on").is_null() | (pl.col("end_on") > day))
    ).select("loan_id").unique()


def paused_days(p: pl.DataFrame, since: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Per loan, days under an ageing pause in (since, day]; ``since`` has loan_id and ``since``."""
    a = p.filter(pl.col("ageing_pause")).join(since, on="loan_id")
    if a.is_empty():
        return pl.DataFrame(schema={"loan_id": key_type(since), "paused": pl.Int64})
    lo = pl.max_horizontal(pl.col("start_on"), pl.col("since") + pl.duration(days=1))
    hi = pl.min_horizontal(pl.coalesce("end_on", pl.lit(day + dt.timedelta(days=1), pl.Date)),
                           pl.lit(day + dt.timedelta(days=1), pl.Date))
    return a.with_columns((hi - lo).dt.total_days().clip(0).alias("paused")).group_by("loan_id").agg(
        pl.col("paused").sum()
    )


def _waive_loan_level(loans: pl.DataFrame, adj: pl.DataFrame, kind: str) -> pl.DataFrame:
    col, outstanding = {"waive_penalty": ("penalty_waived", penalty_outstanding()),
                        "waive_fees": ("fees_waived", fees_outstanding())}[kind]
    w = adj.filter(pl.col("type") == kind).group_by("loan_id").agg(
        pl.col("amount").sum().alias("_w"), pl.col("amount").is_null().any().alias("_all"))
    if w.is_empty():
        return loans
    return (
        loans.join(w, on="loan_id", how="left")
        .with_columns(
            (pl.col(col) + pl.when(pl.col("_all")).then(outstanding)
             .otherwise(pl.min_horizontal(pl.col("_w"), outstanding)).fill_null(0).clip(0)).alias(col)
        )
        .drop("_w", "_all")
    )


def _waive_interest(inst: pl.DataFrame, adj: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    w = adj.filter(pl.col("type") == "waive_interest").group_by("loan_id").agg(
        pl.col("amount").sum().alias("_w"), pl.col("amount").is_null().any().alias("_all"))
    if w.is_empty():
        return inst
    d = with_dues(inst, day).join(w, on="loan_id", how="left").sort("loan_id", "n")
    owed = pl.when(pl.col("is_due")).then(pl.col("unpaid_interest")).otherwise(0)
    d = d.with_columns((owed.cum_sum().over("loan_id") - owed).alias("_before"), owed.alias("_owed"))
    take = pl.when(pl.col("_w").is_null() & ~pl.col("_all").fill_null(False)).then(0).when(pl.col("_all")).then(
        pl.col("_owed")).otherwise((pl.col("_w") - pl.col("_before")).clip(0).clip(upper_bound=pl.col("_owed")))
    return d.with_columns((pl.col("waived_interest") + take).alias("waived_interest")).select(inst.columns)


def write_off_all(loans, inst, ids: pl.DataFrame, day: dt.date, status: str | None, into: str = "written_off"):
    """Waive everything a loan owes (principal, interest due and accrued, penalty, fees), recording
    the amount in ``into`` (``written_off``, or ``forgiven`` for a settlement's concession)."""
    if ids.is_empty():
        return loans, inst, pl.DataFrame(schema={"loan_id": key_type(loans), "amount": pl.Int64})
    mark = ids.select("loan_id", pl.lit(True).alias("_w")).unique()
    was = loans.select("loan_id", pl.col(into).alias("_was"))
    # The running period's interest as it is owed: net of what the cap removed, which was never
    # receivable and so is not written off (it once was, as if the gross had been owed).
    loans, inst = end_running_period(loans, inst, ids, day, into)
    d = with_dues(inst, day).join(mark, on="loan_id", how="left").with_columns(pl.col("_w").fill_null(False))
    amount_inst = d.filter(pl.col("_w")).group_by("loan_id").agg(
        (pl.col("unpaid_principal").sum() + pl.col("unpaid_interest").filter(pl.col("is_due")).sum()).alias("_i"),
    )
    inst = d.with_columns(
        pl.when(pl.col("_w")).then(pl.col("waived_principal") + pl.col("unpaid_principal"))
        .otherwise(pl.col("waived_principal")).alias("waived_principal"),
        pl.when(pl.col("_w") & pl.col("is_due")).then(pl.col("waived_interest") + pl.col("unpaid_interest"))
        .otherwise(pl.col("waived_interest")).alias("waived_interest"),
    ).select(inst.columns)
    loans = (
        loans.join(amount_inst, on="loan_id", how="left")
        .join(mark, on="loan_id", how="left")
        .with_columns(pl.col("_w").fill_null(False))
        .with_columns(
            pl.when(pl.col("_w")).then(penalty_outstanding()).otherwise(0).alias("_p"),
            pl.when(pl.col("_w")).then(fees_outstanding()).otherwise(0).alias("_f"),
        )
        .with_columns(
            (pl.col("penalty_waived") + pl.col("_p")).alias("penalty_waived"),
            (pl.col("fees_waived") + pl.col("_f")).alias("fees_waived"),
            (pl.col(into) + pl.when(pl.col("_w")).then(pl.col("_i").fill_null(0) + pl.col("_p") + pl.col("_f"))
             .otherwise(0)).alias(into),
            pl.when(pl.col("_w") & pl.lit(status is not None)).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
            pl.when(pl.col("_w") & pl.lit(status is not None)).then(pl.lit(day, pl.Date))
            .otherwise(pl.col("closed_on")).alias("closed_on"),
        )
    )
    amounts = loans.filter(pl.col("_w")).join(was, on="loan_id").select(
        "loan_id", (pl.col(into) - pl.col("_was")).alias("amount"))
    return loans.drop("_i", "_w", "_p", "_f"), inst, amounts


def end_running_period(
    loans: pl.DataFrame, inst: pl.DataFrame, ids: pl.DataFrame, day: dt.date, into: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """End the running period of ``ids`` on ``day`` without charging it on (a charge-off, a
    restructure that waives its interest): the interest of days not yet run is never charged, and
    the interest earned up to ``day`` is waived off its instalment rather than dropped unrecorded,
    so receivable = due - paid - waived still holds. The cap's and the freeze's held interest is
    posted first, as it would have been at the due date (``step._post``): it was never receivable.
    What is waived is also added to ``into`` (``written_off`` at charge-off) when given."""
    if ids.is_empty():
        return loans, inst
    loans, inst, run = post_held_interest(loans, inst, ids, day)
    run = run.with_columns((pl.col("accrued_gross") - pl.col("_pc") - pl.col("_pf")).fill_null(0).alias("_wo"))
    # In place on the rows of the few loans that end a period on a day (a charge-off), not joins that
    # hash every instalment and carry every column of every loan.
    inst = _add_in_place(inst, run.select("loan_id", "n", "_wo"), ["loan_id", "n"], "waived_interest")
    inst = stop_interest(inst, ids, day)
    if into:
        per_loan = run.group_by("loan_id").agg(pl.col("_wo").sum())
        loans = _add_in_place(loans, per_loan, ["loan_id"], into)
    return loans, inst


def _add_in_place(frame: pl.DataFrame, rows: pl.DataFrame, on: list[str], col: str) -> pl.DataFrame:
    """``frame`` with ``rows``' last column (at most one row per ``on``) added to ``col`` on the rows
    that match: a left join and a sum, row order and columns kept."""
    at = frame["loan_id"].is_in(rows["loan_id"].implode()).arg_true()
    hit = frame[at].select(on).with_columns(at.alias("_at")).join(rows, on=on)
    at, add = hit["_at"], hit[rows.columns[-1]]
    old = frame[col]
    return frame.with_columns(old.clone().scatter(at, (old.gather(at) + add).cast(old.dtype)))


def apply(
    loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, adj: pl.DataFrame, day: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The adjustments effective on ``day`` (already filtered to it), in a fixed order."""
    if adj.is_empty():
        return loans, inst
    loans = _waive_loan_level(loans, adj, "waive_penalty")
    loans = _waive_loan_level(loans, adj, "waive_fees")
    inst = _waive_interest(inst, adj, day)
    restructures = adj.filter(pl.col("type") == "restructure")
    if not restructures.is_empty():
        loans, inst = _restructure(loans, inst, terms, restructures, day)
    settle = adj.filter(pl.col("type") == "settlement").select(
        "loan_id", pl.col("amount").alias("_amt"),
        pl.col("params").map_elements(lambda p: json.loads(p)["pay_by"], return_dtype=pl.String)
        .str.to_date().alias("_by"),
    )
    if not settle.is_empty():
        loans = (
            loans.join(settle, on="loan_id", how="left")
            .with_columns(
                pl.coalesce("_amt", "settlement_amount").alias("settlement_amount"),
                pl.coalesce("_by", "settlement_pay_by").alias("settlement_pay_by"),
                pl.when(pl.col("_amt").is_not_null()).then(0).otherwise(pl.col("settlement_paid")).alias("settlement_paid"),
            )
            .drop("_amt", "_by")
        )
    off = adj.filter(pl.col("type") == "charge_off").select("loan_id").unique()
    if not off.is_empty():
        loans = loans.join(off.with_columns(pl.lit(True).alias("_co")), on="loan_id", how="left").with_columns(
            pl.when(pl.col("_co").fill_null(False) & ~pl.col("status").is_in(["paid_off", "settled", "written_off",
                                                                               "charged_off"]))
            .then(pl.lit("charge_off_now")).otherwise(pl.col("status")).alias("status")
        ).drop("_co")
    wo = adj.filter(pl.col("type") == "write_off").select("loan_id").unique()
    if not wo.is_empty():
        loans, inst, _ = write_off_all(loans, inst, wo, day, "written_off")
    return loans, inst


def sorts_instalments(adj: pl.DataFrame) -> bool:
    """Whether ``apply`` leaves the instalments sorted by loan and number (it does when it waives
    interest or restructures) rather than in the order they came."""
    return bool(adj["type"].is_in(["waive_interest", "restructure"]).any())


def settle_if_paid(
    loans: pl.DataFrame, inst: pl.DataFrame, payments: pl.DataFrame, day: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """After the day's payments: count them towards an agreed settlement; settle or let it lapse.

    Returns loans, instalments and the allocations of any held credit the settlement spent."""
    spent = pl.DataFrame(schema=keyed(ALLOCATIONS, loans))
    if loans.filter(pl.col("settlement_amount").is_not_null()).is_empty():
        return loans, inst, spent
    paid = payments.group_by("loan_id").agg(pl.col("amount").sum().alias("_paid"))
    loans = loans.join(paid, on="loan_id", how="left").with_columns(
        pl.when(pl.col("settlement_amount").is_not_null())
        .then(pl.col("settlement_paid") + pl.col("_paid").fill_null(0)).otherwise(pl.col("settlement_paid"))
        .alias("settlement_paid")
    ).drop("_paid")
    done = loans.filter(
        pl.col("settlement_amount").is_not_null() & (pl.col("settlement_paid") >= pl.col("settlement_amount"))
        & (pl.lit(day, pl.Date) <= pl.col("settlement_pay_by"))
        & ~pl.col("status").is_in(["paid_off", "settled", "written_off"])
    ).select("loan_id")
    if not done.is_empty():
        # The agreed money is kept whole: what of it the day's allocation held as credit (beyond the
        # dues it paid) repays principal now, and only what is still owed after that is forgiven.
        loans, inst, spent = _spend_credit(loans, inst, done, day)
        # What a settlement forgives is a concession, not a loss written off.
        loans, inst, _ = write_off_all(loans, inst, done, day, "settled", into="forgiven")
    lapse = (pl.col("settlement_amount").is_not_null() & (
        (pl.lit(day, pl.Date) >= pl.col("settlement_pay_by")) | pl.col("status").is_in(["settled", "paid_off"])))
    return loans.with_columns(
        pl.when(lapse).then(None).otherwise(pl.col("settlement_amount")).alias("settlement_amount"),
        pl.when(lapse).then(None).otherwise(pl.col("settlement_pay_by")).alias("settlement_pay_by"),
        pl.when(lapse).then(0).otherwise(pl.col("settlement_paid")).alias("settlement_paid"),
    ), inst, spent


def _spend_credit(loans, inst, done, day):
    """Spend the held credit of ``done`` loans on what they still owe: the interest accrued in the
    current period, then principal, instalment by instalment (their dues are already paid: credit
    is only held once they are)."""
    cred = loans.join(done, on="loan_id").filter(pl.col("credit") > 0).select("loan_id", "credit", "status")
    if cred.is_empty():
        return loans, inst, pl.DataFrame(schema=keyed(ALLOCATIONS, loans))
    acc = accrued_interest(inst.join(cred.select("loan_id"), on="loan_id"), day)
    d = with_dues(inst, day).join(cred.select("loan_id"), on="loan_id")
    items = pl.concat([
        acc.select("loan_id", pl.col("current_n").alias("n"), pl.lit("interest").alias("component"),
                   pl.col("accrued_gross").alias("amount"), pl.lit(0).alias("_k")),
        d.select("loan_id", "n", pl.lit("principal").alias("component"), pl.col("unpaid_principal").alias("amount"),
                 pl.lit(1).alias("_k")),
    ]).filter(pl.col("amount") > 0).sort("loan_id", "_k", "n").join(cred, on="loan_id")
    items = items.with_columns((pl.col("amount").cum_sum().over("loan_id") - pl.col("amount")).alias("_before")).with_columns(
        (pl.col("credit") - pl.col("_before")).clip(0).clip(upper_bound=pl.col("amount")).alias("paid")
    ).filter(pl.col("paid") > 0)
    per_inst = items.group_by("loan_id", "n").agg(
        pl.col("paid").filter(pl.col("component") == "principal").sum().alias("_pp"),
        pl.col("paid").filter(pl.col("component") == "interest").sum().alias("_pi"),
    )
    inst = join_instalments(inst, per_inst).with_columns(
        (pl.col("paid_principal") + pl.col("_pp").fill_null(0)).alias("paid_principal"),
        (pl.col("paid_interest") + pl.col("_pi").fill_null(0)).alias("paid_interest"),
    ).drop("_pp", "_pi").collect(engine=ENGINE)
    used = items.group_by("loan_id").agg(pl.col("paid").sum().alias("_used"))
    loans = loans.join(used, on="loan_id", how="left").with_columns(
        (pl.col("credit") - pl.col("_used").fill_null(0)).alias("credit")).drop("_used")
    spent = items.select(
        "loan_id", pl.lit(day, pl.Date).alias("day"), pl.lit("credit").alias("source"), "component",
        pl.col("n").cast(pl.Int32), pl.col("paid").alias("amount"), (pl.col("status") == "charged_off").alias("recovery"),
    ).cast(keyed(ALLOCATIONS, loans))
    return loans, inst, spent


def _restructure(loans, inst, terms, restructures, day):
    """Close out the old instalments and append the new schedule (per loan: restructures are few)."""
    # What the cap (or a freeze) held back in the running period is never receivable: taken off now,
    # it is neither capitalised nor carried, and not taken later off the new schedule's interest.
    loans, inst, _ = post_held_interest(loans, inst, restructures, day)
    d = with_dues(inst, day)
    acc = accrued_interest(inst, day)
    new_rows, closed, loan_updates = [], [], []
    t = {r["loan_id"]: r for r in terms.iter_rows(named=True)}
    state = {r["loan_id"]: r for r in loans.iter_rows(named=True)}
    for r in restructures.iter_rows(named=True):
        lid = r["loan_id"]
        p = json.loads(r["params"])
        treat = {"penalty": "carry", "interest": "capitalise", "fees": "carry", **p.get("arrears", {})}
        rows = d.filter(pl.col("loan_id") == lid).sort("n")
        principal = int(rows["unpaid_principal"].sum())
        interest_due = int(rows.filter(pl.col("is_due"))["unpaid_interest"].sum())
        running = acc.filter(pl.col("loan_id") == lid)
        accrued = int(running["accrued_gross"].sum())
        interest = interest_due + accrued
        s = state[lid]
        penalty = round_micro_int(s["penalty_micro"]) - s["penalty_paid"] - s["penalty_waived"]
        fees = round_micro_int(s["fees_micro"]) - s["fees_paid"] - s["fees_waived"]
        capital = principal + sum(v for k, v in (("interest", interest), ("penalty", penalty), ("fees", fees))
                                  if treat[k] == "capitalise")
        tr = t[lid]
        rate = parse_rate(str(p["annual_rate"])) if "annual_rate" in p else tr["annual_rate_nano"]
        first_due = dt.date.fromisoformat(p["first_due_on"]) if p.get("first_due_on") else None
        new_terms = sch.LoanTerms(capital, rate, int(p["term"]), p.get("frequency", tr["frequency"]),
                                  p.get("method", tr["method"]), day, first_due, tr["period_days"])
        built = sch.build(new_terms)
        base_n = int(rows["n"].max())
        prev = day
        for inst_ in built:
            new_rows.append({
                "loan_id": lid, "n": base_n + inst_.n, "period_start": prev, "due_on": inst_.due_on,
                "adjusted_due_on": roll(inst_.due_on, tr["business_day_rule"], tr["calendar"]),
                "principal": inst_.principal, "interest": inst_.interest,
            })
            prev = inst_.due_on
        closed.append({"loan_id": lid, "waive_interest": treat["interest"] == "waive", "accrued": accrued,
                       "carry": treat["interest"] == "carry",
                       "running_n": int(running["current_n"][0]) if running.height else None,
                       "pay_by": new_rows[-len(built)]["adjusted_due_on"]})
        loan_updates.append({
            "loan_id": lid, "_pen_w": penalty if treat["penalty"] in ("waive", "capitalise") else 0,
            "_fee_w": fees if treat["fees"] in ("waive", "capitalise") else 0,
            "_probation": sch.add_months(day, int(tr["restructure_probation_months"])),
        })
    c = pl.DataFrame(closed, schema={"loan_id": key_type(loans), "waive_interest": pl.Boolean, "accrued": pl.Int64,
                                     "carry": pl.Boolean, "running_n": pl.Int32, "pay_by": pl.Date})
    # Waived, the running period's interest earned to today is recorded as waived like the arrears.
    loans, inst = end_running_period(loans, inst, c.filter(pl.col("waive_interest")), day, None)
    d = with_dues(inst, day)
    # Old instalments: their principal moves to the new schedule; their unpaid interest is waived,
    # capitalised, or carried. Carried interest stays owed, so it stays due where it is (the running
    # period ends today with what it earned) and is payable by the first new due date: it counts in
    # what is owed every day, not as the first new period's interest accruing.
    old = d.join(c, on="loan_id", how="left").with_columns(pl.col("waive_interest").is_not_null().alias("_r"))
    old = old.with_columns(
        (pl.col("_r") & pl.col("carry")).alias("_carry"),
        (pl.col("_r") & pl.col("carry") & (pl.col("n") == pl.col("running_n"))).fill_null(False).alias("_run"),
    ).with_columns(
        pl.when(pl.col("_carry") & (pl.col("is_due") | pl.col("_run"))
                & (pl.when(pl.col("_run")).then(pl.col("accrued")).otherwise(pl.col("unpaid_interest")) > 0))
        .then(pl.col("pay_by")).otherwise(pl.col("adjusted_due_on")).alias("adjusted_due_on"),
        pl.when(pl.col("_run")).then(pl.lit(day, pl.Date)).otherwise(pl.col("due_on")).alias("due_on"),
    )
    old = old.with_columns(
        pl.when(pl.col("_r")).then(pl.col("paid_principal") + pl.col("waived_principal"))
        .otherwise(pl.col("principal")).alias("principal"),
        pl.when(pl.col("_r") & pl.col("waive_interest") & pl.col("is_due"))
        .then(pl.col("waived_interest") + pl.col("unpaid_interest")).otherwise(pl.col("waived_interest"))
        .alias("waived_interest"),
    ).with_columns(
        pl.when(pl.col("_run"))
        .then(pl.col("interest_capped") + pl.col("paid_interest") + pl.col("waived_interest") + pl.col("accrued"))
        .when(pl.col("_carry") & pl.col("is_due")).then(pl.col("interest"))
        .when(pl.col("_r")).then(pl.col("interest_capped") + pl.col("paid_interest") + pl.col("waived_interest"))
        .otherwise(pl.col("interest")).alias("interest"),
    ).select(inst.columns)
    zero = {c: 0 for c in ("interest_capped", "paid_principal", "paid_interest", "waived_principal",
                           "waived_interest", "late_fees")}
    added = pl.DataFrame([{**r, **zero} for r in new_rows], schema=inst.schema)
    inst = pl.concat([old, added]).sort("loan_id", "n")
    u = pl.DataFrame(loan_updates, schema={"loan_id": key_type(loans), "_pen_w": pl.Int64, "_fee_w": pl.Int64,
                                           "_probation": pl.Date})
    loans = (
        loans.join(u, on="loan_id", how="left")
        .with_columns(
            (pl.col("penalty_waived") + pl.col("_pen_w").fill_null(0)).alias("penalty_waived"),
            (pl.col("fees_waived") + pl.col("_fee_w").fill_null(0)).alias("fees_waived"),
            pl.when(pl.col("_probation").is_not_null()).then(pl.lit(day, pl.Date))
            .otherwise(pl.col("restructured_on")).alias("restructured_on"),
            pl.coalesce("_probation", "probation_until").alias("probation_until"),
            pl.when(pl.col("_probation").is_not_null()).then(pl.col("bucket"))
            .otherwise(pl.col("pre_restructure_bucket")).alias("pre_restructure_bucket"),
            pl.when(pl.col("_probation").is_not_null()).then(pl.lit("restructured"))
            .otherwise(pl.col("status")).alias("status"),
        )
        .drop("_pen_w", "_fee_w", "_probation")
    )
    return loans, inst


def round_micro_int(v: int) -> int:
    return (v + MICRO // 2) // MICRO


__all__ = [
    "ADJUSTMENTS", "PAUSES", "apply", "in_force", "paused_days", "pauses", "settle_if_paid",
    "unpaid_interest", "unpaid_principal", "round_micro",
]
