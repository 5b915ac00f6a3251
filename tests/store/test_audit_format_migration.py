"""Migration 0011 adds `audit_log.format`: rows stored before it (hashed as format 1) keep verifying
after the upgrade, and rows appended after it continue their chains, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl
import pytest
from alembic import command
from sqlalchemy import select

from arrears.audit import log
from arrears.audit.chain import GENESIS
from arrears.store import tables as t
from arrears.store.db import _config, make_engine, upgrade

DAY = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture
def at_0010(db_url):
    eng = make_engine(db_url)
    with eng.begin() as conn:
        command.upgrade(_config(conn), "0010")
    yield eng
    eng.dispose()


def _format_1(prev: str, row: dict) -> str:
    """The hash as the code before 0011 computed it (the audit README's format 1)."""
    fields = [row["partition"], row["day"].isoformat(), row["kind"], row["borrower_id"], row["loan_id"],
              row["action_id"], row["decision"], row["rules"], row["payload"], AT.isoformat(timespec="microseconds")]
    text = "arrears-audit-row/1\n" + prev + "\n" + json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_rows_stored_before_the_format_column_verify_after_the_upgrade(at_0010):
    prev, old = GENESIS, []
    for i in (1, 2, 3):
        row = {"partition": "CN", "day": DAY, "seq": i, "kind": "policy_check", "borrower_id": f"B{i}",
               "loan_id": None, "action_id": f"A{i}", "decision": "block", "rules": '["CN-HOURS"]',
               "payload": '{"explanation":"CN-HOURS: outside 08:00–21:00 local time"}', "recorded_at": AT,
               "prev_hash": prev}
        row["row_hash"] = prev = _format_1(prev, row)
        old.append(row)
    with at_0010.begin() as conn:  # only 0010's columns
        conn.execute(t.audit_log.insert(), old)
    upgrade(at_0010)
    frame = pl.DataFrame({"kind": ["policy_check"], "borrower_id": ["B4"], "loan_id": ["L4"], "action_id": ["A4"],
                          "decision": ["allow"], "rules": ["[]"], "payload": ["{}"]})
    with at_0010.begin() as conn:
        log.append_frame(conn, "CN", DAY, frame, recorded_at=AT)
    with at_0010.connect() as conn:
        stored = conn.execute(select(t.audit_log.c.seq, t.audit_log.c.format, t.audit_log.c.prev_hash)
                              .order_by(t.audit_log.c.seq)).all()
        assert [(s, f) for s, f, _ in stored] == [(1, 1), (2, 1), (3, 1), (4, 2)]
        assert stored[3].prev_hash == old[-1]["row_hash"]
        report = log.verify_log(conn)
    assert report.clean, [p.line() for p in report.problems]
    assert report.rows == 4
