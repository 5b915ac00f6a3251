"""Agents: who may collect where (licensing), in which languages, and how much a day.

Versioned by business date, like borrower contact details: a row that differs from the version in
force on ``--date`` adds a version valid from that date; the earlier versions stay, so the plan of
any past day can be explained with the team, licences and capacity it had. A second change to the
same agent on the same ``--date`` is refused (send it with a later date). An agent is never deleted:
a leaver is sent with ``daily_calls`` and ``daily_visits`` 0.

Lists are normalised before they are compared or stored (blanks dropped, duplicates removed,
sorted, joined with ``;``), so ``en-US;zh-CN`` and ``zh-CN; en-US`` are the same version.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.ingest import checks as ck
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("agent_id", "team", "languages", "jurisdictions", "daily_calls", "daily_visits")
OPTIONAL: tuple[str, ...] = ()
FIELDS = ("team", "languages", "jurisdictions", "daily_calls", "daily_visits")
_LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
_JURISDICTION = r"^(CN|GB|US-[A-Z]{2})$"


def _items(column: str) -> pl.Expr:
    return pl.col(column).str.split(";").list.eval(pl.element().str.strip_chars()).list.eval(
        pl.element().filter(pl.element() != ""))


def _list_check(column: str, pattern: str, what: str) -> ck.Check:
    bad = _items(column).list.eval(~pl.element().str.contains(pattern)).list.any()
    empty = _items(column).list.len() == 0
    return ck.Check(
        column,
        pl.col(column).is_not_null() & (bad | empty),
        pl.format("'{}' is not a semicolon-separated list of " + what, pl.col(column)),
    )


def _count(column: str) -> ck.Check:
    return ck.Check(
        column,
        pl.col(column).is_not_null() & ~pl.col(column).str.strip_chars().str.contains(r"^\d{1,6}$"),
        pl.format("'{}' is not a non-negative whole number", pl.col(column)),
    )


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    return [
        *[ck.required(c) for c in REQUIRED],
        _list_check("languages", _LANGUAGE, "BCP 47 language tags (zh-CN;en-US)"),
        _list_check("jurisdictions", _JURISDICTION, "jurisdictions (CN;GB;US-CA)"),
        _count("daily_calls"),
        _count("daily_visits"),
    ]


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = frame.select(
        ROW, "agent_id", "team",
        _items("languages").list.unique().list.sort().list.join(";").alias("languages"),
        _items("jurisdictions").list.unique().list.sort().list.join(";").alias("jurisdictions"),
        ck.int_expr("daily_calls").alias("daily_calls"), ck.int_expr("daily_visits").alias("daily_visits"),
    )
    incoming = frame.unique(subset=["agent_id", *FIELDS], keep="first", maintain_order=True)
    dup = incoming.filter(pl.col("agent_id").is_duplicated())
    problems = [
        Problem(r, "agent_id", f"'{a}' appears again with different content once normalised")
        for r, a in dup.filter(pl.col(ROW) != pl.col(ROW).min().over("agent_id")).select(ROW, "agent_id").iter_rows()
    ]
    versions = read_table(conn, t.agents, key="agent_id", keys=incoming["agent_id"].to_list())
    in_force = (
        versions.filter(pl.col("valid_from") <= business_date).sort("valid_from").group_by("agent_id").last()
        .select("agent_id", "valid_from", *[pl.col(c).alias(f"{c}__old") for c in FIELDS])
    )
    cmp = incoming.join(in_force, on="agent_id", how="left")
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}__old")) for c in FIELDS)
    changed = cmp.filter(pl.col("valid_from").is_null() | ~same)
    problems += [
        Problem(r, "agent_id", f"agent '{a}' already changed on {business_date}; import a further change "
                "with a later --date")
        for r, a in changed.filter(pl.col("valid_from") == business_date).select(ROW, "agent_id").iter_rows()
    ]
    if problems:
        return 0, problems
    return insert_frame(conn, t.agents, changed.select("agent_id", *FIELDS).with_columns(
        pl.lit(business_date).alias("valid_from"), pl.lit(now).alias("recorded_at"))), []
