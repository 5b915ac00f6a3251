"""Moving the book between the database and frames: terms, schedules, facts and derived state."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, delete, select

from arrears.book.products import DEFAULT, Product
from arrears.book.schedule import SCHEDULE_SCHEMA
from arrears.book.state import ALLOCATIONS, INSTALMENT_STATE, LOAN_STATE, MOVEMENTS, TRANSITIONS
from arrears.book.step import Book
from arrears.book.terms import loan_terms
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

_CHUNK = 5_000


def load_products(conn: Connection) -> dict[str, Product]:
    stored = read_table(conn, t.products)
    products = {"default": DEFAULT}
    for code, definition in stored.select("code", "definition").iter_rows():
        products[code] = Product.from_dict(json.loads(definition))
    return products


def _subset(conn: Connection, table, key: str, ids: Sequence[str] | None, schema=None) -> pl.DataFrame:
    if ids is None:
        return read_table(conn, table, schema=schema)
    return read_table(conn, table, key=key, keys=ids, schema=schema)


def load_terms(conn: Connection, products: dict[str, Product], ids: Sequence[str] | None = None) -> pl.DataFrame:
    return loan_terms(_subset(conn, t.loans, "loan_id", ids), products)


def load_schedule(conn: Connection, ids: Sequence[str] | None = None) -> pl.DataFrame:
    s = _subset(conn, t.schedule, "loan_id", ids)
    return s.select(
        "loan_id", pl.col("n").cast(pl.Int32), "due_on", "adjusted_due_on",
        pl.col("principal_minor").alias("principal"), pl.col("interest_minor").alias("interest"),
    ).cast(dict(SCHEDULE_SCHEMA))


def load_payments(conn: Connection, ids: Sequence[str] | None = None) -> pl.DataFrame:
    p = _subset(conn, t.payments, "loan_id", ids)
    return p.select(
        "payment_id", "loan_id", pl.col("amount_minor").alias("amount"), "paid_on", "reverses",
        "recorded_at", "applied_by_close",
    )


def load_adjustments(conn: Connection, ids: Sequence[str] | None = None) -> pl.DataFrame:
    a = _subset(conn, t.adjustments, "loan_id", ids)
    return a.select(
        "adjustment_id", "loan_id", "type", "effective_on", pl.col("amount_minor").alias("amount"),
        "params", "approved_by", "recorded_at", "applied_by_close",
    )


def load_promises(conn: Connection, ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Promises with the local day they were made (the contact's), their stored status and outcome."""
    p, c = t.promises, t.contacts
    query = select(p.c.promise_id, p.c.loan_id, p.c.amount_minor, c.c.local_date, p.c.promise_date,
                   p.c.status, p.c.decided_on, p.c.paid_toward).join(c, c.c.event_id == p.c.promise_id)
    if ids is not None:
        query = query.where(p.c.loan_id.in_(list(ids)))
    rows = conn.execute(query).all()
    schema = {"promise_id": pl.String, "loan_id": pl.String, "amount": pl.Int64, "made_on": pl.Date,
              "promise_date": pl.Date, "status": pl.String, "decided_on": pl.Date, "paid_toward": pl.Int64}
    as_date = lambda v: dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v  # noqa: E731
    return pl.DataFrame(
        [(r[0], r[1], r[2], as_date(r[3]), as_date(r[4]), r[5], as_date(r[6]), r[7]) for r in rows],
        schema=schema, orient="row",
    )


def save_promise_outcomes(conn: Connection, outcomes: pl.DataFrame) -> None:
    from sqlalchemy import bindparam, update

    if outcomes.is_empty():
        return
    stmt = (
        update(t.promises)
        .where(t.promises.c.promise_id == bindparam("pid"))
        .values(status=bindparam("st"), decided_on=bindparam("dec"), paid_toward=bindparam("paid"))
    )
    conn.execute(stmt, [{"pid": a, "st": b, "dec": c, "paid": d}
                        for a, b, c, d in outcomes.select("promise_id", "status", "decided_on", "paid_toward").iter_rows()])


def load_book(conn: Connection, ids: Sequence[str] | None = None) -> Book:
    loans = _subset(conn, t.loan_state, "loan_id", ids).cast(dict(LOAN_STATE)).select(LOAN_STATE.names())
    inst = _subset(conn, t.instalment_state, "loan_id", ids).cast(dict(INSTALMENT_STATE)).select(
        INSTALMENT_STATE.names())
    return Book(loans, inst)


def _delete(conn: Connection, table, ids: Sequence[str]) -> None:
    for i in range(0, len(ids), _CHUNK):
        conn.execute(delete(table).where(table.c.loan_id.in_(ids[i : i + _CHUNK])))


def save_book(conn: Connection, book: Book, *, replace: bool = True) -> None:
    """Write the state of the book's loans, replacing what was stored for them."""
    ids = book.loans["loan_id"].to_list()
    if replace:
        _delete(conn, t.instalment_state, ids)
        _delete(conn, t.loan_state, ids)
    insert_frame(conn, t.loan_state, book.loans)
    insert_frame(conn, t.instalment_state, book.inst)


def replace_history(conn: Connection, ids: Sequence[str], allocations, transitions, movements) -> None:
    """A re-derived loan's history is replaced whole: it was derived from facts now known to be incomplete."""
    for table in (t.allocations, t.bucket_transitions, t.movements):
        _delete(conn, table, list(ids))
    append_history(conn, allocations, transitions, movements)


def append_history(conn: Connection, allocations, transitions, movements) -> None:
    insert_frame(conn, t.allocations, allocations.select(ALLOCATIONS.names()))
    insert_frame(conn, t.bucket_transitions, transitions.select(TRANSITIONS.names()))
    # Only days on which something moved are kept: a quiet current loan leaves no row.
    moved = movements.filter(
        (pl.col("penalty_micro") != 0) | (pl.col("fees_micro") != 0) | (pl.col("capped_micro") != 0)
        | (pl.col("collected") != 0) | (pl.col("written_off") != 0) | pl.col("charged_off")
    )
    insert_frame(conn, t.movements, moved.select(MOVEMENTS.names()))


def last_closed(conn: Connection):
    from sqlalchemy import func

    return conn.execute(select(func.max(t.closed_days.c.day))).scalar()


def earliest_disbursement(conn: Connection):
    from sqlalchemy import func

    return conn.execute(select(func.min(t.loans.c.disbursed_on))).scalar()


def schemes(products: dict[str, Product]) -> dict[str, tuple[int, ...]]:
    return {code: p.buckets for code, p in products.items()}
