"""Adjustments import on both backends (ingest/adjustments.py): params checked strictly per type,
currency and loan checked against the book, the product's restructure limits enforced at the door.
A bad file exits 2, lists every problem as ``row N, column C`` and changes nothing; the same file
twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arrears.store import tables as t
from tests.ingest.test_loans_import import flat, imp, problem_lines, snapshot, write_csv

COLUMNS = ("adjustment_id", "loan_id", "type", "effective_on", "amount", "currency", "params", "approved_by")
BORROWERS = "borrower_id,name,phone,language,jurisdiction\nB1,王芳,+8613800138000,zh-CN,CN\n"
LOANS = ("loan_id,borrower_id,currency,principal,annual_rate,term,frequency,method,disbursed_on\n"
         "L1,B1,CNY,10000.00,0.18,12,monthly,annuity,2025-01-01\n")


def row(adjustment_id: str, type_: str, effective_on: str, params: dict | None = None, **over) -> dict:
    r = {"adjustment_id": adjustment_id, "loan_id": "L1", "type": type_, "effective_on": effective_on,
         "params": json.dumps(params) if params is not None else "", "approved_by": "u1"}
    r.update(over)
    return r


RESTRUCTURE = {"term": 12, "reason": "hardship"}


@pytest.fixture
def book(engine, tmp_path: Path):
    (tmp_path / "b.csv").write_text(BORROWERS, encoding="utf-8")
    (tmp_path / "l.csv").write_text(LOANS, encoding="utf-8")
    imp(engine, "borrowers", tmp_path / "b.csv")
    imp(engine, "loans", tmp_path / "l.csv")
    return engine


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.adjustments)).scalar()


def test_every_type_lands_and_a_reimport_changes_nothing(book, db_url, cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", [
        row("A1", "waive_penalty", "2025-03-01", amount="10.00", currency="CNY"),
        row("A2", "waive_interest", "2025-03-01"),
        row("A3", "waive_fees", "2025-03-01"),
        row("A4", "pause_start", "2025-03-02", {"reason": "breathing_space"}),
        row("A5", "pause_end", "2025-04-02"),
        row("A6", "settlement", "2025-05-01", {"pay_by": "2025-05-31"}, amount="5000.00", currency="CNY"),
        row("A7", "restructure", "2025-06-01", {**RESTRUCTURE, "arrears": {"penalty": "waive"}}),
        row("A8", "charge_off", "2025-07-01"),
        row("A9", "write_off", "2025-08-01"),
    ], COLUMNS)
    r = cli("import", "adjustments", path, "--date", "2025-08-01", db=db_url)
    assert r.exit_code == 0, r.output
    assert count(book) == 9
    before = snapshot(book)
    r = cli("import", "adjustments", path, "--date", "2025-08-02", db=db_url)
    assert r.exit_code == 0, r.output
    assert snapshot(book) == before


def test_bad_rows_are_all_listed_by_row_and_column_and_nothing_changes(book, db_url, cli, tmp_path):
    imp(book, "adjustments", write_csv(tmp_path / "ok.csv", [row("A0", "waive_fees", "2025-02-01")], COLUMNS))
    before = snapshot(book)
    path = write_csv(tmp_path / "bad.csv", [
        row("B1", "waive_fees", "2025-03-01"),                                        # 1 fine
        row("B2", "pause_start", "2025-03-01", {"reason": "dispute", "until": "x"}),  # 2 unknown key
        row("B3", "pause_start", "2025-03-01", {"reason": "holiday"}),                # 3 bad reason
        row("B4", "restructure", "2025-03-01", {"term": 12}),                         # 4 no reason
        row("B5", "restructure", "2025-03-01", RESTRUCTURE, approved_by=""),          # 5 no approver
        row("B6", "settlement", "2025-03-01", {"pay_by": "2025-03-31"}),              # 6 no amount
        row("B7", "settlement", "2025-03-01", {}, amount="100.00", currency="CNY"),   # 7 no pay_by
        row("B8", "waive_penalty", "2025-03-01", amount="10.00", currency="USD"),     # 8 currency
        row("B9", "waive_penalty", "2025-03-01", loan_id="L9"),                       # 9 unknown loan
    ], COLUMNS)
    r = cli("import", "adjustments", path, "--date", "2025-03-01", db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(2, "params"), (3, "params"), (4, "params"), (5, "approved_by"),
                                       (6, "amount"), (7, "params"), (8, "currency"), (9, "loan_id")], r.output
    text = flat(r.output)
    assert "unknown key 'until' for pause_start" in text
    assert "reason must be one of" in text
    assert "a restructure records its reason" in text
    assert "a restructure needs approved_by" in text
    assert "a settlement needs the agreed amount" in text
    assert "pay_by None is not a date" in text
    assert "'USD' is not the loan's currency (CNY)" in text
    assert "loan 'L9' is not known" in text
    assert snapshot(book) == before


def test_a_changed_adjustment_is_refused(book, db_url, cli, tmp_path):
    imp(book, "adjustments", write_csv(tmp_path / "a.csv", [row("A1", "waive_fees", "2025-02-01")], COLUMNS))
    before = snapshot(book)
    path = write_csv(tmp_path / "b.csv", [row("A1", "waive_fees", "2025-02-02")], COLUMNS)
    r = cli("import", "adjustments", path, db=db_url)
    assert r.exit_code == 2 and snapshot(book) == before


def test_restructure_limits_per_12_months_and_per_5_years(book, db_url, cli, tmp_path):
    # Product default: at most 1 in 12 months, 2 in 5 years.
    first = write_csv(tmp_path / "r1.csv", [row("R1", "restructure", "2025-03-01", RESTRUCTURE)], COLUMNS)
    assert cli("import", "adjustments", first, db=db_url).exit_code == 0
    before = snapshot(book)
    # A second within 12 months: 2026-02-28 - 12 months = 2025-02-28, before 2025-03-01: refused.
    soon = write_csv(tmp_path / "r2.csv", [row("R2", "restructure", "2026-02-28", RESTRUCTURE)], COLUMNS)
    r = cli("import", "adjustments", soon, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(1, "type")]
    assert "restructured within 12 months" in flat(r.output)
    assert snapshot(book) == before
    # 2026-03-01 - 12 months = 2025-03-01: the first is no longer *after* it, so it is allowed.
    second = write_csv(tmp_path / "r3.csv", [row("R3", "restructure", "2026-03-01", RESTRUCTURE)], COLUMNS)
    r = cli("import", "adjustments", second, db=db_url)
    assert r.exit_code == 0, r.output
    before = snapshot(book)
    # A third within 5 years of the first, 2 years on: refused.
    third = write_csv(tmp_path / "r4.csv", [row("R4", "restructure", "2028-03-01", RESTRUCTURE)], COLUMNS)
    r = cli("import", "adjustments", third, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(1, "type")]
    assert "restructured 2 times in 5 years" in flat(r.output)
    assert snapshot(book) == before
    assert count(book) == 2


def test_two_restructures_in_one_file_within_12_months_are_refused(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(tmp_path / "r.csv", [row("R1", "restructure", "2025-03-01", RESTRUCTURE),
                                          row("R2", "restructure", "2025-09-01", RESTRUCTURE)], COLUMNS)
    r = cli("import", "adjustments", path, db=db_url)
    assert r.exit_code == 2 and problem_lines(r.output) == [(2, "type")], r.output
    assert snapshot(book) == before
