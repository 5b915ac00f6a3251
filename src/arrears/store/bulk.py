"""Bulk reads and writes between Polars frames and tables.

Writes use PostgreSQL's COPY (CSV produced by Polars) on the command's own connection, so they stay
inside its transaction, and one DBAPI executemany on SQLite. Reads go through ``polars.read_database``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl
from sqlalchemy import Connection, Table, select

_CHUNK = 5_000
_COPY_SLICE = 100_000


def _csv_safe(dtype: pl.DataType) -> bool:
    return (
        dtype.is_integer()
        or dtype in (pl.String, pl.Boolean, pl.Date, pl.Null)
        or (isinstance(dtype, pl.Datetime) and dtype.time_zone is not None)
    )


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    if frame.is_empty():
        return 0
    cols = [c for c in frame.columns if c in table.c]
    frame = frame.select(cols)
    if conn.dialect.name == "postgresql":
        # COPY goes through the driver's connection, which SQLAlchemy does not see: make sure its
        # transaction has begun, or a caller's ``conn.commit()`` would commit nothing and the rows
        # would be rolled back when the connection returns to the pool.
        if not conn.in_transaction():
            conn.begin()
        raw = conn.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in cols)
        with raw.cursor() as cur:
            if all(_csv_safe(t) for t in frame.dtypes):
                # CSV written by Polars in slices: no Python call per row. Polars writes a null as an
                # unquoted empty field and an empty string as "", which is exactly how COPY's CSV
                # format tells NULL from ''.
                with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                    for part in frame.iter_slices(n_rows=_COPY_SLICE):
                        copy.write(part.write_csv(include_header=False).encode("utf-8"))
            else:  # pragma: no cover - every table's columns are CSV-safe today
                with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in frame.iter_rows():
                        copy.write_row(row)
    else:
        _executemany(conn, table, frame)
    return frame.height


def _executemany(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """One DBAPI ``executemany`` of plain tuples, on the command's connection (so in its transaction).

    ``conn.execute(table.insert(), frame.to_dicts())`` builds a dict per row and lets SQLAlchemy
    process every parameter of every row; on a 100,000-loan import (1.5 million schedule rows) that
    bookkeeping costs more than SQLite's own work. Values are converted here column by column with
    the same bind processors SQLAlchemy would apply (dates and timestamps as SQLite text, booleans as
    0/1), so what is stored, and read back, is exactly what the ORM-free Core path stored.
    """
    dialect = conn.dialect
    marker = {"qmark": "?", "format": "%s"}.get(dialect.paramstyle)
    if marker is None:  # pragma: no cover - SQLite (qmark) and PostgreSQL (COPY) are what we run on
        conn.execute(table.insert(), frame.to_dicts())
        return
    columns = []
    for name in frame.columns:
        series = frame.get_column(name)
        if dialect.name == "sqlite" and series.dtype == pl.Date:
            # SQLAlchemy stores a SQLite DATE as 'YYYY-MM-DD' text; done vectorised, it is the
            # same text without a Python call per value (a schedule has two dates per instalment).
            columns.append(series.dt.strftime("%Y-%m-%d").to_list())
            continue
        if dialect.name == "sqlite" and isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone is not None:
            # Likewise a timestamp: SQLAlchemy's SQLite DATETIME text of the UTC wall time
            # ('2026-03-02 01:02:03.456789'), the text its bind processor writes for a UTC value.
            columns.append(series.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f").to_list())
            continue
        values = series.to_list()
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values = [None if v is None else process(v) for v in values]
        columns.append(values)
    quote = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(c) for c in frame.columns)}) "
        f"VALUES ({', '.join([marker] * len(frame.columns))})"
    )
    conn.exec_driver_sql(sql, list(zip(*columns)))


def read_table(
    conn: Connection,
    table: Table,
    *,
    key: str | None = None,
    keys: Iterable[str] | None = None,
    schema: pl.Schema | dict | None = None,
) -> pl.DataFrame:
    """Rows of ``table`` (optionally only those whose ``key`` is in ``keys``) as a frame."""
    overrides = _schema_of(table) if schema is None else dict(schema)
    if keys is None:
        return _read(conn, select(table), overrides)
    keys = list(dict.fromkeys(keys))
    parts = [
        _read(conn, select(table).where(table.c[key].in_(keys[i : i + _CHUNK])), overrides)
        for i in range(0, len(keys), _CHUNK)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=overrides)


def read_where(conn: Connection, table: Table, condition) -> pl.DataFrame:
    """Rows of ``table`` matching a SQLAlchemy ``condition``, as a frame typed like ``read_table``'s."""
    return _read(conn, select(table).where(condition), _schema_of(table))


def _read(conn: Connection, query, overrides: dict) -> pl.DataFrame:
    rows = conn.execute(query).all()
    names = list(overrides)
    data = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    # SQLite hands dates back as text through some drivers; normalise here, once.
    for n, t in overrides.items():
        if t == pl.Date:
            data[n] = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in data[n]]
    return pl.DataFrame(data, schema=overrides)


def _schema_of(table: Table) -> dict:
    from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer

    out = {}
    for c in table.columns:
        t = c.type
        if isinstance(t, BigInteger):
            out[c.name] = pl.Int64
        elif isinstance(t, Integer):
            out[c.name] = pl.Int64
        elif isinstance(t, Boolean):
            out[c.name] = pl.Boolean
        elif isinstance(t, DateTime):
            out[c.name] = pl.Datetime("us", "UTC")
        elif isinstance(t, Date):
            out[c.name] = pl.Date
        else:
            out[c.name] = pl.String
    return out


def column_names(table: Table) -> Sequence[str]:
    return [c.name for c in table.columns]
