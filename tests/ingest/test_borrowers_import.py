"""Borrowers import on both backends: identity fixed, contact details versioned by business date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from arrears.ingest.runner import import_file
from arrears.problems import BadInput
from arrears.store import tables as t
from tests.ingest.support import flat, problem_lines, snapshot, write_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
COLUMNS = (
    "borrower_id", "name", "phone", "email", "language", "jurisdiction", "timezone", "city",
    "country", "date_of_birth", "monthly_income", "monthly_income_currency",
    "email_is_employer_provided", "servicemember",
)


def borrower(borrower_id: str, **over: str) -> dict:
    row = {
        "borrower_id": borrower_id, "name": "王芳", "phone": "+8613800138000", "email": "",
        "language": "zh-CN", "jurisdiction": "CN", "timezone": "Asia/Shanghai", "city": "杭州",
        "country": "CN", "date_of_birth": "1991-04-12", "monthly_income": "8500.00",
        "monthly_income_currency": "CNY", "email_is_employer_provided": "false", "servicemember": "",
    }
    row.update(over)
    return row


def imp(engine, path: Path, day: dt.date):
    return import_file(engine, "borrowers", path, business_date=day, now=NOW)


def contacts(engine, borrower_id: str) -> list[tuple]:
    c = t.borrower_contacts.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.valid_from, c.phone, c.email)
            .where(c.borrower_id == borrower_id)
            .order_by(c.valid_from)
        ).all()
    return [(_d(v), p, e) for v, p, e in rows]


def _d(v) -> dt.date:
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


# --------------------------------------------------------------------------- versioned contacts


def test_changed_phone_on_a_later_date_keeps_the_old_number(engine, db_url, cli, tmp_path):
    first = write_csv(tmp_path / "b1.csv", [borrower("B001"), borrower("B002", name="李强", phone="+8613912345678")])
    later = write_csv(tmp_path / "b2.csv", [borrower("B001", phone="+8613800139999"), borrower("B002", name="李强", phone="+8613912345678")])

    r1 = cli("import", "borrowers", first, "--date", "2026-01-10", db=db_url)
    assert r1.exit_code == 0, r1.output
    r2 = cli("import", "borrowers", later, "--date", "2026-03-01", db=db_url)
    assert r2.exit_code == 0, r2.output

    assert contacts(engine, "B001") == [
        (dt.date(2026, 1, 10), "+8613800138000", None),
        (dt.date(2026, 3, 1), "+8613800139999", None),
    ]
    assert contacts(engine, "B002") == [(dt.date(2026, 1, 10), "+8613912345678", None)]
    with engine.connect() as conn:
        assert sorted(conn.execute(select(t.borrowers.c.borrower_id)).scalars()) == ["B001", "B002"]

    # Re-importing either file on its own date or later changes nothing further.
    before = snapshot(engine)
    assert cli("import", "borrowers", later, "--date", "2026-03-05", db=db_url).exit_code == 0
    assert cli("import", "borrowers", first, "--date", "2026-01-10", db=db_url).exit_code == 0
    assert snapshot(engine) == before


def test_a_second_contact_change_on_the_same_date_is_refused(engine, tmp_path):
    imp(engine, write_csv(tmp_path / "a.csv", [borrower("B001")]), dt.date(2026, 1, 10))
    before = snapshot(engine)
    with pytest.raises(BadInput) as e:
        imp(engine, write_csv(tmp_path / "b.csv", [borrower("B001", phone="+8613800139999")]), dt.date(2026, 1, 10))
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "borrower_id")]
    assert "later --date" in e.value.problems[0].message
    assert snapshot(engine) == before


# --------------------------------------------------------------------------- refusals


def test_identity_field_change_is_refused(engine, db_url, cli, tmp_path):
    imp(engine, write_csv(tmp_path / "a.csv", [borrower("B001"), borrower("B002")]), dt.date(2026, 1, 10))
    before = snapshot(engine)
    changed = write_csv(
        tmp_path / "b.csv",
        [borrower("B001"), borrower("B002", name="王芳芳", monthly_income="9000.00", phone="+8613800139999")],
    )

    result = cli("import", "borrowers", changed, "--date", "2026-02-01", db=db_url)

    assert result.exit_code == 2, result.output
    assert sorted(problem_lines(result.output)) == [(2, "monthly_income"), (2, "name")]
    text = flat(result.output)
    assert "borrower 'B002' already exists" in text
    assert "identity fields are fixed" in text
    assert snapshot(engine) == before  # the phone change in the same file did not land either


def test_missing_phone_and_email_bad_e164_and_bad_time_zone_are_all_refused(engine, db_url, cli, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        [
            borrower("B001"),
            borrower("B002", phone="", email=""),  # row 2
            borrower("B003", phone="13800138000"),  # row 3: no +
            borrower("B004", timezone="Asia/Beijing"),  # row 4
            borrower("B005", phone="", email="b5@example.cn"),  # row 5: fine, email only
            borrower("B006", phone="+86 138 0013 8000"),  # row 6: spaces
        ],
    )
    before = snapshot(engine)

    result = cli("import", "borrowers", path, "--date", "2026-01-10", db=db_url)

    assert result.exit_code == 2, result.output
    assert problem_lines(result.output) == [(2, "phone"), (3, "phone"), (4, "timezone"), (6, "phone")]
    text = flat(result.output)
    assert "a phone is required when no email is given" in text
    assert "'13800138000' is not an E.164 phone number" in text
    assert "'Asia/Beijing' is not an IANA time zone" in text
    assert snapshot(engine) == before


def test_same_file_twice_changes_nothing(engine, db_url, cli):
    first = cli("import", "borrowers", EXAMPLES / "borrowers.csv", "--date", "2026-01-01", db=db_url)
    assert first.exit_code == 0, first.output
    after = snapshot(engine)
    assert len(after["borrowers"]) == 5
    assert len(after["borrower_contacts"]) == 5
    assert len(after["imports"]) == 1

    second = cli("import", "borrowers", EXAMPLES / "borrowers.csv", "--date", "2026-02-01", db=db_url)
    assert second.exit_code == 0, second.output
    assert "0 added" in second.output
    assert snapshot(engine) == after


def test_booleans_and_income_are_stored_in_internal_form(engine):
    imp(engine, EXAMPLES / "borrowers.csv", dt.date(2026, 1, 1))
    with engine.connect() as conn:
        rows = {r.borrower_id: r for r in conn.execute(select(t.borrowers))}
    assert rows["B003"].email_is_employer_provided is False
    assert rows["B004"].servicemember is True
    assert rows["B001"].servicemember is None
    assert (rows["B001"].monthly_income_minor, rows["B001"].monthly_income_currency) == (850_000, "CNY")
    assert _d(rows["B001"].date_of_birth) == dt.date(1991, 4, 12)
