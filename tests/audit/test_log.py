"""The audit log in the database, on SQLite and PostgreSQL: append, seal, verify, purge, and the
tampering the seals exist to catch, each named, through the CLI (exit 3)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import delete, select, update

from arrears.audit import log
from arrears.audit.chain import GENESIS, as_utc, row_hash
from arrears.audit.log import ChainBroken, SegmentSealed
from arrears.store.tables import audit_log, audit_seals

DAY = dt.date(2026, 3, 2)
NEXT = dt.date(2026, 3, 3)
AT = dt.datetime(2026, 3, 2, 20, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
KEY = {"ARREARS_AUDIT_KEY": "kept-in-a-vault-not-in-the-db"}
NO_KEY = {"ARREARS_AUDIT_KEY": None, "ARREARS_AUDIT_KEY_FILE": None}


def planned(n: int, prefix: str = "A") -> list[dict]:
    return [
        {
            "kind": "planned_action",
            "borrower_id": f"B{i}",
            "loan_id": f"L{i}",
            "action_id": f"{prefix}{i}",
            "decision": "allowed" if i % 2 else "blocked",
            "rules": ["hours", "frequency"],
            "payload": {"channel": "call", "note": "第一次", "amount_minor": 10_000 * i},
        }
        for i in range(1, n + 1)
    ]


@pytest.fixture
def filled(engine):
    """CN: 5 rows on DAY (written in two batches) and 2 on NEXT; US-CA: 3 on DAY (from a frame)."""
    with engine.begin() as conn:
        log.append(conn, "CN", DAY, planned(2), recorded_at=AT)
        log.append(conn, "CN", DAY, planned(3, "X"), recorded_at=AT)
        log.append(
            conn,
            "US-CA",
            DAY,
            pl.DataFrame(
                {"kind": ["screened_count", "policy_check", "executed_contact"],
                 "decision": [None, "allowed", "done"],
                 "loan_id": [None, "L9", "L9"]}
            ),
            recorded_at=AT,
        )
        log.append(conn, "CN", NEXT, planned(2), recorded_at=AT + dt.timedelta(days=1))
    return engine


def rows(engine, partition="CN", day=DAY) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(audit_log)
                .where(audit_log.c.partition == partition, audit_log.c.day == day)
                .order_by(audit_log.c.seq)
            ).mappings()
        ]


def where(partition="CN", day=DAY, seq=None):
    cond = [audit_log.c.partition == partition, audit_log.c.day == day]
    if seq is not None:
        cond.append(audit_log.c.seq == seq)
    return cond


def verify(cli, db_url, *args, env=None):
    return cli("audit", "verify", *args, db=db_url, env=env or NO_KEY)


def seal(cli, db_url, path, env=None, day=DAY):
    r = cli("audit", "seal", "--date", day.isoformat(), "--out", path, db=db_url, env=env or NO_KEY)
    assert r.exit_code == 0, r.output
    return r


def test_append_and_verify_clean(filled, db_url, cli):
    cn = rows(filled)
    assert [r["seq"] for r in cn] == [1, 2, 3, 4, 5]
    assert cn[0]["prev_hash"] == GENESIS
    assert [r["action_id"] for r in cn] == ["A1", "A2", "X1", "X2", "X3"]
    assert all(r["prev_hash"] == p["row_hash"] for p, r in zip(cn, cn[1:]))
    assert json.loads(cn[0]["payload"])["note"] == "第一次"
    r = verify(cli, db_url)
    assert r.exit_code == 0, r.output
    assert "audit log verified: 3 segments, 10 rows" in r.output


def test_an_edited_row_is_named(filled, db_url, cli):
    with filled.begin() as conn:
        conn.execute(update(audit_log).where(*where(seq=3)).values(payload='{"amount_minor":1}'))
    r = verify(cli, db_url)
    assert r.exit_code == 3, r.output
    assert "edited: partition CN, day 2026-03-02, seq 3" in r.output
    assert "TAMPERED: 1 problems" in r.output


def test_a_deleted_row_is_named(filled, db_url, cli):
    with filled.begin() as conn:
        conn.execute(delete(audit_log).where(*where(seq=3)))
    r = verify(cli, db_url)
    assert r.exit_code == 3, r.output
    assert "deleted: partition CN, day 2026-03-02, seq 3: seq 3 missing" in r.output
    assert "TAMPERED: 1 problems" in r.output


def test_reordered_rows_are_named(filled, db_url, cli):
    with filled.begin() as conn:
        conn.execute(update(audit_log).where(*where(seq=2)).values(seq=1000))
        conn.execute(update(audit_log).where(*where(seq=3)).values(seq=2))
        conn.execute(update(audit_log).where(*where(seq=1000)).values(seq=3))
    r = verify(cli, db_url)
    assert r.exit_code == 3, r.output
    assert "reordered: partition CN, day 2026-03-02, seq 2" in r.output
    assert "reordered: partition CN, day 2026-03-02, seq 3" in r.output
    assert "edited" not in r.output and "deleted" not in r.output


def test_a_truncated_tail_is_caught_against_the_exported_seal(filled, db_url, cli, tmp_path):
    # A long path: each problem stays on one line however long it is (tools parse these lines).
    out = tmp_path / ("exported-seals-kept-outside-the-database-" * 3) / "seal-2026-03-02.json"
    out.parent.mkdir()
    seal(cli, db_url, out)
    with filled.begin() as conn:
        conn.execute(delete(audit_log).where(*where(), audit_log.c.seq >= 4))
    # The database's own seal row still records 5 rows.
    r = verify(cli, db_url)
    assert r.exit_code == 3, r.output
    assert "truncated: partition CN, day 2026-03-02, seq 4: seqs 4-5 missing: the database's seal" in r.output
    # An attacker who also rewrites the seal row is still caught by the exported seal.
    tail = rows(filled)[-1]
    with filled.begin() as conn:
        conn.execute(
            update(audit_seals)
            .where(audit_seals.c.partition == "CN", audit_seals.c.day == DAY)
            .values(row_count=3, root_hash=tail["row_hash"])
        )
    assert verify(cli, db_url).exit_code == 0
    r = verify(cli, db_url, "--seals", out.parent)
    assert r.exit_code == 3, r.output
    assert f"truncated: partition CN, day 2026-03-02, seq 4: seqs 4-5 missing: the seal in {out}" in r.output


def _rechain_after_edit(engine) -> None:
    """What an attacker with database access does: edit a row, recompute every hash after it, and
    rewrite the database's seal row to the new root."""
    original = rows(engine)
    prev = GENESIS
    with engine.begin() as conn:
        for r in original:
            if r["seq"] == 2:
                r["decision"] = "allowed"
            r["prev_hash"] = prev
            r["row_hash"] = prev = row_hash(prev, r)
            conn.execute(
                update(audit_log)
                .where(*where(seq=r["seq"]))
                .values(decision=r["decision"], prev_hash=r["prev_hash"], row_hash=r["row_hash"])
            )
        conn.execute(
            update(audit_seals)
            .where(audit_seals.c.partition == "CN", audit_seals.c.day == DAY)
            .values(root_hash=prev)
        )


