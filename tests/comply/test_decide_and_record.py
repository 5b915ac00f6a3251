"""``decide_and_record``: the batch decided one audit partition at a time, each partition recorded
while the next is decided, gives exactly what deciding the whole batch and then recording it gives:
the same decisions in the batch's order, the same audit rows (continuing a segment already begun),
on both databases and on SQLite's staged path."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.audit import log
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


@pytest.mark.parametrize("staged", [False, True], ids=["row-path", "staged"])
def test_overlapped_decisions_and_audit_rows_are_those_of_the_whole_batch(db_url, second_db_url, staged, monkeypatch,
                                                                          cli):
    from arrears.store import bulk

    if staged and not db_url.startswith("sqlite"):
        pytest.skip("the staged path is SQLite's")
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1 if staged else 10**9)
    w = world(120, seed=11, contacts_per_borrower=5)
    batch = actions(w, 400, seed=11)
    # Some borrowers unknown to the world: their rows go to the ``platform`` partition.
    unknown = w.borrowers["borrower_id"].head(7)
    w = dataclasses.replace(w, borrowers=w.borrowers.filter(~pl.col("borrower_id").is_in(unknown.to_list())))
    assert batch["borrower_id"].is_in(unknown.to_list()).any()
    packs = Packs.load("first_party")
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
    stored = _stored(db_url)
    assert stored == _stored(second_db_url)
    assert {r[0] for r in stored} >= {"platform", "GB"} and len(stored) == batch.height + 1
    assert cli("audit", "verify", db=db_url).exit_code == 0


def test_an_empty_batch_decides_and_records_nothing(engine):
    w = world(5, seed=3)
    with engine.begin() as conn:
        decisions, rows = decide_and_record(conn, actions(w, 10, seed=3).clear(), w, Packs.load("first_party"),
                                            "policy_check", DAY, AT, EXTRA)
    assert rows == 0 and decisions.is_empty() and "decision" in decisions.columns
