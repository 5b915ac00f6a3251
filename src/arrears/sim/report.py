"""The simulation report (INTERFACE.md, "Simulation worlds"): money per currency, never summed
across currencies; the rates as defined in ``DEFINITIONS`` (also written into the report, so a
reader of the JSON never has to guess). A pure function of what the loop saw: the same seed gives
the same report, byte for byte.
"""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl

from arrears.money import format_plain, parse_amount
from arrears.sim.oracle import violations
from arrears.sim.run import Days
from arrears.strategy.load import champions

BUCKETS = ("1-29", "30-59", "60-89", "90-119", "120-179", "180+")
AGENCY_FEE_PPM = 250_000  # an agency keeps 25% of what it collects (FIELD-NOTES §6: 20-50%)
WINDOW = 30
CURE_DAYS = 90
DEFINITIONS = {
    "collected": "every payment the world made during the simulation, per currency",
    "contact_cost": "each executed outbound contact at its channel's configured cost (the shipped strategy's [costs] for the borrower's jurisdiction)",
    "agency_fees": "25% of what was paid on a borrower's loans from the day an agency placement was planned for them",
    "net_collected": "collected - contact_cost - agency_fees",
    "contacts_per_delinquent_borrower_week": "outbound contacts to borrowers in arrears that day / (borrower-days in arrears / 7)",
    "roll_rates": "of the loans in a bucket on day d, the share in the next bucket on day d+30, pooled over every d with d+30 inside the simulation",
    "cure_rate": "of the delinquency episodes that began during the simulation at least 90 days before its end, the share that returned to current (or were paid off) within 90 days; null when there are none",
    "violations": "breaches found in the executed contacts by arrears.sim.oracle, an independent re-check of the contact rules",
}


def _minor(frame: pl.DataFrame, amount: str = "amount") -> pl.DataFrame:
    values = [parse_amount(str(a), c) if not isinstance(a, Decimal) else parse_amount(format(a, "f"), c)
              for a, c in frame.select(pl.col(amount).cast(pl.String), "currency").iter_rows()]
    return frame.with_columns(pl.Series("minor", values, pl.Int64))


def _per_currency(frame: pl.DataFrame, column: str = "minor") -> dict[str, int]:
    if frame.is_empty():
        return {}
    return dict(frame.group_by("currency").agg(pl.col(column).sum()).sort("currency").iter_rows())


def _money(values: dict[str, int], currencies: list[str]) -> dict[str, str]:
    return {c: format_plain(values.get(c, 0), c) for c in currencies}


