"""Loans: terms checked and converted to internal units; the contractual schedule is derived and stored."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.book.schedule import FREQUENCIES, METHODS, schedule_frame
from arrears.ingest import checks as ck
from arrears.ingest.existing import split_new, unknown_borrowers
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.book_io import load_products
from arrears.store.bulk import MissingReference, insert_frame_bulk, insert_frames_staged, read_table

REQUIRED = (
    "loan_id", "borrower_id", "currency", "principal", "annual_rate", "term", "frequency",
    "method", "disbursed_on",
)
# A take-on states its date and its balances together. The oldest unpaid due date and the date of
# first delinquency are empty for a loan that is up to date (nothing unpaid, never delinquent); an
# empty dofd on a late loan is derived from the oldest unpaid due date, as for any loan. The credit
# (money received and not yet applied: overpayments, part-payments) is optional, empty meaning none.
TAKEON_TOGETHER = (
    "takeon_date", "takeon_principal_outstanding", "takeon_interest_due", "takeon_penalty_due",
    "takeon_fees_due",
)
TAKEON = (*TAKEON_TOGETHER, "takeon_oldest_unpaid_due_on", "takeon_dofd", "takeon_credit")
OPTIONAL = (
    "product", "period_days", "first_due_on", "penalty_rate_daily", "contract_date",
    "lender_type", "time_barred_on", *TAKEON,
)
MONEY = ("principal", "takeon_principal_outstanding", "takeon_interest_due", "takeon_penalty_due", "takeon_fees_due",
         "takeon_credit")
STORED = (
    "borrower_id", "product", "currency", "principal_minor", "annual_rate_nano", "term", "frequency",
    "period_days", "method", "disbursed_on", "first_due_on", "penalty_rate_daily_nano",
    "contract_date", "lender_type", "time_barred_on", "takeon_date",
    "takeon_principal_outstanding_minor", "takeon_interest_due_minor", "takeon_penalty_due_minor",
    "takeon_fees_due_minor", "takeon_oldest_unpaid_due_on", "takeon_dofd", "takeon_credit_minor",
)
MAX_TERM = 600
# Stored columns that are a converted file column (problems name the file's column).
FILE_COLUMN = {
    "principal_minor": "principal",
    "annual_rate_nano": "annual_rate",
    "penalty_rate_daily_nano": "penalty_rate_daily",
    **{f"{c}_minor": c for c in MONEY[1:]},
}


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    dates = ("disbursed_on", "first_due_on", "contract_date", "time_barred_on", "takeon_date",
             "takeon_oldest_unpaid_due_on", "takeon_dofd")
    any_takeon = pl.any_horizontal(pl.col(c).is_not_null() for c in TAKEON)
    out = [
        *[ck.required(c) for c in REQUIRED],
        ck.known_currency("currency"),
        *ck.money("principal", "currency", positive=True),
        *ck.rate("annual_rate", below=10 * 10**9),
        *ck.rate("penalty_rate_daily", below=10**8),
        ck.positive_int("term"),
        ck.Check("term", (ck.int_expr("term") > MAX_TERM).fill_null(False),
                 ck._msg("'{}' instalments is more than " + str(MAX_TERM), "term")),
        ck.one_of("frequency", FREQUENCIES),
        ck.one_of("method", METHODS),
        ck.positive_int("period_days"),
        ck.Check("period_days", (pl.col("frequency") == "days") & pl.col("period_days").is_null(),
                 pl.lit("is required when frequency is days")),
        ck.Check("period_days", (pl.col("frequency") != "days") & pl.col("period_days").is_not_null(),
                 pl.lit("is only allowed when frequency is days")),
        ck.one_of("lender_type", ("licensed", "private")),
        *[ck.is_date(c) for c in dates],
        ck.Check(
            "first_due_on",
            ck.date_expr("first_due_on") <= ck.date_expr("disbursed_on"),
            pl.format("'{}' is not after disbursed_on", pl.col("first_due_on")),
        ),
        *[
            ck.Check(c, any_takeon & pl.col(c).is_null(), pl.lit("is required when any takeon_ column is given"))
            for c in TAKEON_TOGETHER
        ],
        *[m for c in MONEY[1:] for m in ck.money(c, "currency")],
    ]
    return out


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        ROW,
        "loan_id", "borrower_id",
        pl.col("product").fill_null("default"),
        "currency",
        ck.minor_expr("principal", "currency").alias("principal_minor"),
        ck.nano_expr("annual_rate").alias("annual_rate_nano"),
        ck.int_expr("term").alias("term"),
        "frequency",
        ck.int_expr("period_days").alias("period_days"),
        "method",
        ck.date_expr("disbursed_on").alias("disbursed_on"),
        ck.date_expr("first_due_on").alias("first_due_on"),
        ck.nano_expr("penalty_rate_daily").fill_null(0).alias("penalty_rate_daily_nano"),
        pl.coalesce(ck.date_expr("contract_date"), ck.date_expr("disbursed_on")).alias("contract_date"),
        "lender_type",
        ck.date_expr("time_barred_on").alias("time_barred_on"),
        ck.date_expr("takeon_date").alias("takeon_date"),
        *[ck.minor_expr(c, "currency").alias(f"{c}_minor") for c in MONEY[1:]],
        ck.date_expr("takeon_oldest_unpaid_due_on").alias("takeon_oldest_unpaid_due_on"),
        ck.date_expr("takeon_dofd").alias("takeon_dofd"),
    )


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns)
    products = load_products(conn)
    problems = unknown_borrowers(conn, frame)
    unknown = frame.filter(pl.col("product").is_not_null() & ~pl.col("product").is_in(list(products)))
    problems += [
        Problem(r, "product", f"product '{p}' is not known (import products first)")
        for r, p in unknown.select(ROW, "product").iter_rows()
    ]
    frame = normalise(frame)
    stored = read_table(conn, t.loans, key="loan_id", keys=frame["loan_id"].to_list())
    new, more = split_new(
        frame, stored, "loan_id", STORED, what="loan",
        how_to_correct="change a loan's terms with a correction adjustment",
        file_columns=FILE_COLUMN,
    )
    problems += more
    if problems:
        return 0, problems
    rows = new.drop(ROW).with_columns(pl.lit(now).alias("recorded_at"))
    sched = schedule_frame(
        new.rename({"principal_minor": "principal"}), products
    ).rename({"principal": "principal_minor", "interest": "interest_minor"})
    try:
        staged = insert_frames_staged(conn, [(t.loans, rows), (t.schedule, sched)])
    except MissingReference as e:
        # The staged load's set-wise foreign-key check: the borrowers were checked above, so only
        # a borrower removed since then lands here; the unit of work rolls back.
        at = new.filter(pl.col(e.column) == e.value).get_column(ROW) if e.column in new.columns else None
        row = at[0] if at is not None and at.len() else None
        return 0, [Problem(row, e.column, f"'{e.value}' is not in {e.referred}")]
    if not staged:
        insert_frame_bulk(conn, t.loans, rows)
        insert_frame_bulk(conn, t.schedule, sched)
    return new.height, []
