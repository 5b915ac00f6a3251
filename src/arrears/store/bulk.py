"""Bulk reads and writes between Polars frames and tables.

Writes use PostgreSQL's COPY (binary rows laid out with NumPy where the frame allows, else CSV
produced by Polars) on the command's own connection, so they stay inside its transaction, and one
DBAPI executemany on SQLite. Reads go through ``polars.read_database``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, func, literal, select
from sqlalchemy.schema import AddConstraint, DropConstraint

_CHUNK = 5_000
_COPY_SLICE = 100_000
_SQLITE_MMAP = 4 << 30


def _csv_safe(dtype: pl.DataType) -> bool:
    return (
        dtype.is_integer()
        or dtype in (pl.String, pl.Boolean, pl.Date, pl.Null)
        or (isinstance(dtype, pl.Datetime) and dtype.time_zone is not None)
    )


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame, *, constants: Mapping[str, Any] | None = None) -> int:
    """Insert ``frame``'s rows. ``constants`` names columns of ``frame`` that hold one value in every
    row, with that value (an audit segment's partition, day, ...): on SQLite it is written into the
    statement once instead of being bound once per row; COPY takes the frame as it is."""
    if frame.is_empty():
        return 0
    cols = [c for c in frame.columns if c in table.c]
    frame = frame.select(cols)
    if constants and conn.dialect.name != "postgresql" and _writable(conn, table, constants):
        _executemany(conn, table, frame.drop(*constants), constants=constants)
        return frame.height
    if conn.dialect.name == "postgresql":
        # COPY goes through the driver's connection, which SQLAlchemy does not see: make sure its
        # transaction has begun, or a caller's ``conn.commit()`` would commit nothing and the rows
        # would be rolled back when the connection returns to the pool.
        if not conn.in_transaction():
            conn.begin()
        raw = conn.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in cols)
        layout = _pg_binary_layout(table, frame)
        with raw.cursor() as cur:
            if layout is not None:
                fixed, text = layout
                order = [name for name, _ in fixed] + ([text] if text else [])
                listed = ", ".join(f'"{c}"' for c in order)
                with cur.copy(f'COPY "{table.name}" ({listed}) FROM STDIN (FORMAT binary)') as copy:
                    copy.write(_PG_BINARY_HEADER)
                    for part in frame.select(order).iter_slices(n_rows=_COPY_SLICE):
                        copy.write(_pg_binary_rows(part, fixed, text).data)
                    copy.write(b"\xff\xff")
            elif all(_csv_safe(t) for t in frame.dtypes):
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


# PostgreSQL's binary COPY: parsing the CSV text of dates and numbers is most of what the server
# spends on a COPY into a table without indexes (the 1M-loan import's 6.3M schedule rows: about
# half as much server time in binary); NumPy lays the rows out in about the time Polars writes CSV.
_PG_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's epoch for dates and instants, after 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400_000_000


def _pg_binary_layout(table: Table, frame: pl.DataFrame) -> tuple[list[tuple[str, str]], str | None] | None:
    """How ``frame`` is written as binary COPY rows, or None (then as CSV): its fixed-width columns
    with their wire types, from the table's column types (an ``Integer`` column takes 4 bytes
    whatever the frame's integer type), and at most one text column, put last in the COPY's
    column list so that every row is a record of one width followed by that text. Only frames
    without nulls (a null changes a row's width; the schedule has none)."""
    from sqlalchemy import BigInteger, Boolean, Date, DateTime, Enum, Integer, SmallInteger, String

    fixed, text = [], []
    for name, dtype in frame.schema.items():
        t = table.c[name].type
        if isinstance(t, BigInteger) and dtype.is_integer():
            kind = ">i8"
        elif isinstance(t, SmallInteger) and dtype.is_integer():
            kind = ">i2"
        elif isinstance(t, Integer) and dtype.is_integer():
            kind = ">i4"
        elif isinstance(t, Boolean) and dtype == pl.Boolean:
            kind = "u1"
        elif isinstance(t, Date) and dtype == pl.Date:
            kind = "date"
        elif isinstance(t, DateTime) and t.timezone and isinstance(dtype, pl.Datetime) and dtype.time_zone:
            kind = "timestamptz"
        elif isinstance(t, String) and not isinstance(t, Enum) and dtype == pl.String:
            text.append(name)
            continue
        else:
            return None
        fixed.append((name, kind))
    if len(text) > 1 or frame.null_count().sum_horizontal().item():
        return None
    return fixed, (text[0] if text else None)


def _pg_binary_rows(frame: pl.DataFrame, fixed: list[tuple[str, str]], text: str | None):
    """``frame``'s rows (columns in ``_pg_binary_layout``'s order) as binary COPY tuples, a NumPy
    byte array: per row the field count, then each field's length and big-endian value."""
    import numpy as np

    m = frame.height
    fields = [("fields", ">i2")]
    for name, kind in fixed:
        fields += [(f"{name}:len", ">i4"), (name, {"date": ">i4", "timestamptz": ">i8"}.get(kind, kind))]
    if text is not None:
        fields.append((f"{text}:len", ">i4"))
    block = np.empty(m, np.dtype(fields))  # packed: no padding between fields
    block["fields"] = len(fixed) + (text is not None)
    for name, kind in fixed:
        s = frame.get_column(name)
        block[f"{name}:len"] = block.dtype[name].itemsize
        if kind == "date":
            block[name] = s.to_physical().to_numpy() - _PG_EPOCH_DAYS
        elif kind == "timestamptz":
            block[name] = s.dt.cast_time_unit("us").to_physical().to_numpy() - _PG_EPOCH_US
        elif kind == "u1":
            block[name] = s.to_numpy()
        else:  # out of the column's range: an error here, not a value wrapped around
            block[name] = s.cast({">i8": pl.Int64, ">i4": pl.Int32, ">i2": pl.Int16}[kind], strict=True).to_numpy()
    if text is None:
        return block.view(np.uint8)
    s = frame.get_column(text)
    size = s.str.len_bytes().to_numpy()
    block[f"{text}:len"] = size
    data = np.frombuffer(s.str.join("").item().encode("utf-8"), np.uint8)
    width = block.dtype.itemsize
    if m and size.min() == size.max():  # identifiers of one length: records of one width
        rows = np.empty((m, width + int(size[0])), np.uint8)
        rows[:, :width] = block.view(np.uint8).reshape(m, width)
        rows[:, width:] = data.reshape(m, -1)
        return rows.reshape(-1)
    out = np.empty(m * width + data.size, np.uint8)
    # Which bytes of the output are the records' (the rest are the texts'), row after row.
    mask = np.repeat(np.tile(np.array([True, False]), m), np.column_stack([np.full(m, width), size]).ravel())
    out[mask] = block.view(np.uint8)
    out[~mask] = data
    return out


# A bulk insert of at least this many rows that also outnumbers the rows already stored drops the
# table's secondary indexes first and builds them again afterwards (see ``insert_frame``).
REBUILD_INDEXES_FROM = 50_000


def insert_frame_bulk(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """``insert_frame`` for a big load: when ``frame`` at least doubles ``table``, its secondary
    indexes are dropped before and created again after, in the caller's transaction.

    Inserting millions of rows into a B-tree in random key order (the schedule's index on
    ``adjusted_due_on``) costs more than sorting them once to build the index (PostgreSQL: also its
    foreign keys, and its primary key when nothing refers to it, below); on an import into
    a large book the incremental insert stays cheaper, so only a load that outnumbers what is
    stored does this. DDL is transactional on SQLite and PostgreSQL, so a failed import leaves
    the indexes as they were. On SQLite the transaction is begun explicitly first: the driver only
    opens one before DML, and a DROP INDEX outside it would be committed at once.
    """
    if not _outnumbers(conn, table, frame.height):
        return insert_frame(conn, table, frame)
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if not raw.in_transaction:
            raw.execute("BEGIN")
    elif not conn.in_transaction():
        conn.begin()
    indexes = sorted(table.indexes, key=lambda ix: ix.name)
    # PostgreSQL checks a foreign key with a trigger and a lookup per row; added back after the
    # load, it is validated by one join of the whole table instead. (SQLite cannot switch foreign
    # keys off inside a transaction; there they stay checked row by row.)
    keys = [] if conn.dialect.name != "postgresql" else sorted(
        table.foreign_key_constraints, key=lambda fk: str(fk.name))
    # PostgreSQL: the primary key too, when no foreign key refers to it (the schedule's): built by
    # one sort after the load, not by an insert per row into the B-tree (the 1M-loan import's
    # 6.3M schedule rows: a third less server time), and checked for duplicates as it is built.
    primary = None
    if conn.dialect.name == "postgresql" and table.primary_key.name and not _referred_to(table):
        primary = table.primary_key
        conn.execute(DropConstraint(primary))
    for fk in keys:
        conn.execute(DropConstraint(fk))
    for ix in indexes:
        ix.drop(conn)
    added = insert_frame(conn, table, frame)
    if conn.dialect.name == "postgresql":
        # Sorts for the builds in memory (the server's default, 64 MB, spills to disk from about
        # a million rows); SET LOCAL ends with the transaction.
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
    if primary is not None:
        conn.execute(AddConstraint(primary))
    for ix in indexes:
        ix.create(conn)
    for fk in keys:
        conn.execute(AddConstraint(fk))
    return added


def _referred_to(table: Table) -> bool:
    return any(fk.referred_table is table
               for other in table.metadata.tables.values() for fk in other.foreign_key_constraints)


_STAGE = "arrears_stage"


class MissingReference(Exception):
    """A staged load refers to a row that does not exist (a foreign key the set-wise check found
    broken); the caller names the row of its input and rolls back."""

    def __init__(self, table: str, column: str, value: Any, referred: str):
        self.table, self.column, self.value, self.referred = table, column, value, referred
        super().__init__(f"{table}.{column} {value!r} is not in {referred}")


def insert_frames_staged(conn: Connection, loads: Sequence[tuple[Table, pl.DataFrame]]) -> bool:
    """Big loads into a SQLite file: written first through ADBC into a staging file of their own
    (Arrow to SQLite in C, no Python object per value), then copied with ``INSERT ... SELECT``
    on the command's connection, so inside its transaction; indexes as in ``insert_frame_bulk``.

    Rows are staged in primary-key order, so that inserting them appends to the tables' B-trees
    instead of touching pages all over them (a 1M-loan import: the schedule insert about a third
    faster). Foreign keys are not checked row by row (a lookup per row, 15.6 million of them for a
    1M-loan import) but set-wise: the connection's ``foreign_keys`` pragma is switched off before
    the transaction begins (SQLite ignores it inside one) and the distinct referring values of each
    load are staged too and looked up once each, inside the transaction, after the copy; one that
    is missing raises ``MissingReference`` (the caller rolls back). The pragma is switched back on
    when the connection returns to the pool, after the commit or the rollback, with the staging
    file detached. Nothing else with a foreign key may be written in the same unit of work after
    a load that has some (the loans import writes only its log row, which has none); a load
    without any (the audit log) leaves the pragma as it is.

    Only possible before the transaction has written anything (SQLite cannot ATTACH inside a
    transaction; the driver begins one at the first write): returns False, having done nothing,
    when it is not (another backend, an in-memory database, a transaction already writing), and
    the caller inserts the usual way.
    """
    if not stageable(conn, sum(f.height for _, f in loads)):
        return False
    url = conn.engine.url
    raw = conn.connection.driver_connection
    import os
    import tempfile

    import adbc_driver_sqlite.dbapi as adbc_sqlite

    loads = [(table, _in_key_order(table, frame.select([c for c in frame.columns if c in table.c])))
             for table, frame in loads]
    references = [(f"fk_{i}_{j}", table, fk, _referring(table, frame, fk))
                  for i, (table, frame) in enumerate(loads)
                  for j, fk in enumerate(sorted(table.foreign_key_constraints, key=lambda k: str(k.name)))]
    fd, path = tempfile.mkstemp(prefix="arrears-stage-", suffix=".db", dir=os.path.dirname(os.path.abspath(url.database)))
    os.close(fd)
    try:
        with adbc_sqlite.connect(path) as stage, stage.cursor() as cur:
            for table, frame in loads:
                cur.adbc_ingest(table.name, _sqlite_text(frame).to_arrow(), mode="create")
            for name, _, _, values in references:
                cur.adbc_ingest(name, _sqlite_text(values).to_arrow(), mode="create")
            stage.commit()
        raw.execute(f"ATTACH DATABASE ? AS {_STAGE}", (path,))
    except BaseException:
        os.unlink(path)
        raise
    _detach_on_checkin(conn.engine)
    info = conn.connection.info
    info["arrears_stage"] = path
    # Only a load with foreign keys switches the check off: the audit log has none, and the plan
    # writes rows that have some after its audit, in the same unit of work.
    if any(not values.is_empty() for *_, values in references) and raw.execute("PRAGMA foreign_keys").fetchone()[0]:
        info["arrears_foreign_keys"] = True  # first, so that it is restored whatever happens next
        raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("BEGIN")
    for table, frame in loads:
        indexes = sorted(table.indexes, key=lambda ix: ix.name) if _outnumbers(conn, table, frame.height) else []
        for ix in indexes:
            ix.drop(conn)
        names = ", ".join(f'"{c}"' for c in frame.columns)
        raw.execute(f'INSERT INTO main."{table.name}" ({names}) SELECT {names} FROM {_STAGE}."{table.name}"')
        for ix in indexes:
            ix.create(conn)
    if info.get("arrears_foreign_keys"):
        for name, table, fk, values in references:
            _check_references(raw, name, table, fk, values)
    return True


_STAGE_SLOTS = 8  # staging files attached at once: SQLite attaches at most 10 databases by default


def insert_stream_staged(conn: Connection, table: Table, frames: Iterable[pl.DataFrame], rows: int, *,
                         keep_indexes: bool = False, constants: Sequence[str] = ()) -> int | None:
    """``insert_frames_staged`` for one table whose rows come in parts, each produced while the one
    before it is written (the audit rows of one jurisdiction chained while the compliance engine
    decides the next): each part is staged through ADBC into a staging file of its own and copied
    with ``INSERT ... SELECT`` into the command's transaction as it arrives, the copies by a thread
    of their own (the producer goes on meanwhile, and must not use the connection until the load
    returns), so at the end only the indexes dropped for the load are left to rebuild. ``rows``:
    how many rows are expected in all (for ``stageable`` and the indexes). ``keep_indexes``: the indexes are kept and filled as the
    parts are copied instead of being dropped and rebuilt at the end, when nothing else runs beside
    that (for parts whose index keys come in runs, so each part's inserts sweep the index).
    ``constants``: columns that may hold one value in a whole part (an audit segment's partition,
    day, instant and format): where one does, it is written once into the copy's ``SELECT`` instead
    of being staged in every row (at 1M audit rows, 5.00 against 5.27 CPU-s for the staging, the
    copies and the commit); a part where it does not (parts copied together) stages it as usual.
    Returns the number of rows written, or None, having
    consumed nothing, when the load cannot be staged (see ``stageable``); the caller inserts the
    usual way.

    SQLite cannot ATTACH inside a transaction, so the staging files are created empty and attached
    before it begins; a file is written by ADBC (its own connection) before the command's
    connection first reads it, and a database is locked only once the transaction reads it, so the
    two never wait for each other. A part smaller than its share of the rows still
    expected over the files left is held back and copied with the next; what is left when the
    stream ends goes through the next file. Everything is in the one transaction: a failure or a crash leaves no
    row. Rows should come in primary-key order, part after part (each part is sorted if it is not):
    the copy then appends to the table's B-tree. A table with foreign keys is refused (their
    set-wise check is ``insert_frames_staged``'s)."""
    if table.foreign_key_constraints:
        raise ValueError(f"{table.name}: a streamed staged load checks no foreign keys")
    if not stageable(conn, rows):
        return None
    import os
    import tempfile

    url = conn.engine.url
    raw = conn.connection.driver_connection
    info = conn.connection.info
    _detach_on_checkin(conn.engine)
    stages: list[tuple[str, str]] = []
    info.setdefault("arrears_stages", [])
    folder = os.path.dirname(os.path.abspath(url.database))
    for i in range(_STAGE_SLOTS):
        fd, path = tempfile.mkstemp(prefix="arrears-stage-", suffix=".db", dir=folder)
        os.close(fd)
        try:
            raw.execute(f"ATTACH DATABASE ? AS {_STAGE}_{i}", (path,))
        except BaseException:
            os.unlink(path)
            raise
        stages.append((f"{_STAGE}_{i}", path))
        info["arrears_stages"].append(stages[-1])  # detached and removed at check-in, whatever happens
    indexes: list = []
    written = 0

    def stage(slot: int, frame: pl.DataFrame) -> str:
        """Stage ``frame`` in ``slot``'s file; the statement that copies it from there."""
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        alias, path = stages[slot]
        frame = _sqlite_text(_in_key_order(table, frame.select([c for c in frame.columns if c in table.c])))
        fixed = _one_value(frame, constants)
        # A throwaway file (the transaction it feeds is what must survive a crash): no journal, no
        # fsync. Written once and read once, in order: 64 KiB pages instead of 4 KiB make both cheaper
        # (500,000 audit rows: the staging 0.93 -> 0.62 CPU-s, the copy 0.98 -> 0.91).
        with adbc_sqlite.connect(path, autocommit=True) as stage, stage.cursor() as cur:
            for pragma in ("page_size = 65536", "journal_mode = OFF", "synchronous = OFF"):
                cur.execute(f"PRAGMA {pragma}")
                cur.fetchall()
            cur.adbc_ingest(table.name, frame.drop(*fixed).to_arrow(), mode="create")
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        selected = ", ".join(fixed.get(c, f'"{c}"') for c in frame.columns)
        return f'INSERT INTO main."{table.name}" ({columns}) SELECT {selected} FROM {alias}."{table.name}"'

    def copy(statement: str, height: int) -> None:
        nonlocal indexes, written
        if not raw.in_transaction:
            raw.execute("BEGIN")
            indexes = sorted(table.indexes, key=lambda ix: ix.name) \
                if not keep_indexes and _outnumbers(conn, table, rows) else []
            for ix in indexes:
                ix.drop(conn)
        _copy_staged(raw, statement)
        written += height

    # A part is staged by the producer's thread as it comes (ADBC writes the file with the GIL
    # released) and copied into the transaction by a thread of its own, one after the other, while
    # the next parts are produced. With the staging on the copies' thread too, that thread fell a
    # part behind a policy check's engine, and the last two parts were copied after it had
    # finished. A part is held back (and copied with the ones after it) while it is smaller than
    # its share of what is still to come over the files left, so that many small parts do not use
    # up the files early and leave a big remainder for the end, when nothing else runs beside it.
    slot, left = 0, rows
    held: list[pl.DataFrame] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="arrears-copy") as writer:
        copies: list[Future] = []

        def submit(frame: pl.DataFrame) -> None:
            for done in (c for c in copies if c.done()):
                done.result()  # a failed copy stops the stream here rather than at its end
            copies.append(writer.submit(copy, stage(slot, frame), frame.height))

        try:
            for frame in frames:
                if frame.is_empty():
                    continue
                held.append(frame)
                pending = sum(f.height for f in held)
                if slot < _STAGE_SLOTS - 1 and pending * (_STAGE_SLOTS - slot) >= left:
                    submit(pl.concat(held, how="diagonal_relaxed") if len(held) > 1 else frame)
                    slot, left, held = slot + 1, max(0, left - pending), []
            if held:
                submit(pl.concat(held, how="diagonal_relaxed"))
        except BaseException:
            for c in copies:  # those not started; leaving the pool waits for the one running
                c.cancel()
            raise
        for c in copies:
            c.result()
    for ix in indexes:
        ix.create(conn)
    return written


def _copy_staged(raw: Any, statement: str) -> None:
    """One staged part copied into the command's transaction (``insert_stream_staged``'s thread)."""
    raw.execute(statement)


def _one_value(frame: pl.DataFrame, names: Sequence[str]) -> dict[str, str]:
    """Which of ``names`` hold one value in every row of ``frame`` (as ``_sqlite_text`` writes it),
    each with that value as an SQL literal: the copy writes it into its ``SELECT`` instead of
    staging it once per row."""
    fixed = {}
    for name in names:
        if name not in frame.columns or frame.is_empty():
            continue
        s = frame.get_column(name)
        first = s[0]
        if first is None or s.null_count() or not (s == first).all():
            continue
        try:
            fixed[name] = _sql_literal(first)
        except TypeError:
            continue
    return fixed


def insert_frames_referring(conn: Connection, loads: Sequence[tuple[Table, pl.DataFrame]]) -> None:
    """Insert each frame into its table (``insert_frame``), their foreign keys checked set-wise on
    PostgreSQL where the session may do so.

    PostgreSQL checks a foreign key with a trigger per inserted row (a query through SPI, an index
    probe, a key-share lock): for the close's ~130k movements a day to ``loans`` that is 0.65-0.8 s
    of the COPY's 1 s. Here the distinct referred keys of all the loads are locked ``FOR KEY SHARE``
    by one statement per referred table (what the per-row checks lock: the referred rows cannot be
    deleted or their keys changed until the transaction ends), their count compared with the keys
    asked for (one missing raises ``MissingReference``, the caller rolls back), and the rows then
    copied with the row triggers off for this transaction only (``SET LOCAL
    session_replication_role = replica``, switched back right after). The constraints stay
    declared and enforced for every other writer. That setting needs the SET privilege on it
    (a superuser, or ``GRANT SET ON PARAMETER session_replication_role``, PostgreSQL 15); a session
    without it, a table with another trigger, or SQLite insert row by row as before.
    """
    loads = [(table, frame) for table, frame in loads if not frame.is_empty()]
    if not loads:
        return
    if not _setwise_references(conn, [table for table, _ in loads]):
        for table, frame in loads:
            insert_frame(conn, table, frame)
        return
    wanted: dict[tuple[str, str], list[tuple[str, str, pl.Series]]] = {}
    for table, frame in loads:
        for fk in sorted(table.foreign_key_constraints, key=lambda k: str(k.name)):
            (elem,) = fk.elements
            values = frame.get_column(elem.parent.name).drop_nulls().unique()
            wanted.setdefault((fk.referred_table.name, elem.column.name), []).append(
                (table.name, elem.parent.name, values))
    for (referred, column), parts in sorted(wanted.items()):
        keys = pl.concat([v for _, _, v in parts]).unique().sort().to_list()
        if not keys:
            continue
        found = conn.exec_driver_sql(
            f'SELECT count(*) FROM (SELECT 1 FROM "{referred}" WHERE "{column}" = ANY(%(k)s) FOR KEY SHARE) x',
            {"k": keys}).scalar_one()
        if found != len(keys):
            missing = conn.exec_driver_sql(
                f'SELECT u.key FROM unnest(%(k)s::text[]) AS u(key) WHERE NOT EXISTS '
                f'(SELECT 1 FROM "{referred}" r WHERE r."{column}" = u.key) ORDER BY u.key LIMIT 1',
                {"k": keys}).scalar_one()
            table, col = next((tn, cn) for tn, cn, v in parts if (v == missing).any())
            raise MissingReference(table, col, missing, referred)
    was = conn.exec_driver_sql("SHOW session_replication_role").scalar_one()
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    for table, frame in loads:
        insert_frame(conn, table, frame)
    conn.exec_driver_sql(f"SET LOCAL session_replication_role = {was}")


def _setwise_references(conn: Connection, tables: Sequence[Table]) -> bool:
    """Whether ``insert_frames_referring`` may check the foreign keys of ``tables`` itself: on
    PostgreSQL 15 or later, a session allowed to set ``session_replication_role``, and tables whose
    only triggers are their foreign keys' (single-column ones) and that have no rule (switching the
    role off would skip anything else too)."""
    if conn.dialect.name != "postgresql" or (conn.dialect.server_version_info or (0,)) < (15,):
        return False
    if any(len(fk.elements) != 1 for table in tables for fk in table.foreign_key_constraints):
        return False
    names = sorted({table.name for table in tables})
    allowed, others = conn.exec_driver_sql(
        "SELECT has_parameter_privilege('session_replication_role', 'SET'), "
        "(SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = ANY(%(t)s::regclass[]) AND NOT g.tgisinternal)"
        " + (SELECT count(*) FROM pg_rules r WHERE r.tablename = ANY(%(t)s::text[]) AND r.schemaname = current_schema())",
        {"t": names}).one()
    return bool(allowed) and others == 0


def _in_key_order(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted by ``table``'s primary key; as it is when it already is (the schedule comes
    loan by loan from loans in file order): checking costs one pass, a sort a copy of the frame.
    Polars orders strings by their UTF-8 bytes, as SQLite's default (BINARY) collation does."""
    keys = [c.name for c in table.primary_key.columns]
    if not keys or not all(k in frame.columns for k in keys) or frame.height < 2:
        return frame
    later = pl.lit(False)
    for k in reversed(keys):  # row i+1 after row i in the key's order, column by column
        nxt = pl.col(k).shift(-1)
        later = (nxt > pl.col(k)) | ((nxt == pl.col(k)) & later)
    if frame.select(later.head(frame.height - 1).all()).item():
        return frame
    return frame.sort(keys)


def _referring(table: Table, frame: pl.DataFrame, fk) -> pl.DataFrame:
    """The distinct values of ``frame`` in a foreign key's columns (a row with a null in one is not
    checked, as SQL's foreign keys do not check it), in order so that the lookups walk the index.
    ``frame`` is in primary-key order: where the key starts with those columns (the schedule's
    loan), equal values are adjacent and a pass finds them without hashing 15 million strings."""
    cols = [c.parent.name for c in fk.elements]
    values = frame.select(cols).drop_nulls()
    if [c.name for c in table.primary_key.columns][: len(cols)] == cols:
        return values.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in cols))
    return values.unique().sort(cols)


