"""Proposed actions (INTERFACE.md "proposed actions") read strictly, every problem named by row and
column, and the decisions written back as the input plus five columns."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import Connection

from arrears.ingest import checks as ck
from arrears.ingest.contacts import at_expr, offset_expr
from arrears.ingest.read import ROW, read_rows
from arrears.policy.check.vocab import ACTIONS, CONTACT_CHANNELS, NON_CONTACT_ACTIONS
from arrears.policy.check.world import actions_frame
from arrears.problems import BadInput, Problem
from arrears.store import tables as t
from arrears.store.bulk import read_table

REQUIRED = ("action_id", "borrower_id", "loan_id", "action", "channel", "party")
OPTIONAL = ("planned_at", "window_start", "window_end", "loan_ids", "template_id", "language", "offer",
            "address", "recording_ref")
OUTPUT = ("decision", "rules", "explanation", "allowed_start", "allowed_end")
_MESSAGE_ACTIONS = ("sms", "email", "robocall", "agent_call", "letter", "field_visit")


def _offer(field: str) -> pl.Expr:
    return pl.col("offer").str.json_path_match(f"$.{field}")


def _checks() -> list[ck.Check]:
    ts = ("planned_at", "window_start", "window_end")
    contact = ~pl.col("action").is_in(NON_CONTACT_ACTIONS)
    out = [ck.required(c) for c in REQUIRED if c != "channel"]
    out += [
        ck.one_of("action", ACTIONS),
        ck.Check("channel", contact & pl.col("channel").is_null(), pl.lit("is required for a contact action")),
        ck.Check("channel", pl.col("channel").is_not_null() & ~pl.col("channel").is_in(CONTACT_CHANNELS),
                 pl.format("'{}' is not one of {}", pl.col("channel"), pl.lit(", ".join(CONTACT_CHANNELS)))),
        ck.Check("channel", pl.col("action").is_in(_MESSAGE_ACTIONS) & pl.col("channel").is_not_null()
                 & (pl.col("channel") != pl.col("action")),
                 pl.format("must be the same as action ('{}') for a contact action", pl.col("action"))),
        ck.Check("channel", ~contact & pl.col("channel").is_not_null(),
                 pl.format("must be empty for {}", pl.col("action"))),
        ck.Check("planned_at", pl.col("planned_at").is_null() & (pl.col("window_start").is_null() | pl.col("window_end").is_null()),
                 pl.lit("give planned_at, or window_start and window_end")),
        ck.Check("planned_at", pl.col("planned_at").is_not_null() & (pl.col("window_start").is_not_null() | pl.col("window_end").is_not_null()),
                 pl.lit("give planned_at or a window, not both")),
        *[ck.Check(c, pl.col(c).is_not_null() & at_expr(c).is_null(),
                   pl.format("'{}' is not a timestamp with an offset (2026-03-01T19:05:00+08:00)", pl.col(c))) for c in ts],
        ck.Check("window_end", (at_expr("window_end") <= at_expr("window_start")).fill_null(False),
                 pl.lit("must be after window_start")),
        ck.Check("language", pl.col("template_id").is_not_null() & pl.col("language").is_null(),
                 pl.lit("is required with template_id")),
        ck.Check("offer", pl.col("offer").is_not_null() & ~_offer("type").is_in(["settlement", "plan"]).fill_null(False),
                 pl.lit('is not an offer: {"type": "settlement"|"plan", ...} (INTERFACE.md)')),
        ck.Check("offer", (_offer("type") == "settlement").fill_null(False) & (_offer("amount").is_null() | _offer("currency").is_null()),
                 pl.lit("a settlement offer needs amount and currency")),
        ck.Check("offer", (_offer("type") == "plan").fill_null(False)
                 & (_offer("instalment").is_null() | _offer("currency").is_null() | _offer("count").cast(pl.Int64, strict=False).is_null()),
                 pl.lit("a plan offer needs instalment, currency and count")),
        ck.Check("offer", _offer("pay_by").is_not_null() & ck.date_expr("_pay_by").is_null(),
                 pl.format("pay_by '{}' is not a date", _offer("pay_by"))),
        ck.known_currency("_offer_currency"),
        *ck.money("_offer_amount", "_offer_currency"),
    ]
    return out


def read_actions(conn: Connection, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the file as text, the actions as ``world.ACTIONS``) or ``BadInput`` naming every problem."""
    frame = read_rows(path)
    problems = ck.columns_problems(frame, REQUIRED, OPTIONAL, allow_extra=False)
    if problems:
        raise BadInput(problems)
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns)
    work = frame.with_columns(
        _offer("pay_by").alias("_pay_by"),
        _offer("currency").alias("_offer_currency"),
        pl.coalesce(_offer("amount"), _offer("instalment")).alias("_offer_amount"),
    )
    problems = ck.run_checks(work, _checks()) + ck.unique_key(work, "action_id")
    problems += _unknown(conn, work)
    if problems:
        raise BadInput(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    count = _offer("count").cast(pl.Int64, strict=False).fill_null(1)
    actions = work.select(
        ROW, "action_id", "borrower_id", "loan_id",
        pl.concat_list(pl.col("loan_ids").fill_null("").str.split(";"), pl.col("loan_id"))
        .list.eval(pl.element().str.strip_chars().filter(pl.element() != "")).list.unique().list.sort().alias("loan_ids"),
        "action", "channel", "party",
        pl.coalesce(at_expr("planned_at"), at_expr("window_start")).alias("start"),
        pl.coalesce(at_expr("planned_at"), at_expr("window_end")).alias("end"),
        "template_id", "language",
        # A plan's total (instalment x count) is what it asks for.
        (ck.minor_expr("_offer_amount", "_offer_currency") * pl.when(_offer("type") == "plan").then(count).otherwise(1))
        .alias("offer_amount"),
        ck.date_expr("_pay_by").alias("offer_pay_by"),
        "address", "recording_ref",
        pl.coalesce(offset_expr("planned_at"), offset_expr("window_start")).alias("_offset"),
        "_offer_currency",
    )
    return frame, actions


def _unknown(conn: Connection, work: pl.DataFrame) -> list[Problem]:
    """Borrowers, loans and references the store does not know, or that belong to somebody else."""
    ids = work["borrower_id"].drop_nulls().unique().to_list()
    borrowers = read_table(conn, t.borrowers, key="borrower_id", keys=ids).select("borrower_id")
    loans = read_table(conn, t.loans, key="borrower_id", keys=ids).select("loan_id", pl.col("borrower_id").alias("_owner"), "currency")
    refs = read_table(conn, t.references, key="borrower_id", keys=ids).select(
        pl.col("reference_id").alias("party"), pl.col("borrower_id").alias("_ref_owner"))
    joined = (
        work.select(ROW, "borrower_id", "loan_id", "party", "_offer_currency")
        .join(borrowers.with_columns(pl.lit(True).alias("_known")), on="borrower_id", how="left")
        .join(loans, on="loan_id", how="left")
        .join(refs, on="party", how="left")
    )
    checks = [
        ck.Check("borrower_id", pl.col("borrower_id").is_not_null() & pl.col("_known").is_null(),
                 pl.format("unknown borrower '{}'", pl.col("borrower_id"))),
        ck.Check("loan_id", pl.col("_known").is_not_null() & pl.col("loan_id").is_not_null()
                 & (pl.col("_owner").is_null() | (pl.col("_owner") != pl.col("borrower_id"))),
                 pl.format("loan '{}' is not a loan of borrower '{}'", pl.col("loan_id"), pl.col("borrower_id"))),
        ck.Check("party", pl.col("_known").is_not_null() & pl.col("party").is_not_null() & (pl.col("party") != "borrower")
                 & (pl.col("_ref_owner").is_null() | (pl.col("_ref_owner") != pl.col("borrower_id"))),
                 pl.format("'{}' is neither 'borrower' nor a reference of borrower '{}'", pl.col("party"), pl.col("borrower_id"))),
        ck.Check("offer", pl.col("_offer_currency").is_not_null() & pl.col("currency").is_not_null()
                 & (pl.col("_offer_currency") != pl.col("currency")),
                 pl.format("the offer's currency {} is not the loan's ({})", pl.col("_offer_currency"), pl.col("currency"))),
    ]
    return ck.run_checks(joined, checks)


def as_engine_input(actions: pl.DataFrame) -> pl.DataFrame:
    return actions_frame(actions.drop(ROW, "_offset", "_offer_currency"))


def _with_offset(column: str) -> pl.Expr:
    """An instant written in the proposal's own offset (``2026-03-01T19:05:00+08:00``)."""
    sign = pl.when(pl.col("_offset").str.starts_with("-")).then(-1).otherwise(1)
    minutes = sign * (pl.col("_offset").str.slice(1, 2).cast(pl.Int64) * 60 + pl.col("_offset").str.slice(4, 2).cast(pl.Int64))
    local = pl.col(column).dt.replace_time_zone(None) + pl.duration(minutes=minutes)
    return pl.when(pl.col(column).is_not_null()).then(
        pl.concat_str(local.dt.strftime("%Y-%m-%dT%H:%M:%S"), pl.col("_offset")))


def write_decisions(frame: pl.DataFrame, actions: pl.DataFrame, decisions: pl.DataFrame, out: Path) -> None:
    """The input file's rows, in order, plus ``OUTPUT``; CSV or Parquet by extension."""
    d = decisions.with_columns(actions["_offset"]).select(
        "decision", "rules", "explanation",
        _with_offset("allowed_start").alias("allowed_start"), _with_offset("allowed_end").alias("allowed_end"),
    )
    write_frame(pl.concat([frame.drop(ROW), d], how="horizontal"), out)


def write_frame(frame: pl.DataFrame, out: Path) -> None:
    """CSV or Parquet by extension, written beside and renamed: a reader never sees half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if out.suffix.lower() == ".parquet":
        frame.write_parquet(tmp)
    else:
        frame.write_csv(tmp)
    tmp.replace(out)
