"""Idempotence: a row already stored with the same content is skipped; with other content, refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
from sqlalchemy import Connection, Table, select

from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import _among, _read, _schema_of, read_keys, read_table


def split_new(
    incoming: pl.DataFrame,
    stored: pl.DataFrame,
    key: str,
    compare: Sequence[str],
    *,
    what: str,
    how_to_correct: str,
    file_columns: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Rows of ``incoming`` not yet stored, and a problem for every stored key whose content differs.

    ``file_columns`` maps a stored column to the file column it comes from (``principal_minor`` ->
    ``principal``), so a problem names the column the sender wrote.
    """
    file_columns = file_columns or {}
    incoming = incoming.unique(subset=[c for c in incoming.columns if c != ROW], keep="first", maintain_order=True)
    if stored.is_empty():
        return incoming, []
    joined = incoming.join(
        stored.select(key, *[pl.col(c).alias(f"{c}__stored") for c in compare]),
        on=key,
        how="left",
        coalesce=True,
    )
    exists = pl.col(f"{compare[0]}__stored").is_not_null() | pl.col(key).is_in(stored[key].implode())
    problems: list[Problem] = []
    for c in compare:
        differs = joined.filter(exists & ~pl.col(c).eq_missing(pl.col(f"{c}__stored")))
        for row, k, new, old in differs.select(ROW, key, c, f"{c}__stored").iter_rows():
            problems.append(
                Problem(
                    row,
                    file_columns.get(c, c),
                    f"{what} '{k}' already exists with {c} = {_show(old)}, not {_show(new)}; {how_to_correct}",
                )
            )
    return joined.filter(~exists).select(incoming.columns), problems


def _show(value: object) -> str:
    return "empty" if value is None else repr(str(value))


def unknown_borrowers(conn: Connection, frame: pl.DataFrame) -> list[Problem]:
    """A problem for every row naming a borrower the book does not know."""
    known = read_keys(conn, t.borrowers, "borrower_id", frame["borrower_id"].unique().to_list())
    missing = frame.filter(~pl.col("borrower_id").is_in(known.implode()))
    if missing.is_empty():
        return []
    return [
        Problem(r, "borrower_id", f"borrower '{b}' is not known (import borrowers first)")
        for r, b in missing.select(ROW, "borrower_id").iter_rows()
    ]


def read_columns(conn: Connection, table: Table, key: str, keys: Sequence[str], columns: Sequence[str]) -> pl.DataFrame:
    """``columns`` of the rows of ``table`` whose ``key`` is in ``keys``, typed as ``read_table``
    types them. A check against the book reads a few columns of a wide row (a loan has 24, eight
    of them dates converted one by one): only those are fetched and turned into a frame."""
    keys = list(dict.fromkeys(keys))
    schema = {c: _schema_of(table)[c] for c in columns}
    if not keys:
        return pl.DataFrame(schema=schema)
    among = _among(conn, table.c[key], keys)
    if among is None:  # pragma: no cover - SQLite and PostgreSQL take the one-query path
        return read_table(conn, table, key=key, keys=keys).select(columns)
    return _read(conn, select(*[table.c[c] for c in columns]).where(among), schema)
