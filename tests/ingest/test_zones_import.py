"""Candidate time zones are resolved at import and stored, on both backends (policy/zones.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from arrears.ingest.runner import import_file
from arrears.store import tables as t
from tests.ingest.support import snapshot, write_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 1, 10)
COLUMNS = (
    "borrower_id", "name", "phone", "email", "language", "jurisdiction", "timezone", "region",
    "country",
)


def borrower(borrower_id: str, **over: str) -> dict:
    row = {
        "borrower_id": borrower_id, "name": "Ann Lee", "phone": "", "email": "ann@example.com",
        "language": "en-US", "jurisdiction": "US-FL", "timezone": "", "region": "", "country": "",
    }
    row.update(over)
    return row


def imp(engine, kind: str, path: Path, day: dt.date = DAY):
    return import_file(engine, kind, path, business_date=day, now=NOW)


def contact_zones(engine) -> dict[tuple[str, str], str | None]:
    c = t.borrower_contacts.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.borrower_id, c.valid_from, c.zones)).all()
    return {(b, str(v)[:10]): z for b, v, z in rows}


def reference_zones(engine) -> dict[str, str | None]:
    r = t.references.c
    with engine.connect() as conn:
        return dict(conn.execute(select(r.reference_id, r.zones)).all())


def test_each_contact_version_stores_its_zones(engine, tmp_path):
    rows = [
        borrower("B001", timezone="America/Phoenix", region="FL", country="US"),  # explicit wins
        borrower("B002", region="FL", country="US"),  # Florida spans two zones
        borrower("B003", region="California", country="US", phone="+12125550123", jurisdiction="US-CA"),
        borrower("B004", jurisdiction="US-TX"),  # nothing known but the jurisdiction
        borrower("B005", phone="+8613800138000", jurisdiction="CN", language="zh-CN"),
        borrower("B006", country="US", jurisdiction="US-FL"),  # the jurisdiction gives the region
    ]
    imp(engine, "borrowers", write_csv(tmp_path / "b.csv", rows, COLUMNS))

    assert contact_zones(engine) == {
        ("B001", "2026-01-10"): "America/Phoenix",
        ("B002", "2026-01-10"): "America/Chicago;America/New_York",
        ("B003", "2026-01-10"): "America/Los_Angeles;America/New_York",
        ("B004", "2026-01-10"): "America/Chicago;America/Denver",
        ("B005", "2026-01-10"): "Asia/Shanghai",
        ("B006", "2026-01-10"): "America/Chicago;America/New_York",
    }


def test_a_new_version_gets_its_own_zones_and_the_old_one_keeps_its(engine, tmp_path):
    imp(engine, "borrowers", write_csv(tmp_path / "a.csv", [borrower("B001", region="FL", country="US")], COLUMNS))
    moved = write_csv(tmp_path / "b.csv", [borrower("B001", region="Texas", country="US")], COLUMNS)
    imp(engine, "borrowers", moved, dt.date(2026, 3, 1))

    assert contact_zones(engine) == {
        ("B001", "2026-01-10"): "America/Chicago;America/New_York",
        ("B001", "2026-03-01"): "America/Chicago;America/Denver",
    }


def test_zones_are_derived_and_never_make_a_version_differ(engine, tmp_path):
    path = EXAMPLES / "borrowers.csv"
    imp(engine, "borrowers", path)
    assert contact_zones(engine) == {
        ("B001", "2026-01-10"): "Asia/Shanghai",
        ("B002", "2026-01-10"): "Asia/Shanghai",  # 四川 and a +86 mobile
        ("B003", "2026-01-10"): "America/New_York",
        ("B004", "2026-01-10"): "America/Los_Angeles",  # CA and a +1 310 number
        ("B005", "2026-01-10"): "Europe/London",
    }
    after = snapshot(engine)
    imp(engine, "borrowers", path, dt.date(2026, 2, 1))
    assert snapshot(engine) == after

    # Even stored zones that a later table would resolve differently do not make the same contact
    # details a new version.
    with engine.begin() as conn:
        conn.execute(update(t.borrower_contacts).values(zones="Etc/UTC"))
    changed = snapshot(engine)
    imp(engine, "borrowers", path, dt.date(2026, 3, 1))
    assert snapshot(engine) == changed


def test_references_store_their_phone_zones_else_the_borrower_jurisdiction(engine, tmp_path):
    imp(engine, "borrowers", EXAMPLES / "borrowers.csv")
    refs = write_csv(
        tmp_path / "r.csv",
        [
            {"reference_id": "R001", "borrower_id": "B001", "name": "王建国", "phone": "+8613700001111",
             "relation": "parent", "source": "borrower_provided"},
            # A New York number for a Californian borrower: the phone decides.
            {"reference_id": "R002", "borrower_id": "B004", "name": "Sam Carter", "phone": "+12125550123",
             "relation": "spouse", "source": "borrower_provided"},
            # A number phonenumbers cannot place (a reserved UK drama range): the borrower's
            # jurisdiction, US-CA.
            {"reference_id": "R003", "borrower_id": "B004", "name": "Pat Carter", "phone": "+447700900123",
             "relation": "friend", "source": "borrower_provided"},
        ],
        ("reference_id", "borrower_id", "name", "phone", "relation", "source", "consented_on"),
    )
    imp(engine, "references", refs)

    assert reference_zones(engine) == {
        "R001": "Asia/Shanghai",
        "R002": "America/New_York",
        "R003": "America/Los_Angeles",
    }
    after = snapshot(engine)
    imp(engine, "references", refs, dt.date(2026, 2, 1))
    assert snapshot(engine) == after
