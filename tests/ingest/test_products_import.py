"""Products import (TOML) on both backends: a code, once stored, keeps its definition."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from arrears.ingest.runner import import_file
from arrears.store import tables as t
from tests.ingest.support import flat, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = dt.date(2026, 1, 1)
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)


def stored_products(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {c: json.loads(d) for c, d in conn.execute(select(t.products.c.code, t.products.c.definition))}


def test_products_are_imported_with_defaults_filled_in(engine, db_url, cli):
    result = cli("import", "products", EXAMPLES / "products.toml", db=db_url)
    assert result.exit_code == 0, result.output
    assert "3 rows read, 3 added" in result.output

    products = stored_products(engine)
    assert set(products) == {"cn_online", "us_consumer", "gb_consumer"}
    cn = products["cn_online"]
    assert (cn["calendar"], cn["business_day_rule"], cn["grace_days"], cn["cap"]) == (
        "CN", "next_business_day", 3, "cn_licensed_24"
    )
    assert cn["fees"] == [{"type": "late", "amount": "20.00", "max_per_period": 1, "max_total": "100.00"}]
    gb = products["gb_consumer"]
    assert gb["allocation"] == "component_major"
    assert gb["buckets"] == [1, 30, 60, 90, 120, 180]
    assert gb["prepayment"] == "hold_as_credit"
    assert gb["charge_off_dpd"] == 120
    assert len(snapshot(engine)["imports"]) == 1


def test_same_file_twice_changes_nothing(engine, db_url, cli):
    assert cli("import", "products", EXAMPLES / "products.toml", db=db_url).exit_code == 0
    before = snapshot(engine)
    second = cli("import", "products", EXAMPLES / "products.toml", db=db_url)
    assert second.exit_code == 0, second.output
    assert "0 added" in second.output
    assert snapshot(engine) == before


def test_an_equivalent_definition_written_differently_is_not_a_change(engine, tmp_path):
    import_file(engine, "products", EXAMPLES / "products.toml", business_date=DAY, now=NOW)
    before = snapshot(engine)
    # gb_consumer again, keys reordered and a default spelled out: the same product.
    path = tmp_path / "p.toml"
    path.write_text(
        '[products.gb_consumer]\nallocation = "component_major"\ngrace_days = 5\ncalendar = "GB"\n'
        'charge_off_dpd = 120\n',
        encoding="utf-8",
    )
    assert import_file(engine, "products", path, business_date=DAY, now=NOW).rows_added == 0
    assert snapshot(engine) == before


def test_redefining_an_existing_code_is_refused(engine, db_url, cli, tmp_path):
    assert cli("import", "products", EXAMPLES / "products.toml", db=db_url).exit_code == 0
    before = snapshot(engine)
    path = tmp_path / "p.toml"
    path.write_text(
        '[products.cn_online_v2]\ncalendar = "CN"\n\n'  # new and valid: must not land either
        '[products.gb_consumer]\ncalendar = "GB"\ngrace_days = 7\nallocation = "component_major"\n',
        encoding="utf-8",
    )

    result = cli("import", "products", path, db=db_url)

    assert result.exit_code == 2, result.output
    text = flat(result.output)
    assert "column products.gb_consumer: already exists with a different definition" in text
    assert "add a new code" in text
    assert snapshot(engine) == before


def test_default_cannot_be_redefined(engine, db_url, cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[products.default]\ngrace_days = 3\n\n[products.other]\ngrace_days = 1\n', encoding="utf-8")
    before = snapshot(engine)

    result = cli("import", "products", path, db=db_url)

    assert result.exit_code == 2, result.output
    assert "the default product is built in and cannot be redefined" in flat(result.output)
    assert snapshot(engine) == before


def test_invalid_products_file_lists_every_problem(engine, db_url, cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        '[products.a]\ngrace_day = 3\nallocation = "newest_first"\n\n[products.b]\nbuckets = [30, 1]\n',
        encoding="utf-8",
    )
    result = cli("import", "products", path, db=db_url)
    assert result.exit_code == 2
    text = flat(result.output)
    for where in ("a.grace_day", "a.allocation", "b.buckets"):
        assert f"column {where}:" in text
    assert stored_products(engine) == {}


def test_loans_with_an_unknown_product_are_refused(engine, db_url, cli, tmp_path):
    import_file(engine, "products", EXAMPLES / "products.toml", business_date=DAY, now=NOW)
    import_file(engine, "borrowers", EXAMPLES / "borrowers.csv", business_date=DAY, now=NOW)
    before = snapshot(engine)
    rows = list(csv.DictReader((EXAMPLES / "loans.csv").open(encoding="utf-8")))
    rows[3]["product"] = "us_payday"  # row 4
    path = tmp_path / "loans.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    result = cli("import", "loans", path, db=db_url)

    assert result.exit_code == 2, result.output
    assert "row 4, column product: product 'us_payday' is not known" in flat(result.output)
    assert snapshot(engine) == before


def test_loans_without_product_use_default(engine, tmp_path):
    import_file(engine, "borrowers", EXAMPLES / "borrowers.csv", business_date=DAY, now=NOW)
    path = tmp_path / "loans.csv"
    path.write_text(
        "loan_id,borrower_id,currency,principal,annual_rate,term,frequency,method,disbursed_on\n"
        "L1,B001,CNY,1000.00,0.12,3,monthly,annuity,2026-01-15\n",
        encoding="utf-8",
    )
    import_file(engine, "loans", path, business_date=DAY, now=NOW)
    s = t.schedule.c
    with engine.connect() as conn:
        assert conn.execute(select(t.loans.c.product)).scalar_one() == "default"
        rows = conn.execute(select(s.due_on, s.adjusted_due_on).order_by(s.n)).all()
    # 2026-03-15 is a Sunday: the default product has no business-day rule, so nothing moves.
    assert [(str(a)[:10], str(b)[:10]) for a, b in rows] == [
        ("2026-02-15", "2026-02-15"), ("2026-03-15", "2026-03-15"), ("2026-04-15", "2026-04-15")
    ]