def _cat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.width and not f.is_empty()]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _contact_costs(contacts: pl.DataFrame, borrowers: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for s in champions():
        for channel, micro in s.costs.items():
            for j in s.jurisdictions:
                rows.append((j, channel, micro))
    costs = pl.DataFrame(rows, orient="row", schema={"j": pl.String, "channel": pl.String, "micro": pl.Int64})
    currency = loans.select("borrower_id", "currency").unique("borrower_id", keep="first")
    out = (contacts.filter(pl.col("direction") == "outbound").select("borrower_id", "channel")
           .join(borrowers.select("borrower_id", pl.col("jurisdiction").str.slice(0, 2).alias("j")), on="borrower_id")
           .join(costs, on=["j", "channel"], how="left").join(currency, on="borrower_id", how="left"))
    # Micro-minor units summed, then rounded half up once per currency.
    return out.group_by("currency").agg(((pl.col("micro").fill_null(0).sum() + 500_000) // 1_000_000).alias("minor"))


def _agency_fees(actions: pl.DataFrame, payments: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    if actions.is_empty() or payments.is_empty() or "action" not in actions.columns:
        return pl.DataFrame(schema={"currency": pl.String, "minor": pl.Int64})
    placed = actions.filter(pl.col("action") == "agency_placement").group_by("borrower_id").agg(pl.col("day").min())
    paid = payments.join(loans.select("loan_id", "borrower_id"), on="loan_id").join(placed, on="borrower_id")
    paid = paid.filter(pl.col("paid_on").cast(pl.Date) >= pl.col("day"))
    return paid.group_by("currency").agg(((pl.col("minor").sum() * AGENCY_FEE_PPM + 500_000) // 1_000_000).alias("minor"))


def roll_rates(arrears: pl.DataFrame, last_day) -> dict[str, float]:
    """``{"1-29→30-59": share, ...}`` over 30-day windows (``DEFINITIONS``)."""
    out = {}
    if arrears.is_empty():
        return out
    a = arrears.select("day", "loan_id", "bucket")
    later = a.with_columns((pl.col("day") - pl.duration(days=WINDOW)).alias("day")).rename({"bucket": "later"})
    base = a.filter(pl.col("day") + pl.duration(days=WINDOW) <= last_day)
    joined = base.join(later, on=["day", "loan_id"], how="left")
    for here, nxt in zip(BUCKETS, BUCKETS[1:]):
        at = joined.filter(pl.col("bucket") == here)
        if at.height:
            out[f"{here}→{nxt}"] = round((at["later"] == nxt).sum() / at.height, 4)
    return out


def cure_rate(arrears: pl.DataFrame, first_day, last_day) -> float | None:
    if arrears.is_empty():
        return None
    runs = (
        arrears.select("loan_id", "day").unique().sort("loan_id", "day")
        .with_columns(((pl.col("day") - pl.col("day").shift(1).over("loan_id")).dt.total_days().fill_null(999) > 1)
                      .cum_sum().over("loan_id").alias("episode"))
        .group_by("loan_id", "episode").agg(pl.col("day").min().alias("from"), pl.col("day").max().alias("to"))
    )
    started = runs.filter(pl.col("from") > first_day)  # in arrears already when the simulation began: not a new episode
    cured = (pl.col("to") < last_day) & ((pl.col("to") - pl.col("from")).dt.total_days() < CURE_DAYS)
    # Only episodes 90 days old by the end: counting the young ones that happened to cure already would
    # make every short simulation look good.
    counted = started.filter(pl.col("from") + pl.duration(days=CURE_DAYS) <= last_day)
    if counted.is_empty():
        return None
    return round(counted.filter(cured).height / counted.height, 4)


def report(seen: Days, strategy: str) -> dict:
    borrowers = seen.start["borrowers"].select("borrower_id", "jurisdiction")
    loans = seen.start["loans"].select("loan_id", "borrower_id", "currency")
    currencies = sorted(loans["currency"].unique().to_list())
    first, last = seen.dates[0], seen.dates[-1]
    payments = _cat(seen.payments)
    if not payments.is_empty():
        # What the world paid before the simulation began (its history) is not the strategy's doing.
        payments = payments.filter(pl.col("paid_on").cast(pl.Date) >= first)
    payments = _minor(payments) if not payments.is_empty() else pl.DataFrame(schema={"loan_id": pl.String, "currency": pl.String, "minor": pl.Int64, "paid_on": pl.Date})
    contacts = _cat(seen.contacts)
    actions = _cat(seen.actions)
    arrears = _cat(seen.arrears)
    collected = _per_currency(payments)
    cost = _per_currency(_contact_costs(contacts, borrowers, loans)) if not contacts.is_empty() else {}
    fees = _per_currency(_agency_fees(actions, payments, loans))
    net = {c: collected.get(c, 0) - cost.get(c, 0) - fees.get(c, 0) for c in currencies}
    outbound_delinquent = 0
    borrower_days = 0
    if not arrears.is_empty():
        delinquent = arrears.select("day", "borrower_id").unique()
        borrower_days = delinquent.height
        if not contacts.is_empty():
            outbound_delinquent = (contacts.filter(pl.col("direction") == "outbound").select("day", "borrower_id")
                                   .join(delinquent, on=["day", "borrower_id"]).height)
    found = _violations(seen, contacts, arrears)
    by_rule = dict(found.group_by("rule").len().sort("rule").iter_rows()) if not found.is_empty() else {}
    return {
        "days": len(seen.dates),
        "start": first.isoformat(),
        "strategy": strategy,
        "currency": currencies[0] if len(currencies) == 1 else currencies,
        "collected": _money(collected, currencies),
        "contact_cost": _money(cost, currencies),
        "agency_fees": _money(fees, currencies),
        "net_collected": _money(net, currencies),
        "actions_by_type": dict(actions.group_by("action").len().sort("action").iter_rows()) if not actions.is_empty() else {},
        "contacts_per_delinquent_borrower_week": round(outbound_delinquent / (borrower_days / 7), 4) if borrower_days else 0.0,
        "complaints": int((contacts["outcome"] == "complaint").sum()) if not contacts.is_empty() else 0,
        "violations": found.height,
        "violations_by_rule": by_rule,
        "roll_rates": roll_rates(arrears, last),
        "cure_rate": cure_rate(arrears, first, last),
        "definitions": DEFINITIONS,
    }


def _violations(seen: Days, contacts: pl.DataFrame, arrears: pl.DataFrame) -> pl.DataFrame:
    if contacts.is_empty():
        return pl.DataFrame(schema={"event_id": pl.String, "borrower_id": pl.String, "rule": pl.String, "explanation": pl.String})
    visited = contacts.filter(pl.col("channel") == "field_visit")["borrower_id"].unique()
    balances = None
    if not arrears.is_empty():
        # The balance each visit is judged on: the state closed the day before it (what the plan saw).
        balances = arrears.filter(pl.col("borrower_id").is_in(visited.implode())).select(
            "loan_id", (pl.col("day") - pl.duration(days=1)).alias("date"), "total_outstanding", "currency")
    flags = _cat(seen.flags)
    return violations(contacts.drop("day", strict=False), seen.start["borrowers"], seen.start.get("references"),
                      flags if not flags.is_empty() else None, seen.start["loans"], balances)


def dumps(r: dict) -> str:
    return json.dumps(r, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
