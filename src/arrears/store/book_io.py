"""Moving the book between the database and frames: terms, schedules, facts and derived state."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, delete, select

from arrears.book.products import DEFAULT, Product
from arrears.book.quiet import QUIET_TOTALS, WATCH
from arrears.book.schedule import SCHEDULE_SCHEMA
from arrears.book.state import ALLOCATIONS, INSTALMENT_STATE, LOAN_STATE, MOVEMENTS, TRANSITIONS
from arrears.book.step import Book
from arrears.book.terms import loan_terms
from arrears.store import tables as t
from arrears.store.bulk import (
    ArrowReader,
    _schema_of,
    insert_frame,
    insert_frames_referring,
    read_table,
)

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


def load_promises(conn: Connection, ids: Sequence[str] | None = None, *,
                  open_or: Sequence[str] | None = None) -> pl.DataFrame:
    """Promises with the local day they were made (the contact's), their stored status and outcome.

    ``open_or``: only the open promises and those of these loans (what the close re-decides)."""
    p, c = t.promises, t.contacts
    query = select(p.c.promise_id, p.c.loan_id, p.c.amount_minor, c.c.local_date, p.c.promise_date,
                   p.c.status, p.c.decided_on, p.c.paid_toward).join(c, c.c.event_id == p.c.promise_id)
    if ids is not None:
        query = query.where(p.c.loan_id.in_(list(ids)))
    if open_or is not None:
        query = query.where((p.c.status == "open") | p.c.loan_id.in_(list(open_or)))
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
    # Only days on which something moved are kept: a quiet current loan leaves no row.
    moved = movements.filter(
        (pl.col("penalty_micro") != 0) | (pl.col("fees_micro") != 0) | (pl.col("capped_micro") != 0)
        | (pl.col("collected") != 0) | (pl.col("written_off") != 0) | pl.col("charged_off")
    )
    # Their references to the loans checked once per loan, not once per row (PostgreSQL).
    insert_frames_referring(conn, [(t.allocations, allocations.select(ALLOCATIONS.names())),
                                   (t.bucket_transitions, transitions.select(TRANSITIONS.names())),
                                   (t.movements, moved.select(MOVEMENTS.names()))])


def last_closed(conn: Connection):
    from sqlalchemy import func

    return conn.execute(select(func.max(t.closed_days.c.day))).scalar()


def earliest_disbursement(conn: Connection):
    from sqlalchemy import func

    return conn.execute(select(func.min(t.loans.c.disbursed_on))).scalar()


def first_book_day(conn: Connection):
    """The first day the book has anything to close: a loan's disbursement, or for a loan taken
    over from another system its take-on date (the days before it are that system's)."""
    from sqlalchemy import func

    return conn.execute(select(func.min(func.coalesce(t.loans.c.takeon_date, t.loans.c.disbursed_on)))).scalar()


def schemes(products: dict[str, Product]) -> dict[str, tuple[int, ...]]:
    return {code: p.buckets for code, p in products.items()}


# --- the incremental close: set-based reads of the loans it steps, writes of what changed ---------
#
# Reads go through an ``ArrowReader`` (ADBC, its own connection, before the day's transaction writes
# anything); ``keys`` name a temporary table of loan ids made with ``ArrowReader.keys``. Writes go
# through the close's own connection, so the whole day is one transaction.


def _d(day: dt.date) -> str:
    return f"'{day.isoformat()}'"


def _without(table, *names: str) -> list[str]:
    return [c.name for c in table.columns if c.name not in names]


def read_unapplied_payments(rd: ArrowReader, day: dt.date) -> pl.DataFrame:
    """The payments the close of ``day`` takes into the book: not yet applied, and paid by ``day``
    or a reversal. Payments dated later wait for their day: a catch-up after a bulk import reads
    each loan's payments on the days it has one, not on every day. The reversals already applied
    that such a payment may have are read by ``read_applied_reversals``; the payments already
    applied are not read (their part is in the stored state; a loan re-derived, or with a promise
    to decide, has all its payments read then)."""
    cols = _without(t.payments, "recorded_at")
    sql = (f"SELECT {rd.columns(t.payments, 'p', cols)} FROM payments p WHERE p.applied_by_close IS NULL "
           f"AND (p.paid_on <= {_d(day)} OR p.reverses IS NOT NULL)")
    return _payments_frame(rd.frame(sql, {c: _schema_of(t.payments)[c] for c in cols}))


def read_applied_reversals(rd: ArrowReader, day: dt.date) -> pl.DataFrame:
    """The reversals already taken into the book on the loans with a payment the close of ``day``
    takes in (``read_unapplied_payments``): a payment dated ahead may have been reversed before its
    day came, and then it counts for nothing (a reversal and its payment are on the same loan)."""
    cols = _without(t.payments, "recorded_at")
    sql = (f"SELECT {rd.columns(t.payments, 'p', cols)} FROM payments p WHERE p.reverses IS NOT NULL "
           "AND p.applied_by_close IS NOT NULL AND p.loan_id IN "
           f"(SELECT loan_id FROM payments WHERE applied_by_close IS NULL AND paid_on <= {_d(day)})")
    return _payments_frame(rd.frame(sql, {c: _schema_of(t.payments)[c] for c in cols}))


def read_payments(rd: ArrowReader, keys: str) -> pl.DataFrame:
    cols = _without(t.payments, "recorded_at")
    sql = f'SELECT {rd.columns(t.payments, "p", cols)} FROM payments p JOIN "{keys}" k ON k.loan_id = p.loan_id'
    return _payments_frame(rd.frame(sql, {c: _schema_of(t.payments)[c] for c in cols}))


def _payments_frame(p: pl.DataFrame) -> pl.DataFrame:
    return p.select(
        "payment_id", "loan_id", pl.col("amount_minor").alias("amount"), "paid_on", "reverses",
        pl.lit(None, pl.Datetime("us", "UTC")).alias("recorded_at"), "applied_by_close",
    )


def read_open_adjustments(rd: ArrowReader) -> pl.DataFrame:
    """Every adjustment of the loans that have one not yet taken into the book, and every pause
    fact (a pause in force changes its loan every day it lasts)."""
    cols = _without(t.adjustments, "recorded_at")
    sql = (f"SELECT {rd.columns(t.adjustments, 'a', cols)} FROM adjustments a "
           "WHERE a.type IN ('pause_start', 'pause_end') OR a.loan_id IN "
           "(SELECT loan_id FROM adjustments WHERE applied_by_close IS NULL)")
    return _adjustments_frame(rd.frame(sql, {c: _schema_of(t.adjustments)[c] for c in cols}))


def read_adjustments(rd: ArrowReader, keys: str) -> pl.DataFrame:
    cols = _without(t.adjustments, "recorded_at")
    sql = f'SELECT {rd.columns(t.adjustments, "a", cols)} FROM adjustments a JOIN "{keys}" k ON k.loan_id = a.loan_id'
    return _adjustments_frame(rd.frame(sql, {c: _schema_of(t.adjustments)[c] for c in cols}))


def _adjustments_frame(a: pl.DataFrame) -> pl.DataFrame:
    return a.select(
        "adjustment_id", "loan_id", "type", "effective_on", pl.col("amount_minor").alias("amount"),
        "params", "approved_by", pl.lit(None, pl.Datetime("us", "UTC")).alias("recorded_at"), "applied_by_close",
    )


def read_due_watch(rd: ArrowReader, day: dt.date) -> tuple[pl.DataFrame, pl.Series]:
    """The loans the close must step on ``day`` whatever happens: the watch rows of those whose quiet
    span has ended (or that change every day), and the ids of the loans with no watch row (a book
    stored before the incremental close). The rows are the ones the close needs anyway (what it
    takes back from the snapshots), so they are read here once, not again by key."""
    due = rd.frame(f"SELECT {rd.columns(t.loan_watch, 'w', WATCH.names())} FROM loan_watch w "
                   f"WHERE w.quiet_until IS NULL OR w.quiet_until < {_d(day)}", dict(WATCH)).select(WATCH.names())
    counts = rd.frame("SELECT (SELECT COUNT(*) FROM loan_state) AS s, (SELECT COUNT(*) FROM loan_watch) AS w",
                      {"s": pl.Int64, "w": pl.Int64}).row(0)
    unwatched = pl.Series("loan_id", [], pl.String)
    if counts[0] != counts[1]:
        unwatched = rd.frame("SELECT s.loan_id FROM loan_state s WHERE NOT EXISTS "
                             "(SELECT 1 FROM loan_watch w WHERE w.loan_id = s.loan_id)", {"loan_id": pl.String})["loan_id"]
    return due, unwatched


def read_new_loans(rd: ArrowReader, day: dt.date, products: dict[str, Product]) -> pl.DataFrame:
    """Terms of the loans started by ``day`` that have no stored state yet."""
    cols = _without(t.loans, "recorded_at")
    sql = (f"SELECT {rd.columns(t.loans, 'l', cols)} FROM loans l WHERE l.disbursed_on <= {_d(day)} "
           f"AND (l.takeon_date IS NULL OR l.takeon_date <= {_d(day)}) "
           "AND NOT EXISTS (SELECT 1 FROM loan_state s WHERE s.loan_id = l.loan_id)")
    return loan_terms(rd.frame(sql, {c: _schema_of(t.loans)[c] for c in cols}), products)


def read_terms(rd: ArrowReader, keys: str, products: dict[str, Product]) -> pl.DataFrame:
    cols = _without(t.loans, "recorded_at")
    sql = f'SELECT {rd.columns(t.loans, "l", cols)} FROM loans l JOIN "{keys}" k ON k.loan_id = l.loan_id'
    return loan_terms(rd.frame(sql, {c: _schema_of(t.loans)[c] for c in cols}), products)


def read_book(rd: ArrowReader, keys: str, *, open_on: dt.date | None = None) -> Book:
    """The stored state of the loans in ``keys``: ``read_loan_states`` and ``read_instalments``."""
    return Book(read_loan_states(rd, keys), read_instalments(rd, keys, open_on=open_on))


def read_loan_states(rd: ArrowReader, keys: str) -> pl.DataFrame:
    """The stored ``loan_state`` rows of the loans in ``keys``."""
    loans = rd.frame(f'SELECT {rd.columns(t.loan_state, "s", LOAN_STATE.names())} FROM loan_state s '
                     f'JOIN "{keys}" k ON k.loan_id = s.loan_id', dict(LOAN_STATE))
    return loans.select(LOAN_STATE.names())


def read_instalments(rd: ArrowReader, keys: str, *, open_on: dt.date | None = None) -> pl.DataFrame:
    """The stored instalments of the loans in ``keys``.

    ``open_on``: leave out the instalments settled before that day (both due dates past, nothing
    unpaid): no rule of the day step reads them again (they owe nothing, accrue nothing, are not
    due, and a rebuilt schedule only touches instalments not yet due), so they are neither read nor
    rewritten. A restructure numbers its new instalments after all the old ones: the close reads
    loans with adjustments whole."""
    settled = ""
    if open_on is not None:
        settled = (f" WHERE NOT (i.due_on < {_d(open_on)} AND i.adjusted_due_on < {_d(open_on)} "
                   "AND i.principal = i.paid_principal + i.waived_principal "
                   "AND i.interest = i.interest_capped + i.paid_interest + i.waived_interest)")
    inst = rd.frame(f'SELECT {rd.columns(t.instalment_state, "i", INSTALMENT_STATE.names())} FROM instalment_state i '
                    f'JOIN "{keys}" k ON k.loan_id = i.loan_id{settled}', dict(INSTALMENT_STATE))
    return inst.select(INSTALMENT_STATE.names())


def read_schedule(rd: ArrowReader, keys: str) -> pl.DataFrame:
    s = rd.frame(f'SELECT {rd.columns(t.schedule, "s")} FROM schedule s JOIN "{keys}" k ON k.loan_id = s.loan_id',
                 _schema_of(t.schedule))
    return s.select(
        "loan_id", pl.col("n").cast(pl.Int32), "due_on", "adjusted_due_on",
        pl.col("principal_minor").alias("principal"), pl.col("interest_minor").alias("interest"),
    ).cast(dict(SCHEDULE_SCHEMA))


def read_watch(rd: ArrowReader, keys: str) -> pl.DataFrame:
    return rd.frame(f'SELECT {rd.columns(t.loan_watch, "w", WATCH.names())} FROM loan_watch w '
                    f'JOIN "{keys}" k ON k.loan_id = w.loan_id', dict(WATCH)).select(WATCH.names())


def read_quiet_stocks(rd: ArrowReader, day: dt.date) -> pl.DataFrame:
    """The quiet loans' part of the snapshots of ``day`` and the days after it, as counted so far."""
    return rd.frame(f'SELECT {rd.columns(t.quiet_stocks, "q")} FROM quiet_stocks q WHERE q.day >= {_d(day)}',
                    dict(QUIET_TOTALS)).select(QUIET_TOTALS.names())


def save_quiet_stocks(conn: Connection, day: dt.date, ahead: pl.DataFrame) -> None:
    """Replace the quiet totals by ``ahead`` (the days after ``day``): those of ``day`` are spent.
    A few thousand rows at most (days of the horizon x currencies x buckets)."""
    conn.execute(delete(t.quiet_stocks))
    insert_frame(conn, t.quiet_stocks, ahead.filter(pl.col("members") != 0).sort("day", "currency", "bucket"))


def delete_instalments(conn: Connection, keys: pl.DataFrame) -> None:
    """Delete the instalment rows ``keys`` (``loan_id``, ``n``)."""
    if keys.is_empty():
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "DELETE FROM instalment_state i USING unnest(%s::text[], %s::int[]) AS k(loan_id, n) "
            "WHERE i.loan_id = k.loan_id AND i.n = k.n", (keys["loan_id"].to_list(), keys["n"].to_list()))
    else:
        conn.exec_driver_sql("DELETE FROM instalment_state WHERE loan_id = ? AND n = ?", list(keys.iter_rows()))


def mark_applied(conn: Connection, table, key: str, ids: Sequence[str], day: dt.date) -> None:
    """Record that the close of ``day`` took these facts into the book (by id: a fact imported while
    the close ran is left for the next close)."""
    ids = list(ids)
    if not ids:
        return
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"UPDATE {name} SET applied_by_close = %s WHERE {key} = ANY(%s)", (day, ids))
    else:
        conn.exec_driver_sql(f"UPDATE {name} SET applied_by_close = ? WHERE {key} = ?",
                             [(day.isoformat(), i) for i in ids])
