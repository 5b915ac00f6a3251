"""References import on both backends: address-book scrapes are refused; the rest is stored once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from arrears.ingest.runner import import_file
from arrears.store import tables as t
from tests.ingest.support import flat, problem_lines, snapshot, write_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = dt.date(2026, 1, 1)
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
COLUMNS = ("reference_id", "borrower_id", "name", "phone", "relation", "source", "consented_on")


def reference(reference_id: str, **over: str) -> dict:
    row = {
        "reference_id": reference_id, "borrower_id": "B001", "name": "王建国",
        "phone": "+8613700001111", "relation": "parent", "source": "borrower_provided",
        "consented_on": "2025-11-02",
    }
    row.update(over)
    return row


@pytest.fixture
def book(engine):
    import_file(engine, "borrowers", EXAMPLES / "borrowers.csv", business_date=DAY, now=NOW)
    return engine


def test_address_book_reference_is_refused_with_a_clear_message(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(
        tmp_path / "refs.csv",
        [reference("R001"), reference("R002", name="张三", phone="+8613700002222", relation="friend",
                                      source="address_book", consented_on="")],
    )

    result = cli("import", "references", path, db=db_url)

    assert result.exit_code == 2, result.output
    assert problem_lines(result.output) == [(2, "source")]
    text = flat(result.output)
    assert "address book" in text
    assert "never stored" in text
    assert snapshot(book) == before  # not even the valid R001


def test_unknown_borrower_is_refused(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(tmp_path / "refs.csv", [reference("R001"), reference("R002", borrower_id="B404")])

    result = cli("import", "references", path, db=db_url)

    assert result.exit_code == 2, result.output
    assert problem_lines(result.output) == [(2, "borrower_id")]
    assert "borrower 'B404' is not known" in flat(result.output)
    assert snapshot(book) == before


def test_bad_relation_source_and_phone_are_all_listed(book, db_url, cli, tmp_path):
    path = write_csv(
        tmp_path / "refs.csv",
        [reference("R001", relation="cousin"), reference("R002", source="crm"),
         reference("R003", phone="0086137"), reference("R004", borrower_id="B404")],
    )
    result = cli("import", "references", path, db=db_url)
    assert result.exit_code == 2
    assert problem_lines(result.output) == [(1, "relation"), (2, "source"), (3, "phone"), (4, "borrower_id")]


def test_valid_references_are_stored_once(book, db_url, cli):
    first = cli("import", "references", EXAMPLES / "references.csv", db=db_url)
    assert first.exit_code == 0, first.output
    with book.connect() as conn:
        rows = {r.reference_id: r for r in conn.execute(select(t.references))}
    assert set(rows) == {"R001", "R002"}
    r1 = rows["R001"]
    assert (r1.borrower_id, r1.name, r1.phone, r1.relation, r1.source) == (
        "B001", "王建国", "+8613700001111", "parent", "borrower_provided"
    )
    assert str(r1.consented_on)[:10] == "2025-11-02"
    assert rows["R002"].consented_on is None

    after = snapshot(book)
    second = cli("import", "references", EXAMPLES / "references.csv", db=db_url)
    assert second.exit_code == 0, second.output
    assert snapshot(book) == after


def test_changed_reference_is_refused(book, db_url, cli, tmp_path):
    import_file(book, "references", EXAMPLES / "references.csv", business_date=DAY, now=NOW)
    before = snapshot(book)
    path = write_csv(tmp_path / "refs.csv", [reference("R001", phone="+8613700009999")])
    result = cli("import", "references", path, db=db_url)
    assert result.exit_code == 2
    assert problem_lines(result.output) == [(1, "phone")]
    assert snapshot(book) == before