def test_a_recomputed_chain_is_caught_by_the_hmac_seal(filled, db_url, cli, tmp_path):
    seal(cli, db_url, tmp_path / "seal.json", env=KEY)
    assert verify(cli, db_url, env=KEY).exit_code == 0
    _rechain_after_edit(filled)
    r = verify(cli, db_url, env=KEY)
    assert r.exit_code == 3, r.output
    assert "rechained: partition CN, day 2026-03-02: chain root does not match the database's seal's HMAC" in r.output
    assert "US-CA" not in r.output  # the other segments of the day are untouched
    # Without the key and without an exported seal nothing outside the database vouches for the
    # root: that is what the key and the exported seal are for.
    assert verify(cli, db_url).exit_code == 0
    # The exported seal alone catches it too.
    r = verify(cli, db_url, "--seals", tmp_path / "seal.json")
    assert r.exit_code == 3 and "rechained: partition CN, day 2026-03-02" in r.output


def test_a_recomputed_chain_is_caught_by_an_unkeyed_exported_seal(filled, db_url, cli, tmp_path):
    seal(cli, db_url, tmp_path / "seal.json")
    _rechain_after_edit(filled)
    r = verify(cli, db_url, "--seals", tmp_path / "seal.json")
    assert r.exit_code == 3, r.output
    assert "rechained: partition CN, day 2026-03-02: chain root differs from the seal in" in r.output


