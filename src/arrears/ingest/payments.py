"""Payments: facts. Never edited; a wrong one is reversed by a row naming it in ``reverses``."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.ingest import checks as ck
from arrears.ingest.existing import read_columns, split_new
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("payment_id", "loan_id", "amount", "currency", "paid_on", "method")
OPTIONAL = ("reverses", "reason")
MONEY = ("amount",)
METHODS = ("bank_transfer", "card", "cash", "wallet", "auto_debit", "agency", "other")
REASONS = ("returned", "chargeback", "error")
STORED = ("loan_id", "amount_minor", "currency", "paid_on", "method", "reverses", "reason")


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    return [
        *[ck.required(c) for c in REQUIRED],
        ck.known_currency("currency"),
        *ck.money("amount", "currency", positive=True),
        ck.is_date("paid_on"),
        ck.one_of("method", METHODS),
        ck.one_of("reason", REASONS),
        ck.Check("reason", pl.col("reverses").is_not_null() & pl.col("reason").is_null(),
                 pl.lit("is required for a reversal (returned, chargeback or error)")),
        ck.Check("reverses", pl.col("reverses") == pl.col("payment_id"), pl.lit("a payment cannot reverse itself")),
    ]


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = frame.select(
        ROW, "payment_id", "loan_id",
        ck.minor_expr("amount", "currency").alias("amount_minor"),
        "currency", ck.date_expr("paid_on").alias("paid_on"), "method", "reverses", "reason",
    )
    loans = read_columns(conn, t.loans, "loan_id", frame["loan_id"].to_list(),
                         ("loan_id", "currency", "disbursed_on")).rename({"currency": "loan_currency"})
    # Only the rows that are wrong are looked at again (usually none).
    j = frame.lazy().join(loans.lazy(), on="loan_id", how="left", maintain_order="left").filter(
        pl.col("loan_currency").is_null() | (pl.col("currency") != pl.col("loan_currency"))
        | (pl.col("paid_on") < pl.col("disbursed_on"))).collect()
    problems: list[Problem] = []
    if not j.is_empty():
        problems += [
            Problem(r, "loan_id", f"loan '{lid}' is not known")
            for r, lid in j.filter(pl.col("loan_currency").is_null()).select(ROW, "loan_id").iter_rows()
        ]
        problems += [
            Problem(r, "currency", f"'{c}' is not the loan's currency ({lc}); payments are never converted")
            for r, c, lc in j.filter(pl.col("loan_currency").is_not_null() & (pl.col("currency") != pl.col("loan_currency")))
            .select(ROW, "currency", "loan_currency").iter_rows()
        ]
        problems += [
            Problem(r, "paid_on", f"{p} is before the loan was disbursed ({d})")
            for r, p, d in j.filter(pl.col("paid_on") < pl.col("disbursed_on")).select(ROW, "paid_on", "disbursed_on").iter_rows()
        ]
    stored = read_table(conn, t.payments, key="payment_id", keys=frame["payment_id"].to_list())
    new, more = split_new(frame, stored, "payment_id", STORED, what="payment",
                          how_to_correct="payments are facts: reverse it and send a new one")
    problems += more
    problems += _reversal_problems(conn, new)
    if problems:
        return 0, problems
    insert_frame(conn, t.payments, new.lazy().drop(ROW).with_columns(pl.lit(now).alias("recorded_at")).collect())
    return new.height, []


def _reversal_problems(conn: Connection, new: pl.DataFrame) -> list[Problem]:
    rev = new.filter(pl.col("reverses").is_not_null())
    if rev.is_empty():
        return []
    targets = rev["reverses"].to_list()
    known = pl.concat([
        read_table(conn, t.payments, key="payment_id", keys=targets).select(
            "payment_id", "loan_id", "amount_minor", "reverses"),
        new.select("payment_id", "loan_id", "amount_minor", "reverses"),
    ])
    already = read_table(conn, t.payments, key="reverses", keys=targets).select("reverses")
    j = rev.join(known.select(pl.col("payment_id").alias("reverses"), pl.col("loan_id").alias("o_loan"),
                              pl.col("amount_minor").alias("o_amount"), pl.col("reverses").alias("o_rev")),
                 on="reverses", how="left")
    out = []
    for r, target, loan, amt, o_loan, o_amt, o_rev in j.select(
        ROW, "reverses", "loan_id", "amount_minor", "o_loan", "o_amount", "o_rev"
    ).iter_rows():
        if o_loan is None:
            out.append(Problem(r, "reverses", f"payment '{target}' is not known"))
        elif o_rev is not None:
            out.append(Problem(r, "reverses", f"'{target}' is itself a reversal; send the payment again instead"))
        elif o_loan != loan or o_amt != amt:
            out.append(Problem(r, "reverses", f"a reversal must name the same loan and amount as '{target}'"))
    dup = rev.filter(pl.col("reverses").is_duplicated() | pl.col("reverses").is_in(already["reverses"].implode()))
    out += [Problem(r, "reverses", f"payment '{x}' is already reversed") for r, x in dup.select(ROW, "reverses").iter_rows()]
    return out
