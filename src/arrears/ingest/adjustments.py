"""Adjustments: waivers, pauses, restructures, settlements, charge-offs, write-offs, corrections.

Decisions are facts, like payments: stored once, never edited. Each type's ``params`` is checked
strictly (unknown keys refused). Product limits on restructures are enforced here, at the door:
a request over a limit is refused with exit 2 and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from sqlalchemy import Connection

from arrears.book.adjustments import PAUSE_EFFECTS, PAUSE_REASONS, TREATMENTS, TYPES
from arrears.book.schedule import FREQUENCIES, METHODS, add_months
from arrears.ingest import checks as ck
from arrears.ingest.existing import split_new
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.rates import RateError, parse_rate
from arrears.store import tables as t
from arrears.store.book_io import load_products
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("adjustment_id", "loan_id", "type", "effective_on")
OPTIONAL = ("amount", "currency", "params", "approved_by")
MONEY = ("amount",)
STORED = ("loan_id", "type", "effective_on", "amount_minor", "currency", "params", "approved_by")
NEEDS_APPROVER = ("restructure", "charge_off", "write_off", "correction")
CORRECTABLE = (
    "principal", "annual_rate", "term", "frequency", "period_days", "method", "first_due_on",
    "penalty_rate_daily", "contract_date", "lender_type", "time_barred_on",
)


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    return [
        *[ck.required(c) for c in REQUIRED],
        ck.one_of("type", TYPES),
        ck.is_date("effective_on"),
        ck.known_currency("currency"),
        ck.Check("currency", pl.col("amount").is_not_null() & pl.col("currency").is_null(),
                 pl.lit("is required with amount")),
        *ck.money("amount", "currency", positive=True),
        ck.Check("amount", (pl.col("type") == "settlement") & pl.col("amount").is_null(),
                 pl.lit("a settlement needs the agreed amount")),
        ck.Check("amount", pl.col("type").is_in(["pause_start", "pause_end", "restructure", "charge_off",
                                                 "write_off", "correction"]) & pl.col("amount").is_not_null(),
                 pl.format("is not used by {}", pl.col("type"))),
        ck.Check("approved_by", pl.col("type").is_in(list(NEEDS_APPROVER)) & pl.col("approved_by").is_null(),
                 pl.format("a {} needs approved_by", pl.col("type"))),
    ]


def _date(v, what: str, errors: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(v)
    except (TypeError, ValueError):
        errors.append(f"{what} {v!r} is not a date (YYYY-MM-DD)")
        return None


def params_problems(kind: str, raw: str | None, effective_on: dt.date) -> tuple[dict, list[str]]:
    """Check one row's params for its type. Returns the parsed params and what is wrong with them."""
    errors: list[str] = []
    if raw is None:
        p: dict = {}
    else:
        try:
            p = json.loads(raw)
        except json.JSONDecodeError as e:
            return {}, [f"not valid JSON ({e.msg})"]
        if not isinstance(p, dict):
            return {}, ["must be a JSON object"]
    allowed = {
        "pause_start": {"reason", "effects"}, "pause_end": {"reason"},
        "restructure": {"term", "annual_rate", "method", "frequency", "first_due_on", "arrears", "reason"},
        "settlement": {"pay_by"}, "correction": set(CORRECTABLE),
    }.get(kind, {"reason", "note"})
    errors += [f"unknown key {k!r} for {kind}" for k in sorted(set(p) - allowed)]
    if kind == "pause_start":
        if p.get("reason") not in PAUSE_REASONS:
            errors.append(f"reason must be one of {', '.join(PAUSE_REASONS)}")
        eff = p.get("effects")
        if eff is not None and (not isinstance(eff, list) or any(e not in PAUSE_EFFECTS for e in eff)):
            errors.append(f"effects must be a list of {', '.join(PAUSE_EFFECTS)}")
    elif kind == "restructure":
        if not isinstance(p.get("term"), int) or isinstance(p.get("term"), bool) or p["term"] < 1:
            errors.append("term must be a positive whole number")
        if "annual_rate" in p:
            try:
                parse_rate(str(p["annual_rate"]))
            except RateError as e:
                errors.append(f"annual_rate: {e}")
        if p.get("method", "annuity") not in METHODS:
            errors.append(f"method must be one of {', '.join(METHODS)}")
        if p.get("frequency", "monthly") not in FREQUENCIES or p.get("frequency") == "days":
            errors.append("frequency must be monthly, biweekly or weekly")
        if "first_due_on" in p:
            d = _date(p["first_due_on"], "first_due_on", errors)
            if d is not None and d <= effective_on:
                errors.append("first_due_on must be after effective_on")
        arrears = p.get("arrears", {})
        if not isinstance(arrears, dict) or set(arrears) - {"penalty", "interest", "fees"} or any(
            v not in TREATMENTS for v in arrears.values()
        ):
            errors.append("arrears maps penalty, interest and fees to capitalise, carry or waive")
        if not p.get("reason"):
            errors.append("a restructure records its reason")
    elif kind == "settlement":
        d = _date(p.get("pay_by"), "pay_by", errors)
        if d is not None and d < effective_on:
            errors.append("pay_by is before effective_on")
    elif kind == "correction" and not p:
        errors.append("a correction names the corrected loan columns")
    return p, errors


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = frame.select(
        ROW, "adjustment_id", "loan_id", "type", ck.date_expr("effective_on").alias("effective_on"),
        ck.minor_expr("amount", "currency").alias("amount_minor"), "currency", "params", "approved_by",
    )
    loans = read_table(conn, t.loans, key="loan_id", keys=frame["loan_id"].to_list())
    info = {r["loan_id"]: r for r in loans.iter_rows(named=True)}
    problems: list[Problem] = []
    canon = []
    for r in frame.iter_rows(named=True):
        row, lid = r[ROW], r["loan_id"]
        loan = info.get(lid)
        if loan is None:
            problems.append(Problem(row, "loan_id", f"loan '{lid}' is not known"))
        else:
            if r["currency"] is not None and r["currency"] != loan["currency"]:
                problems.append(Problem(row, "currency", f"'{r['currency']}' is not the loan's currency ({loan['currency']})"))
            if r["effective_on"] < loan["disbursed_on"]:
                problems.append(Problem(row, "effective_on", f"{r['effective_on']} is before the loan was disbursed"))
        p, errors = params_problems(r["type"], r["params"], r["effective_on"])
        problems += [Problem(row, "params", e) for e in errors]
        canon.append(json.dumps(p, sort_keys=True, separators=(",", ":")) if r["params"] is not None else None)
    frame = frame.with_columns(pl.Series("params", canon, pl.String))
    stored = read_table(conn, t.adjustments, key="adjustment_id", keys=frame["adjustment_id"].to_list())
    new, more = split_new(frame, stored, "adjustment_id", STORED, what="adjustment",
                          how_to_correct="decisions are facts: record a new adjustment instead")
    problems += more
    if not problems:
        problems += _sequence_problems(conn, new, info)
    if problems:
        return 0, problems
    insert_frame(conn, t.adjustments, new.drop(ROW).with_columns(pl.lit(now).alias("recorded_at")))
    _apply_corrections(conn, new, info, now)
    return new.height, []


