"""``insert_stream_staged``: a SQLite load whose parts come one by one, each staged and copied into
the command's transaction as it arrives. It stores what ``insert_frame`` stores, however many parts
come (more than the staging files too) and in whatever order; a failure while the parts come leaves
no row and no staging file; a load that cannot be staged is refused before a part is read."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from arrears.store import bulk
from arrears.store import tables as t
from arrears.store.db import make_engine, upgrade

AT = dt.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=dt.UTC)


def _rows(partition: str, n: int, first: int = 1) -> pl.DataFrame:
    seqs = list(range(first, first + n))
    return pl.DataFrame({
        "partition": [partition] * n, "day": [dt.date(2026, 3, 2)] * n, "seq": seqs,
        "kind": ["policy_check"] * n, "borrower_id": [f"B{(s * 7) % 5}" if s % 4 else None for s in seqs],
        "loan_id": [None] * n, "action_id": [f"A{s}" for s in seqs], "decision": ["allow"] * n,
        "rules": ["[]"] * n, "payload": ['{"note":"第一次"}'] * n,
        "recorded_at": [AT] * n, "prev_hash": ["0" * 64] * n, "row_hash": [f"{s:064d}" for s in seqs],
        "format": [2] * n,
    }, schema_overrides={"recorded_at": pl.Datetime("us", "UTC"), "format": pl.Int16})


def _stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY partition, day, seq").fetchall()


def _types(engine) -> list[tuple]:
    names = ", ".join(f'typeof("{c.name}")' for c in t.audit_log.c)
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT {names} FROM audit_log ORDER BY partition, day, seq").fetchall()


def _engine(tmp_path, name):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    return engine


@pytest.mark.parametrize("constants", [(), ("partition", "day", "recorded_at", "format", "loan_id", "seq")],
                         ids=["all-staged", "constants-in-the-statement"])
@pytest.mark.parametrize("keep", [False, True], ids=["indexes-rebuilt", "indexes-kept"])
@pytest.mark.parametrize("slots", [2, 8], ids=["more-parts-than-files", "a-file-per-part"])
def test_a_streamed_load_stores_what_insert_frame_stores(tmp_path, monkeypatch, slots, keep, constants):
    # ``constants``: columns said to hold one value per part; with two files the parts are copied
    # together, partitions mixed, and ``seq`` is never one value: those must still be staged.
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    monkeypatch.setattr(bulk, "_STAGE_SLOTS", slots)
    # Five parts, one of them empty, the last before the one it follows in key order.
    parts = [_rows("CN", 4), pl.DataFrame(schema=_rows("X", 0).schema), _rows("GB", 3), _rows("US-NY", 5),
             _rows("US-CA", 2)]
    streamed, plain = _engine(tmp_path, "streamed.db"), _engine(tmp_path, "plain.db")
    dropped = []
    index_type = type(next(iter(t.audit_log.indexes)))
    drop = index_type.drop
    monkeypatch.setattr(index_type, "drop", lambda ix, *a, **k: (dropped.append(ix.name), drop(ix, *a, **k)))
    inlined = []
    one_value = bulk._one_value
    monkeypatch.setattr(bulk, "_one_value", lambda *a: inlined.append(one_value(*a)) or inlined[-1])
    with streamed.begin() as conn:
        assert bulk.insert_stream_staged(conn, t.audit_log, iter(parts), sum(p.height for p in parts),
                                         keep_indexes=keep, constants=constants) == 14
        assert conn.exec_driver_sql("PRAGMA database_list").fetchall()[-1][1].startswith("arrears_stage")
    assert dropped == ([] if keep else ["ix_audit_log_borrower"])  # kept: filled as the parts come
    with plain.begin() as conn:
        for p in parts:
            bulk.insert_frame(conn, t.audit_log, p)
    assert _stored(streamed) == _stored(plain) and len(_stored(streamed)) == 14
    assert _types(streamed) == _types(plain)  # stored as the same SQLite types, not only equal values
    # What went into the statements: never a column with several values (seq) or a null (loan_id).
    assert all(set(fixed) <= {"partition", "day", "recorded_at", "format"} for fixed in inlined)
    if constants and slots == 8:
        assert {"partition": "'CN'", "day": "'2026-03-02'", "recorded_at": "'2026-03-02 12:00:00.123456'",
                "format": "2"} in inlined
    with streamed.connect() as conn:  # the borrower index dropped for the load is back, and whole
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'ix_audit_log_borrower'").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert not [r for r in conn.exec_driver_sql("PRAGMA database_list") if r[1].startswith("arrears_stage")]
    assert not list(tmp_path.glob("arrears-stage-*"))


def test_a_failure_while_the_parts_come_leaves_no_row_and_no_staging_file(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    engine = _engine(tmp_path, "failed.db")

    def parts():
        yield _rows("CN", 3)
        yield _rows("GB", 2)  # both copied into the transaction by now
        raise RuntimeError("the engine failed on the third partition")

    with pytest.raises(RuntimeError, match="third partition"), engine.begin() as conn:
        bulk.insert_stream_staged(conn, t.audit_log, parts(), 10)
    assert _stored(engine) == []
    assert not list(tmp_path.glob("arrears-stage-*"))
    with engine.begin() as conn:  # the re-run is clean
        assert bulk.insert_stream_staged(conn, t.audit_log, iter([_rows("CN", 3), _rows("GB", 2)]), 5) == 5
    assert len(_stored(engine)) == 5
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'ix_audit_log_borrower'").scalar() == 1


def test_a_load_that_cannot_be_staged_reads_no_part(tmp_path, monkeypatch):
    engine = _engine(tmp_path, "small.db")
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 100)
    read = []
    with engine.begin() as conn:
        assert bulk.insert_stream_staged(conn, t.audit_log, (read.append(1) or p for p in [_rows("CN", 3)]), 3) is None
    assert read == [] and _stored(engine) == []
    with pytest.raises(ValueError, match="foreign keys"), engine.begin() as conn:
        bulk.insert_stream_staged(conn, t.schedule, iter([]), 10**6)


def test_the_parts_are_copied_off_the_callers_thread_while_the_next_are_produced(tmp_path, monkeypatch):
    # The producer (the compliance engine, in a policy check) goes on while a part is copied into
    # the transaction: the copy runs on a thread of its own, and a part is asked for (and staged)
    # before the copy of the one before it has ended.
    import threading

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    engine = _engine(tmp_path, "threads.db")
    copying, release = threading.Event(), threading.Event()
    copied_on, staged_on = [], []
    copy_staged, one_value = bulk._copy_staged, bulk._one_value

    def held_copy(raw, statement):  # the first copy waits until the producer has been asked for the next part
        copied_on.append(threading.get_ident())
        copying.set()
        assert release.wait(10), "the next part was never asked for while a copy ran"
        return copy_staged(raw, statement)

    monkeypatch.setattr(bulk, "_copy_staged", held_copy)
    monkeypatch.setattr(bulk, "_one_value", lambda *a: staged_on.append(threading.get_ident()) or one_value(*a))

    def parts():
        yield _rows("CN", 3)
        assert copying.wait(10)
        release.set()  # asked for the second part while the first is being copied
        yield _rows("GB", 2)

    with engine.begin() as conn:
        assert bulk.insert_stream_staged(conn, t.audit_log, parts(), 5, keep_indexes=True) == 5
    assert len(copied_on) == 2 and threading.get_ident() not in copied_on
    assert staged_on == [threading.get_ident()] * 2  # staged as they come, by the producer's thread
    assert len(_stored(engine)) == 5


def test_a_copy_that_fails_fails_the_load_and_leaves_no_row(tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    engine = _engine(tmp_path, "clash.db")
    parts = [_rows("CN", 3), _rows("CN", 2), _rows("GB", 2), _rows("US-NY", 2)]  # CN's seq 1-2 twice
    with pytest.raises(sqlite3.IntegrityError), engine.begin() as conn:
        bulk.insert_stream_staged(conn, t.audit_log, iter(parts), 9, keep_indexes=True)
    assert _stored(engine) == []
    assert not list(tmp_path.glob("arrears-stage-*"))
    with engine.begin() as conn:  # the connection is whole: the next load goes through
        assert bulk.insert_stream_staged(conn, t.audit_log, iter([parts[0], parts[2]]), 5, keep_indexes=True) == 5
    assert len(_stored(engine)) == 5