def test_sealing_exports_and_is_idempotent(filled, db_url, cli, tmp_path):
    r = seal(cli, db_url, tmp_path / "a.json", env=KEY)
    assert "sealed 2026-03-02: 2 segments, 8 rows" in r.output
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["keyed"] is True and doc["hmac_algorithm"] == "hmac-sha256"
    assert [(s["partition"], s["rows"]) for s in doc["segments"]] == [("CN", 5), ("US-CA", 3)]
    assert doc["segments"][0]["root"] == rows(filled)[-1]["row_hash"]
    assert all(len(s["hmac"]) == 64 for s in doc["segments"])
    # Again, even without the key: the same seal, byte for byte.
    seal(cli, db_url, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    with filled.connect() as conn:
        assert len(log.seals(conn)) == 2
    r = verify(cli, db_url, "--seals", tmp_path, env=KEY)
    assert r.exit_code == 0, r.output
    assert "6 seals checked" in r.output  # 2 in the database, 2 in each of a.json and b.json


def test_unkeyed_seal_says_so(filled, db_url, cli, tmp_path):
    r = seal(cli, db_url, tmp_path / "s.json")
    assert "no key configured" in r.output
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["keyed"] is False and doc["hmac_algorithm"] is None and "no key configured" in doc["note"]
    assert all(s["hmac"] is None for s in doc["segments"])


def test_a_sealed_day_takes_no_more_rows(filled, db_url, cli, tmp_path):
    seal(cli, db_url, tmp_path / "s.json")
    with filled.begin() as conn:
        with pytest.raises(SegmentSealed):
            log.append(conn, "CN", DAY, planned(1), recorded_at=AT)
        with pytest.raises(SegmentSealed):  # nor a new partition on that day
            log.append(conn, "GB", DAY, planned(1), recorded_at=AT)
        assert log.append(conn, "CN", NEXT, planned(1), recorded_at=AT) == 1
    # Rows forced in past the seal, around the refusal, are named.
    with filled.begin() as conn:
        forced = log.segments(conn, NEXT)
        extra = next(forced)[2][-1]
        conn.execute(audit_log.insert().values({**extra, "day": DAY, "seq": 6}))
    r = verify(cli, db_url, "--seals", tmp_path / "s.json")
    assert r.exit_code == 3
    assert "appended: partition CN, day 2026-03-02, seq 6" in r.output


def test_a_broken_chain_is_not_sealed(filled, db_url, cli, tmp_path):
    with filled.begin() as conn:
        conn.execute(delete(audit_log).where(*where(seq=2)))
    r = cli("audit", "seal", "--date", "2026-03-02", "--out", tmp_path / "s.json", db=db_url, env=NO_KEY)
    assert r.exit_code == 3, r.output
    assert "deleted: partition CN, day 2026-03-02, seq 2" in r.output
    assert not (tmp_path / "s.json").exists()
    with filled.connect() as conn, pytest.raises(ChainBroken):
        log.seal_day(conn, DAY, key=None, sealed_at=AT)


def test_purge_removes_whole_sealed_segments_and_keeps_their_seals(engine, db_url, cli, tmp_path):
    old, recent = dt.date(2020, 6, 1), dt.date(2025, 6, 1)
    with engine.begin() as conn:
        for day in (old, recent):
            log.append(conn, "CN", day, planned(3), recorded_at=AT)
            log.append(conn, "US-CA", day, planned(2), recorded_at=AT)
        log.append(conn, "CN", dt.date(2019, 1, 1), planned(1), recorded_at=AT)  # never sealed
    for day in (old, recent):
        seal(cli, db_url, tmp_path / f"seal-{day}.json", day=day)
    with engine.begin() as conn:
        gone = log.purge(conn, DAY, last_activity={"US-CA": dt.date(2024, 1, 1)})
    assert gone == [("CN", old)]  # US-CA: 3 years after 2024-01-01 have not passed
    assert rows(engine, "CN", old) == []
    assert len(rows(engine, "CN", dt.date(2019, 1, 1))) == 1  # unsealed: never purged
    assert len(rows(engine, "US-CA", old)) == 2
    with engine.connect() as conn:
        kept = {(s.partition, s.day): s for s in log.seals(conn)}
    assert len(kept) == 4 and kept[("CN", old)].purged_on == DAY and kept[("CN", old)].rows == 3
    r = verify(cli, db_url, "--seals", tmp_path)
    assert r.exit_code == 0, r.output
    # A "purge" of a segment still inside its retention is a deletion.
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(*where("CN", recent)))
        conn.execute(
            update(audit_seals)
            .where(audit_seals.c.partition == "CN", audit_seals.c.day == recent)
            .values(purged_on=DAY)
        )
    r = verify(cli, db_url, "--seals", tmp_path)
    assert r.exit_code == 3
    assert "deleted: partition CN, day 2025-06-01: segment purged on 2026-03-02, before its minimum retention" in r.output