def _sequence_problems(conn: Connection, new: pl.DataFrame, info: dict) -> list[Problem]:
    """Rules that depend on the loan's other adjustments: one open pause at a time, and the
    product's restructure limits (at most N in 12 months and M in 5 years)."""
    ids = new["loan_id"].unique().to_list()
    stored = read_table(conn, t.adjustments, key="loan_id", keys=ids).select("loan_id", "type", "effective_on")
    products = load_products(conn)
    events = pl.concat([
        stored.with_columns(pl.lit(0, pl.Int64).alias(ROW)),
        new.select("loan_id", "type", "effective_on", ROW),
    ]).sort("loan_id", "effective_on", ROW)
    problems = []
    open_pause: dict[str, bool] = {}
    restructures: dict[str, list[dt.date]] = {}
    for lid, kind, day, row in events.select("loan_id", "type", "effective_on", ROW).iter_rows():
        if kind == "pause_start":
            if open_pause.get(lid) and row:
                problems.append(Problem(row, "type", f"loan '{lid}' already has a pause in force; end it first"))
            open_pause[lid] = True
        elif kind == "pause_end":
            if not open_pause.get(lid) and row:
                problems.append(Problem(row, "type", f"loan '{lid}' has no pause in force to end"))
            open_pause[lid] = False
        elif kind == "restructure":
            past = restructures.setdefault(lid, [])
            product = products[info[lid]["product"]]
            in_12 = sum(1 for d in past if d > add_months(day, -12))
            in_60 = sum(1 for d in past if d > add_months(day, -60))
            if row and in_12 >= product.restructure_max_per_12_months:
                problems.append(Problem(row, "type", f"loan '{lid}' was restructured within 12 months; "
                                        f"product '{product.code}' allows {product.restructure_max_per_12_months}"))
            elif row and in_60 >= product.restructure_max_per_5_years:
                problems.append(Problem(row, "type", f"loan '{lid}' has been restructured {in_60} times in 5 years; "
                                        f"product '{product.code}' allows {product.restructure_max_per_5_years}"))
            past.append(day)
    return problems


def _apply_corrections(conn: Connection, new: pl.DataFrame, info: dict, now: dt.datetime) -> None:
    """Rewrite a corrected loan's terms and schedule, keeping before and after in ``corrections``.
    The next close re-derives the loan from the corrected terms (its adjustment is unapplied)."""
    from sqlalchemy import delete, update

    from arrears.book.schedule import schedule_frame
    from arrears.money import parse_amount

    for r in new.filter(pl.col("type") == "correction").iter_rows(named=True):
        lid = r["loan_id"]
        before = info[lid]
        p = json.loads(r["params"])
        changes = {}
        for k, v in p.items():
            if k == "principal":
                changes["principal_minor"] = parse_amount(str(v), before["currency"])
            elif k in ("annual_rate", "penalty_rate_daily"):
                changes[{"annual_rate": "annual_rate_nano", "penalty_rate_daily": "penalty_rate_daily_nano"}[k]] = \
                    parse_rate(str(v))
            elif k in ("first_due_on", "contract_date", "time_barred_on"):
                changes[k] = dt.date.fromisoformat(v) if v else None
            else:
                changes[k] = v
        after = {**before, **changes}
        conn.execute(update(t.loans).where(t.loans.c.loan_id == lid).values(**changes))
        conn.execute(delete(t.schedule).where(t.schedule.c.loan_id == lid))
        products = load_products(conn)
        sched = schedule_frame(
            pl.DataFrame([{k: after[k] for k in ("loan_id", "product", "annual_rate_nano", "term", "frequency",
                                                 "method", "disbursed_on", "first_due_on", "period_days")}
                          | {"principal": after["principal_minor"]}]),
            products,
        ).rename({"principal": "principal_minor", "interest": "interest_minor"})
        insert_frame(conn, t.schedule, sched)
        conn.execute(t.corrections.insert(), [{
            "adjustment_id": r["adjustment_id"], "loan_id": lid,
            "before": json.dumps(before, default=str, sort_keys=True),
            "after": json.dumps(after, default=str, sort_keys=True),
            "approved_by": r["approved_by"], "recorded_at": now,
        }])
