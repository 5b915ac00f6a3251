"""``decide_and_record``: the batch decided one chunk of an audit partition's borrowers at a time,
each chunk recorded while the next is decided, gives what deciding the whole batch and then
recording it gives: the same decisions in the batch's order, and the same audit rows (continuing a
segment already begun), on both databases and on SQLite's staged path. Only the rows' order within
a segment differs, by decision: (borrower, planned start, action id), the order the chunks are
decided in, so the rows are the same whatever the cut, and their chain verifies."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.audit import log
from arrears.comply import service
from arrears.comply.service import decide_and_record, record
from arrears.policy.check.engine import evaluate
from arrears.policy.check.params import Packs
from arrears.store.db import make_engine, upgrade
from tests.policy.check.random_world import actions, world

DAY = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 2, 12, 0, 0, 654321, tzinfo=dt.UTC)
EXTRA = {"collector_role": "first_party"}


def _stored(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY partition, day, seq").fetchall()
    finally:
        engine.dispose()


_CHAINED = ("seq", "prev_hash", "row_hash")


def _rows(stored: list[tuple], columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(stored, schema=columns, orient="row")


def _columns(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(audit_log)").fetchall()] \
                if url.startswith("sqlite") else list(conn.exec_driver_sql("SELECT * FROM audit_log LIMIT 0").keys())
    finally:
        engine.dispose()


@pytest.mark.parametrize("staged", [False, True], ids=["row-path", "staged"])
def test_overlapped_decisions_and_audit_rows_are_those_of_the_whole_batch(db_url, second_db_url, staged, monkeypatch,
                                                                          cli):
    from arrears.store import bulk

    if staged and not db_url.startswith("sqlite"):
        pytest.skip("the staged path is SQLite's")
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1 if staged else 10**9)
    monkeypatch.setattr(service, "CHUNKED_FROM", 1)  # cut in chunks of borrowers, several per partition
    w = world(120, seed=11, contacts_per_borrower=5)
    batch = actions(w, 400, seed=11)
    # Some actions name other borrowers' loans (decided in other chunks): a chunk's world holds the
    # loans its actions name, whoever's they are.
    batch = batch.with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.col("loan_ids").shift(-150))
                               .otherwise(pl.col("loan_ids")).fill_null(pl.col("loan_ids")).alias("loan_ids"))
    # Some borrowers unknown to the world: their rows go to the ``platform`` partition.
    unknown = w.borrowers["borrower_id"].head(7)
    w = dataclasses.replace(w, borrowers=w.borrowers.filter(~pl.col("borrower_id").is_in(unknown.to_list())))
    assert batch["borrower_id"].is_in(unknown.to_list()).any()
    packs = Packs.load("first_party")
    parts, _ = service._by_chunk(batch, w.conformed())
    assert len(parts) > len({p for p, *_ in parts}) > 2  # a partition decided in several chunks
    before = pl.DataFrame({"kind": ["policy_check"], "borrower_id": ["B-EARLIER"], "loan_id": [None],
                           "action_id": ["X1"], "decision": ["allow"], "rules": ["[]"], "payload": ["{}"]})

    results = {}
    for url, overlapped in ((db_url, True), (second_db_url, False)):
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:  # a segment already begun: the chain continues from it
            log.append_frames(conn, DAY, [("GB", before)], recorded_at=AT)
        with engine.begin() as conn:
            if overlapped:
                if staged:
                    assert bulk.stageable(conn, batch.height)
                decisions, rows = decide_and_record(conn, batch, w, packs, "policy_check", DAY, AT, EXTRA)
            else:
                decisions = evaluate(batch, w, packs)
                rows = record(conn, decisions, "policy_check", DAY, AT, w.borrowers, EXTRA)
        engine.dispose()
        assert rows == batch.height
        results[overlapped] = decisions
    assert_frame_equal(results[True], results[False])
    assert results[True]["action_id"].to_list() == batch["action_id"].to_list()
    columns = _columns(db_url)
    ours, whole = _rows(_stored(db_url), columns), _rows(_stored(second_db_url), columns)
    assert ours.height == batch.height + 1 and set(ours["partition"]) >= {"platform", "GB"}
    # The same rows but for their place in the chain ...
    same = [c for c in columns if c not in _CHAINED]
    assert_frame_equal(ours.select(same).sort(same), whole.select(same).sort(same))
    earlier = pl.col("action_id") == "X1"  # GB's first row, written before: the chain continues from it
    assert ours.filter(earlier).rows() == whole.filter(earlier).rows() and ours.filter(earlier)["seq"].to_list() == [1]
    # ... in (borrower, planned start, action id) order within each segment, after the row already there ...
    fresh = ours.filter(pl.col("action_id") != "X1").with_columns(
        pl.col("payload").str.json_path_match("$.start").alias("start"))
    assert fresh.select("partition", "borrower_id", "start", "action_id").equals(
        fresh.select("partition", "borrower_id", "start", "action_id").sort(pl.all()))
    # ... and chained: the log verifies.
    assert cli("audit", "verify", db=db_url).exit_code == 0


def test_the_audit_rows_are_the_same_whatever_the_cut(tmp_path, monkeypatch):
    w = world(150, seed=5, contacts_per_borrower=4)
    batch = actions(w, 600, seed=5)
    packs = Packs.load("first_party")
    stored, cuts = [], []
    for name, chunked_from in (("partitions.db", 10**9), ("chunks.db", 1)):
        monkeypatch.setattr(service, "CHUNKED_FROM", chunked_from)
        cuts.append(len(service._by_chunk(batch, w.conformed())[0]))
        url = f"sqlite:///{tmp_path / name}"
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            decide_and_record(conn, batch, w, packs, "policy_check", DAY, AT, EXTRA)
        engine.dispose()
        stored.append(_stored(url))
    assert cuts[1] > cuts[0]
    assert stored[0] == stored[1] and len(stored[0]) == batch.height


def test_an_empty_batch_decides_and_records_nothing(engine):
    w = world(5, seed=3)
    with engine.begin() as conn:
        decisions, rows = decide_and_record(conn, actions(w, 10, seed=3).clear(), w, Packs.load("first_party"),
                                            "policy_check", DAY, AT, EXTRA)
    assert rows == 0 and decisions.is_empty() and "decision" in decisions.columns