def test_a_missing_segment_is_truncated(filled, db_url, cli, tmp_path):
    seal(cli, db_url, tmp_path / "s.json")
    with filled.begin() as conn:
        conn.execute(delete(audit_log).where(*where("US-CA")))
        conn.execute(delete(audit_seals).where(audit_seals.c.partition == "US-CA"))
    assert verify(cli, db_url).exit_code == 0
    r = verify(cli, db_url, "--seals", tmp_path / "s.json")
    assert r.exit_code == 3
    assert "truncated: partition US-CA, day 2026-03-02, seq 1: seqs 1-3 missing" in r.output


def test_verify_refuses_an_unreadable_seal_file(engine, db_url, cli, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    r = verify(cli, db_url, "--seals", tmp_path / "x.json")
    assert r.exit_code == 2 and "not an arrears audit seal" in r.output


def test_rows_of_the_old_format_in_the_database_still_verify(engine, db_url, cli, monkeypatch):
    """A segment begun before format 2 (its rows stored with ``format`` 1) and continued by today's
    bulk append verifies; an edit of an old row is named."""
    monkeypatch.setattr(log, "_BIG", 1)  # the large-append path (SQLite: a bigger page cache for it)
    with engine.begin() as conn:
        log.append(conn, "CN", DAY, planned(3), recorded_at=AT)
    prev = GENESIS
    with engine.begin() as conn:
        for r in rows(engine):  # rewrite them as the code before format 2 wrote them
            r["format"] = 1
            r["prev_hash"] = prev
            r["row_hash"] = prev = row_hash(prev, r)
            conn.execute(update(audit_log).where(*where(seq=r["seq"]))
                         .values(format=1, prev_hash=r["prev_hash"], row_hash=r["row_hash"]))
    frame = pl.DataFrame({"kind": ["policy_check"] * 2, "borrower_id": ["B1", None], "loan_id": ["L1", "L2"],
                          "action_id": ["P1", "P2"], "decision": ["allow", "block"], "rules": ["[]", '["CN-HOURS"]'],
                          "payload": ['{"explanation":"it\'s fine"}', "{}"]})
    with engine.begin() as conn:
        log.append_frame(conn, "CN", DAY, frame, recorded_at=AT)
        if conn.dialect.name == "sqlite":  # the connection's own cache size is given back
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
    stored = rows(engine)
    assert [r["format"] for r in stored] == [1, 1, 1, 2, 2]
    assert stored[3]["prev_hash"] == stored[2]["row_hash"]
    assert stored[3]["payload"] == '{"explanation":"it\'s fine"}' and stored[4]["borrower_id"] is None
    assert as_utc(stored[3]["recorded_at"]) == AT
    assert verify(cli, db_url).exit_code == 0
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(*where(seq=2)).values(decision="allowed!"))
    r = verify(cli, db_url)
    assert r.exit_code == 3 and "edited: partition CN, day 2026-03-02, seq 2" in r.output


