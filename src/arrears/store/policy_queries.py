"""What the compliance engine needs to know about the borrowers a batch of actions reaches, read in
bulk: contact details in force (with their candidate zones, resolved at import), references, the
contact history, flags, contact holds from pauses, and what each loan may lawfully be collected for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import contextmanager

import polars as pl
from sqlalchemy import Connection, select

from arrears.book.adjustments import pauses
from arrears.book.balances import balances
from arrears.policy.check.world import BORROWERS, CONTACTS, FLAGS, LOANS, REFERENCES, World
from arrears.store import tables as t
from arrears.store.book_io import load_adjustments, load_book
from arrears.store.bulk import _CHUNK, ArrowReader, _read, _schema_of, read_table, read_where

# Past this many borrowers a long IN list loses: to a temporary table of ids to join against (the
# columnar reader), or else to reading the whole table and filtering in Polars.
_WHOLE_TABLE_AT = 20_000
_COLUMNAR_AT = 1_000

# Pause reasons that are also facts the rules know by name.
_PAUSE_FLAGS = ("bankruptcy", "deceased", "breathing_space")


def _rows(conn: Connection, table, key: str, ids: Sequence[str], columns: Sequence[str] | None = None,
          keyed: tuple[ArrowReader, str] | None = None) -> pl.DataFrame:
    """``table``'s rows whose ``key`` is in ``ids``. ``keyed``: a columnar reader and the name of its
    key table holding ``ids`` (``_keyed``), for a columnar read."""
    if columns is not None:
        # Only what the rules read (a contact row has twice as many columns as the engine needs).
        schema = {c: _schema_of(table)[c] for c in columns}
        if keyed is not None:
            r, keys = keyed
            return r.frame(f'SELECT {r.columns(table, "x", columns)} FROM "{table.name}" x '
                           f'JOIN "{keys}" k ON x."{key}" = k."{key}"', schema)
        picked = select(*[table.c[c] for c in columns])
        if len(ids) >= _WHOLE_TABLE_AT:
            return _read(conn, picked, schema).filter(pl.col(key).is_in(list(ids)))
        parts = [_read(conn, picked.where(table.c[key].in_(ids[i:i + _CHUNK])), schema)
                 for i in range(0, len(ids), _CHUNK)]
        return pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    if keyed is not None:
        r, keys = keyed
        return r.frame(f'SELECT {r.columns(table, "x")} FROM "{table.name}" x JOIN "{keys}" k ON x."{key}" = k."{key}"',
                       _schema_of(table))
    if len(ids) >= _WHOLE_TABLE_AT:
        return read_table(conn, table).filter(pl.col(key).is_in(list(ids)))
    return read_table(conn, table, key=key, keys=list(ids))


@contextmanager
def _keyed(conn: Connection, ids: Sequence[str], columnar: bool, reader: tuple[ArrowReader, str] | None):
    """Many borrowers (a day's plan): their ids as a temporary table the reads join against,
    columnar, rather than a long IN list; ``None`` otherwise. One reader and one key table serve
    every table read (``reader``, the caller's, when given). The columnar reader has its own
    connection and sees only what is committed: only a caller that has written nothing yet in its
    transaction may ask for it."""
    if not columnar or len(ids) < _COLUMNAR_AT:
        yield None
    elif reader is not None:
        yield reader
    else:
        with ArrowReader(conn) as r:
            yield r, r.keys("_world_keys", list(ids), column="borrower_id")


def _zones(column: str = "zones") -> pl.Expr:
    return pl.col(column).fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != ""))


def load_world(conn: Connection, borrower_ids: Sequence[str], day: dt.date,
               receivable: pl.DataFrame | None = None, *, columnar: bool = False,
               receivable_for: Sequence[str] | None = None,
               reader: tuple[ArrowReader, str] | None = None) -> World:
    """The facts about ``borrower_ids`` that the rules read, as of business date ``day``.

    Contact details are the version in force on ``day``; the contact history is every stored
    contact (the engine keeps those before each action's instant); balances are the last closed
    state's, valued on ``day``. ``receivable_for``: only these borrowers' loans are valued (the
    rest have none); for a batch where only some actions carry an amount or are visits, the only
    rules that read a balance. ``reader``: the caller's columnar reader and its key table of
    exactly ``borrower_ids`` (``ArrowReader.keys``, column ``borrower_id``), for a ``columnar`` read.
    """
    ids = sorted(set(borrower_ids))
    # Only the columns the rules read (names, addresses, when a row was recorded: read, typed and
    # dropped otherwise).
    with _keyed(conn, ids, columnar, reader) as keyed:
        identity = _rows(conn, t.borrowers, "borrower_id", ids, keyed=keyed,
                         columns=("borrower_id", "jurisdiction", "email_is_employer_provided"))
        stored_versions = _rows(conn, t.borrower_contacts, "borrower_id", ids, keyed=keyed,
                                columns=("borrower_id", "valid_from", "phone", "email", "work_phone", "zones"))
        stored_references = _rows(conn, t.references, "borrower_id", ids, columns=REFERENCES.names(), keyed=keyed)
        contacts = _rows(conn, t.contacts, "borrower_id", ids, columns=CONTACTS.names(), keyed=keyed)
        flags = _rows(conn, t.flags, "borrower_id", ids, columns=FLAGS.names(), keyed=keyed)
        loans = _rows(conn, t.loans, "borrower_id", ids, columns=("loan_id", "borrower_id", "currency", "time_barred_on"),
                      keyed=keyed)
    versions = (
        stored_versions
        .filter(pl.col("valid_from") <= day)
        .sort("borrower_id", "valid_from")
        .group_by("borrower_id", maintain_order=True).last()
    )
    borrowers = identity.join(versions, on="borrower_id", how="left").with_columns(_zones().alias("zones"))
    references = stored_references.with_columns(_zones().alias("zones"))
    contacts = contacts.with_columns(
        pl.col("loan_ids").fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != "")),
    )
    loans = loans.select("loan_id", "borrower_id", "currency", "time_barred_on")
    loan_ids = loans["loan_id"].to_list()
    holds = _holds(conn, loans, loan_ids)
    if receivable is None:
        valued = loan_ids if receivable_for is None else \
            loans.filter(pl.col("borrower_id").is_in(list(receivable_for)))["loan_id"].to_list()
        receivable = _receivable(conn, valued, day)
    world = World(
        borrowers=borrowers.select([c for c in BORROWERS.names() if c in borrowers.columns]),
        references=references,
        contacts=contacts.select(CONTACTS.names()),
        flags=pl.concat([flags.select(FLAGS.names()).cast(dict(FLAGS)), holds.cast(dict(FLAGS))]),
        loans=loans.join(receivable, on="loan_id", how="left").select(LOANS.names()),
    )
    return world.conformed()


def _holds(conn: Connection, loans: pl.DataFrame, loan_ids: list[str]) -> pl.DataFrame:
    """Pauses with a contact hold, as flags: ``contact_hold`` (and the reason, when it is a fact)."""
    empty = pl.DataFrame(schema=FLAGS)
    if not loan_ids:
        return empty
    p = pauses(load_adjustments(conn, loan_ids))
    if p.is_empty():
        return empty
    p = p.filter(pl.col("contact_hold")).join(loans.select("loan_id", "borrower_id"), on="loan_id")
    hold = p.select("borrower_id", "loan_id", pl.lit("contact_hold").alias("flag"), pl.col("reason").alias("value"),
                    "start_on", "end_on", pl.lit(None, pl.Boolean).alias("written"))
    named = p.filter(pl.col("reason").is_in(_PAUSE_FLAGS)).select(
        "borrower_id", pl.lit(None, pl.String).alias("loan_id"), pl.col("reason").alias("flag"),
        pl.lit(None, pl.String).alias("value"), "start_on", "end_on", pl.lit(None, pl.Boolean).alias("written"))
    return pl.concat([hold, named]).cast(dict(FLAGS))


def _receivable(conn: Connection, loan_ids: list[str], day: dt.date) -> pl.DataFrame:
    """Per loan, the payoff on ``day`` from the last closed state: what may lawfully be collected
    (capped amounts never became receivable). Loans not yet closed have none."""
    schema = {"loan_id": pl.String, "receivable": pl.Int64}
    if not loan_ids:
        return pl.DataFrame(schema=schema)
    book = load_book(conn, None if len(loan_ids) >= _WHOLE_TABLE_AT else loan_ids)
    if book.loans.is_empty():
        return pl.DataFrame(schema=schema)
    return balances(book.loans, book.inst, day).select("loan_id", pl.col("payoff_amount").alias("receivable")).cast(schema)



def contacts_recorded_at(conn: Connection, recorded_at: dt.datetime) -> pl.DataFrame:
    """The contacts one import wrote (they share its ``recorded_at``), as the engine reads them."""
    return read_where(conn, t.contacts, t.contacts.c.recorded_at == recorded_at).with_columns(
        pl.col("loan_ids").fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != "")),
    )