def _check_references(raw, name: str, table: Table, fk, values: pl.DataFrame) -> None:
    if values.is_empty():
        return
    cols = [(e.parent.name, e.column.name) for e in fk.elements]
    on = " AND ".join(f'r."{theirs}" = s."{ours}"' for ours, theirs in cols)
    listed = ", ".join(f's."{ours}"' for ours, _ in cols)
    missing = raw.execute(
        f'SELECT {listed} FROM {_STAGE}."{name}" s '
        f'WHERE NOT EXISTS (SELECT 1 FROM main."{fk.referred_table.name}" r WHERE {on}) LIMIT 1'
    ).fetchone()
    if missing is not None:
        raise MissingReference(table.name, cols[0][0], missing[0], fk.referred_table.name)


def stageable(conn: Connection, rows: int) -> bool:
    """Whether ``insert_frames_staged`` would take a load of ``rows`` rows now (a SQLite file, a big
    load, a transaction that has not written yet)."""
    url = conn.engine.url
    if conn.dialect.name != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return not conn.connection.driver_connection.in_transaction and rows >= REBUILD_INDEXES_FROM


def _sqlite_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates and instants as the text SQLAlchemy stores in SQLite (see ``_executemany``)."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            # Formatted once per distinct day and looked up: a schedule has two dates per
            # instalment (29 million at 1M loans) over a few thousand days; half the time of strftime.
            days = frame.get_column(name).unique().drop_nulls()
            out.append(col.replace_strict(days, days.dt.strftime("%Y-%m-%d"), default=None, return_dtype=pl.String))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            out.append(col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif dtype == pl.Boolean:
            out.append(col.cast(pl.Int64))
        elif dtype == pl.Null:
            out.append(col.cast(pl.String))
        else:
            out.append(col)
    return frame.select(out)


_DETACHING: set[int] = set()


def _detach_on_checkin(engine) -> None:
    from sqlalchemy import event

    if id(engine.pool) in _DETACHING:
        return
    _DETACHING.add(id(engine.pool))

    @event.listens_for(engine.pool, "checkin")
    def _detach(dbapi_conn, record) -> None:  # after the unit of work's commit or rollback
        if record is None:
            return
        path = record.info.pop("arrears_stage", None)
        checked = record.info.pop("arrears_foreign_keys", False)
        stages = record.info.pop("arrears_stages", [])  # ``insert_stream_staged``'s
        import os

        for alias, staged in stages:
            try:
                if dbapi_conn is not None:
                    dbapi_conn.execute(f"DETACH DATABASE {alias}")
            finally:
                os.unlink(staged)
        if path is None:
            return
        try:
            if dbapi_conn is not None:
                if checked:
                    dbapi_conn.execute("PRAGMA foreign_keys = ON")
                dbapi_conn.execute(f"DETACH DATABASE {_STAGE}")
        finally:
            os.unlink(path)


def _outnumbers(conn: Connection, table: Table, incoming: int) -> bool:
    """Whether ``incoming`` rows are at least ``REBUILD_INDEXES_FROM`` and more than ``table`` holds."""
    if incoming < REBUILD_INDEXES_FROM or not table.indexes:
        return False
    probe = select(literal(1)).select_from(table).limit(incoming).subquery()
    return conn.execute(select(func.count()).select_from(probe)).scalar_one() < incoming


def upsert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Insert ``frame``'s rows, replacing those with the same primary key.

    SQLite: ``INSERT OR REPLACE`` in one executemany. PostgreSQL: COPY into a temporary table, then
    one ``INSERT ... ON CONFLICT DO UPDATE`` from it (the rows of the day never exist twice)."""
    if frame.is_empty():
        return 0
    cols = [c for c in frame.columns if c in table.c]
    frame = frame.select(cols)
    quote = conn.dialect.identifier_preparer
    keys = [c.name for c in table.primary_key.columns]
    updates = ", ".join(f"{quote.quote(c)} = excluded.{quote.quote(c)}" for c in cols if c not in keys)
    conflict = f"ON CONFLICT ({', '.join(quote.quote(k) for k in keys)}) DO UPDATE SET {updates}"
    if conn.dialect.name != "postgresql":
        # An update in place on conflict: cheaper than INSERT OR REPLACE's delete and insert.
        _executemany(conn, table, frame, suffix=conflict)
        return frame.height
    name = quote.format_table(table)
    temp = Table(f"_up_{table.name}", MetaData(), *[Column(c.name, c.type) for c in table.columns if c.name in cols])
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{temp.name}"')
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{temp.name}" (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP')
    insert_frame(conn, temp, frame)
    listed = ", ".join(quote.quote(c) for c in cols)
    conn.exec_driver_sql(f'INSERT INTO {name} ({listed}) SELECT {listed} FROM "{temp.name}" {conflict}')
    conn.exec_driver_sql(f'DROP TABLE "{temp.name}"')
    return frame.height


def write_changed(conn: Connection, table: Table, frame: pl.DataFrame, compared: Sequence[str],
                  changed: str = "changed") -> int:
    """Write rows of ``table`` known to differ from what is stored, replacing those with the same key.

    Column ``changed`` of ``frame`` holds, for each row, a bit for each column of ``compared`` that
    differs from the stored row (bit ``i`` for ``compared[i]``), or null for a row that may not be
    stored. Columns neither compared nor in the key (a date stamp) are written with every change.

    SQLite: rows with the same changed columns are written by one executemany of an ``UPDATE`` of
    those columns only, by key; the others upserted. Most rows of a day change in two or three of a
    loan's thirty columns (days past due, penalty): binding and copying the rest for every row was
    most of the statement's cost. PostgreSQL: everything upserted (``upsert_frame``: one COPY and
    one statement; the server's work there is per row, not per column).
    """
    if frame.is_empty():
        return 0
    plain = frame.drop(changed)
    if conn.dialect.name != "sqlite":
        return upsert_frame(conn, table, plain)
    quote = conn.dialect.identifier_preparer
    keys = [c.name for c in table.primary_key.columns]
    always = [c for c in plain.columns if c not in keys and c not in compared]
    upsert_frame(conn, table, plain.filter(frame[changed].is_null()))
    known = frame.filter(pl.col(changed).is_not_null())
    # In key order within each group (``partition_by`` keeps the rows' order): pages visited once.
    for (mask,), part in known.partition_by(changed, as_dict=True, maintain_order=True).items():
        cols = always + [c for i, c in enumerate(compared) if mask >> i & 1]
        if not cols:  # pragma: no cover - a row that changed in nothing is not passed
            continue
        values = _bound(conn, table, part.select(*cols, *keys))
        sets = ", ".join(f"{quote.quote(c)} = ?" for c in cols)
        where = " AND ".join(f"{quote.quote(k)} = ?" for k in keys)
        conn.exec_driver_sql(f"UPDATE {quote.format_table(table)} SET {sets} WHERE {where}", list(zip(*values)))
    return frame.height


def _executemany(conn: Connection, table: Table, frame: pl.DataFrame, suffix: str = "",
                 constants: Mapping[str, Any] | None = None) -> None:
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
    columns = _bound(conn, table, frame)
    quote = dialect.identifier_preparer
    fixed = {} if not constants else {
        name: _sql_literal(_executemany_value(conn, table, name, value)) for name, value in constants.items()}
    sql = (
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(c) for c in [*fixed, *frame.columns])}) "
        f"VALUES ({', '.join([*fixed.values(), *[marker] * len(frame.columns)])}) {suffix}"
    )
    conn.exec_driver_sql(sql, list(zip(*columns)))


def _bound(conn: Connection, table: Table, frame: pl.DataFrame) -> list[list]:
    """``frame``'s columns as the values ``_executemany`` binds, a list per column."""
    dialect = conn.dialect
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
        if dialect.name == "sqlite" and series.dtype == pl.Boolean:
            # And a boolean: SQLAlchemy's SQLite processor writes 1 or 0 (the close's history has one
            # per movement and per allocation, a Python call each otherwise).
            columns.append(series.cast(pl.Int64).to_list())
            continue
        values = series.to_list()
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values = [None if v is None else process(v) for v in values]
        columns.append(values)
    return columns


def _executemany_value(conn: Connection, table: Table, name: str, value: Any) -> Any:
    """One value as ``_executemany`` binds it in column ``name`` (same conversions)."""
    dialect = conn.dialect
    if dialect.name == "sqlite" and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if dialect.name == "sqlite" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return value if value is None or process is None else process(value)


def _writable(conn: Connection, table: Table, constants: Mapping[str, Any]) -> bool:
    """Every constant can be written into the statement (else they are bound per row, as usual)."""
    try:
        for name, value in constants.items():
            _sql_literal(_executemany_value(conn, table, name, value))
    except TypeError:
        return False
    return True


def _sql_literal(value: Any) -> str:
    """A bound value written into the statement: NULL, an integer, or a quoted string."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "\x00" not in value:  # a NUL would end the literal early
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"{type(value).__name__} constant cannot be written into a statement")


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
    if not keys:
        return pl.DataFrame(schema=overrides)
    among = _among(conn, table.c[key], keys)
    if among is not None:
        return _read(conn, select(table).where(among), overrides)
    parts = [
        _read(conn, select(table).where(table.c[key].in_(keys[i : i + _CHUNK])), overrides)
        for i in range(0, len(keys), _CHUNK)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=overrides)


def read_keys(conn: Connection, table: Table, key: str, keys: Iterable[str]) -> pl.Series:
    """The values of ``keys`` that ``table`` holds in column ``key`` (that column only)."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return pl.Series(key, [], dtype=pl.String)
    column = table.c[key]
    among = _among(conn, column, keys)
    if among is not None:
        found = [r[0] for r in conn.execute(select(column).where(among))]
    else:  # pragma: no cover - SQLite and PostgreSQL take the one-query path
        found = [r[0] for i in range(0, len(keys), _CHUNK)
                 for r in conn.execute(select(column).where(column.in_(keys[i : i + _CHUNK])))]
    return pl.Series(key, found, dtype=pl.String)


def _among(conn: Connection, column, keys: list):
    """``column IN keys`` as one statement with one parameter, whatever the number of keys: a
    text array on PostgreSQL, a JSON array read by ``json_each`` on SQLite. (An IN list is
    compiled and bound per value; in chunks of 5,000, looking up a million loans took 200
    statements and most of a minute.) None where neither applies."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import String, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam("among_keys", keys, type_=ARRAY(String)))
    if conn.dialect.name == "sqlite":
        import json

        from sqlalchemy import bindparam

        each = func.json_each(bindparam("among_keys", json.dumps(keys))).table_valued("value")
        return column.in_(select(each.c.value))
    return None  # pragma: no cover


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
    # A table's columns never change within a process; the close and the plan ask for the same few
    # tables' types dozens of times a day.
    return dict(_schema_cached(table))


@functools.lru_cache(maxsize=256)
def _schema_cached(table: Table) -> dict:
    return {c.name: _schema_of_column(c) for c in table.columns}


def _schema_of_column(c) -> pl.DataType:
    from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer

    t = c.type
    if isinstance(t, (BigInteger, Integer)):
        return pl.Int64
    if isinstance(t, Boolean):
        return pl.Boolean
    if isinstance(t, DateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(t, Date):
        return pl.Date
    return pl.String


def column_names(table: Table) -> Sequence[str]:
    return [c.name for c in table.columns]


# --- columnar reads (the close) -----------------------------------------------------------------


class ArrowReader:
    """Set-based reads into Polars over Arrow, through ADBC on a connection of its own.

    The close reads the loans it steps (a few hundred thousand rows of state and instalments) this
    way instead of building a SQLAlchemy Row per stored row. Its own connection sees what is
    committed; that is the book as of the last closed day, because only the close writes the state
    and the close holds the lock (``close.lock``). It must be closed before the writing transaction
    commits (on SQLite an open read would hold off the commit): use it as a context manager.

    ADBC's SQLite driver infers a column's type from its first values, so a text or date column
    that starts with NULLs and holds text later fails; such columns are read as ``COALESCE(c, '')``
    and '' is read back as null (no stored date, id or label is ever empty). Dates come back as
    text there and are parsed. Without ADBC (an in-memory SQLite book), the same SQL runs on the
    command's own connection.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._adbc = None
        url = conn.engine.url
        if self.dialect == "sqlite" and url.database and url.database != ":memory:":
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            self._adbc = adbc_sqlite.connect(url.database)
            with self._adbc.cursor() as cur:
                # This connection only reads (and keeps its key tables): pages mapped rather than
                # copied through read() calls (up to SQLite's own cap, 2 GB by default), and key
                # tables in memory, not in a temporary file.
                for pragma in (f"mmap_size = {_SQLITE_MMAP}", "temp_store = MEMORY"):
                    cur.execute(f"PRAGMA {pragma}")
                    cur.fetchall()
        elif self.dialect == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc_pg

            self._adbc = adbc_pg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
            with self._adbc.cursor() as cur:
                # Short reads joined on keys: JIT compilation costs more than it saves here, and the
                # state the close reads is in memory (index lookups are cheap, not random disk reads).
                cur.execute("SET jit = off")
                cur.execute("SET random_page_cost = 1.1")

    @property
    def own_connection(self) -> bool:
        """Whether reads go through a connection of this reader's own (so may run beside others')."""
        return self._adbc is not None

    def __enter__(self) -> ArrowReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def keys(self, name: str, values: pl.Series | Sequence[str], column: str = "loan_id") -> str:
        """A temporary table ``name`` of distinct keys, to join reads against; returns its name."""
        # Sorted, so that joins against it visit the stored rows in key order.
        frame = pl.DataFrame({column: pl.Series(values, dtype=pl.String)}).unique().sort(column)
        if self._adbc is not None:
            with self._adbc.cursor() as cur:
                cur.adbc_ingest(name, frame.to_arrow(), mode="replace", temporary=True)
                # Its size, so that joins against it use the state tables' keys, not a scan of them.
                cur.execute(f'ANALYZE "{name}"')
                if self.dialect == "sqlite":
                    cur.fetchall()
            return name
        self.conn.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{name}"' if self.dialect == "sqlite"
                                  else f'DROP TABLE IF EXISTS "{name}"')
        self.conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ("{column}" TEXT PRIMARY KEY)')
        if frame.height:
            self.conn.exec_driver_sql(f'INSERT INTO "{name}" VALUES (?)' if self.dialect == "sqlite"
                                      else f'INSERT INTO "{name}" VALUES (%s)', [(v,) for v in frame[column]])
        return name

    def columns(self, table: Table, alias: str, names: Sequence[str] | None = None) -> str:
        """A select list for ``table``'s columns (all, or ``names``) that reads back exactly (above)."""
        out = []
        for c in table.columns:
            if names is not None and c.name not in names:
                continue
            ref = f'{alias}."{c.name}"'
            if self.dialect == "sqlite" and self._adbc is not None and c.nullable and _schema_of_column(c) in (
                    pl.String, pl.Date):
                out.append(f"COALESCE({ref}, '') AS \"{c.name}\"")
            else:
                out.append(f'{ref} AS "{c.name}"')
        return ", ".join(out)

    def frame(self, sql: str, schema: dict) -> pl.DataFrame:
        """Run ``sql`` (literal values only: dates as 'YYYY-MM-DD') and type the result as ``schema``."""
        if self._adbc is not None:
            with self._adbc.cursor() as cur:
                cur.execute(sql)
                raw = pl.from_arrow(cur.fetch_arrow_table())
        else:
            rows = self.conn.exec_driver_sql(sql).all()
            raw = pl.DataFrame([tuple(r) for r in rows], schema=list(schema), orient="row", infer_schema_length=None)
        return _typed(raw, schema)


def _typed(raw: pl.DataFrame, schema: dict) -> pl.DataFrame:
    # One select for the whole frame: a Polars operation per column costs its fixed overhead per
    # column, and the close and the plan read many small frames of many columns every day.
    if not schema:
        return pl.DataFrame()
    out = []
    for name, dtype in schema.items():
        have, c = raw.schema[name], pl.col(name)
        if have == dtype:
            e = c
        elif dtype == pl.Date and have == pl.String:
            e = c.replace("", None).str.slice(0, 10).str.to_date("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime) and have == pl.String:
            # SQLite keeps instants as UTC text, "2026-06-15 06:00:00.000000".
            e = c.replace("", None).str.slice(0, 26).str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC")
        else:
            e = c.cast(dtype)
        if dtype == pl.String:
            # Text read as COALESCE(c, '') comes back null.
            e = e.replace("", None)
        out.append(e)
    return raw.select(out)