def test_a_big_append_on_sqlite_is_staged_and_stores_what_the_row_by_row_path_stores(tmp_path, monkeypatch, cli):
    """Above ``store.bulk.REBUILD_INDEXES_FROM`` rows (lowered here), before the transaction has
    written, SQLite appends go through a staging file and one INSERT ... SELECT: the stored rows are
    the very rows the executemany path stores, continue an existing segment, and verify; an edit is named."""
    from arrears.store import bulk
    from arrears.store.db import make_engine, upgrade

    frame = pl.DataFrame({"kind": ["policy_check"] * 3, "borrower_id": ["B1", None, "B3"], "loan_id": ["L1", "L2", None],
                          "action_id": ["P1", "P2", "P3"], "decision": ["allow", "block", "block"],
                          "rules": ["[]", '["CN-HOURS"]', '["GB-FREQ","US-TIME"]'],
                          "payload": ['{"explanation":"it\'s fine"}', "{}", '{"note":"第一次"}']})
    stored = {}
    for threshold in (10**9, 1):
        monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", threshold)
        url = f"sqlite:///{tmp_path / f'audit-{threshold}.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            log.append(conn, "CN", DAY, planned(2), recorded_at=AT)  # a segment already begun
        with engine.begin() as conn:
            assert bulk.stageable(conn, 3) == (threshold == 1)
            assert log.append_frames(conn, DAY, [("CN", frame), ("GB", frame.head(2))], recorded_at=AT) == 5
        with engine.connect() as conn:
            stored[threshold] = conn.exec_driver_sql(
                "SELECT * FROM audit_log ORDER BY partition, day, seq").fetchall()
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'ix_audit_log_borrower'").scalar() == 1
        engine.dispose()
        assert verify(cli, url).exit_code == 0
        assert not list(tmp_path.glob("arrears-stage-*"))  # the staging file is gone after the commit
    assert stored[1] == stored[10**9] and len(stored[1]) == 7
    with make_engine(url).begin() as conn:
        conn.execute(update(audit_log).where(*where(partition="GB", seq=2)).values(payload="{}!"))
    r = verify(cli, url)
    assert r.exit_code == 3 and "edited: partition GB, day 2026-03-02, seq 2" in r.output


def test_a_staged_audit_append_leaves_foreign_keys_checked_for_the_rest_of_the_unit_of_work(tmp_path, monkeypatch):
    """The plan writes rows with foreign keys after its audit, in the same transaction: staging the
    audit (a table without foreign keys) must not switch SQLite's per-row check off."""
    import sqlalchemy

    from arrears.store import bulk
    from arrears.store import tables as t
    from arrears.store.db import make_engine, upgrade

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    upgrade(engine)
    frame = pl.DataFrame({"kind": ["policy_check"], "borrower_id": ["B1"], "loan_id": ["L1"], "action_id": ["P1"],
                          "decision": ["allow"], "rules": ["[]"], "payload": ["{}"]})
    with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as conn:
        assert bulk.stageable(conn, 1)
        log.append_frames(conn, DAY, [("CN", frame)], recorded_at=AT)
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.execute(t.contact_loans.insert().values(event_id="E1", loan_id="NO-SUCH-LOAN"))  # refused by its foreign keys
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar() == 0  # rolled back whole
    engine.dispose()


def test_a_streamed_append_takes_only_the_partitions_it_announced(engine):
    """Where each announced segment ends is read before the stream's first part is written (the
    copies then have the connection to themselves): a segment of another partition is refused,
    and nothing is left of the append."""
    frame = pl.DataFrame({"kind": ["policy_check"], "borrower_id": ["B1"], "loan_id": ["L1"], "action_id": ["P1"],
                          "decision": ["allow"], "rules": ["[]"], "payload": ["{}"]})
    with engine.begin() as conn:
        log.append(conn, "CN", DAY, planned(2), recorded_at=AT)
    with pytest.raises(ValueError, match="'GB' is not among the partitions announced"), engine.begin() as conn:
        log.append_frames(conn, DAY, iter([("CN", frame), ("GB", frame)]), recorded_at=AT, rows=2, partitions=["CN"])
    assert [r["seq"] for r in rows(engine)] == [1, 2] and rows(engine, "GB") == []
    with engine.begin() as conn:  # announced, CN's segment goes on where it ended
        assert log.append_frames(conn, DAY, iter([("CN", frame), ("GB", frame)]), recorded_at=AT, rows=2,
                                 partitions=["CN", "GB"]) == 2
    assert [r["seq"] for r in rows(engine)] == [1, 2, 3] and [r["seq"] for r in rows(engine, "GB")] == [1]
    assert rows(engine)[2]["prev_hash"] == rows(engine)[1]["row_hash"]
