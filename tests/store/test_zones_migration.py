"""Migration 0008 adds `zones` and fills it for rows stored before it, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect, select

from arrears.store import tables as t
from arrears.store.db import _config, make_engine, upgrade

NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def at_0007(db_url):
    """A database at revision 0007, before `zones` existed."""
    eng = make_engine(db_url)
    with eng.begin() as conn:
        command.upgrade(_config(conn), "0007")
    yield eng
    eng.dispose()


def _borrower(borrower_id: str, jurisdiction: str) -> dict:
    return {"borrower_id": borrower_id, "name": "x", "language": "en-US",
            "jurisdiction": jurisdiction, "recorded_at": NOW}


def _contact(borrower_id: str, valid_from: dt.date, **fields: str) -> dict:
    return {"borrower_id": borrower_id, "valid_from": valid_from, "recorded_at": NOW,
            **{c: fields.get(c) for c in ("phone", "timezone", "region", "country")}}


def _reference(reference_id: str, borrower_id: str, phone: str) -> dict:
    return {"reference_id": reference_id, "borrower_id": borrower_id, "name": "y", "phone": phone,
            "relation": "parent", "source": "borrower_provided", "recorded_at": NOW}


def _zone_columns(engine) -> dict[str, bool]:
    insp = inspect(engine)
    return {n: "zones" in {c["name"] for c in insp.get_columns(n)} for n in ("borrower_contacts", "references")}


def test_upgrade_fills_zones_of_existing_rows_and_downgrade_drops_them(at_0007):
    assert _zone_columns(at_0007) == {"borrower_contacts": False, "references": False}
    # Inserted naming 0007's columns only (the rows' keys), as a 0007 import would have.
    with at_0007.begin() as conn:
        conn.execute(t.borrowers.insert(), [_borrower("B1", "US-FL"), _borrower("B2", "CN"), _borrower("B3", "GB")])
        conn.execute(
            t.borrower_contacts.insert(),
            [
                _contact("B1", dt.date(2026, 1, 1)),
                _contact("B1", dt.date(2026, 2, 1), phone="+12125550123", region="TX", country="US"),
                _contact("B2", dt.date(2026, 1, 1), phone="+8613800138000"),
                _contact("B3", dt.date(2026, 1, 1), timezone="Europe/London"),
            ],
        )
        conn.execute(
            t.references.insert(),
            [_reference("R1", "B1", "+12125550123"), _reference("R2", "B2", "+447700900123")],
        )

    upgrade(at_0007)

    c, r = t.borrower_contacts.c, t.references.c
    with at_0007.connect() as conn:
        contacts = {(b, str(v)[:10]): z for b, v, z in conn.execute(select(c.borrower_id, c.valid_from, c.zones))}
        references = dict(conn.execute(select(r.reference_id, r.zones)).all())
    assert contacts == {
        ("B1", "2026-01-01"): "America/Chicago;America/New_York",  # nothing but US-FL
        ("B1", "2026-02-01"): "America/Chicago;America/Denver;America/New_York",  # Texas + a 212 number
        ("B2", "2026-01-01"): "Asia/Shanghai",
        ("B3", "2026-01-01"): "Europe/London",
    }
    assert references == {"R1": "America/New_York", "R2": "Asia/Shanghai;Asia/Urumqi"}  # R2: CN's zones

    with at_0007.begin() as conn:
        command.downgrade(_config(conn), "0007")
    assert _zone_columns(at_0007) == {"borrower_contacts": False, "references": False}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_upgrade_of_an_empty_book_adds_the_columns(at_0007):
    upgrade(at_0007)
    assert _zone_columns(at_0007) == {"borrower_contacts": True, "references": True}
