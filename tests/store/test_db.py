"""Schema creation and the schema-version guard, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from arrears.store.db import (
    SchemaError,
    current_revision,
    head_revision,
    make_engine,
    require_current,
    upgrade,
)
from arrears.store.tables import metadata


@pytest.fixture
def fresh(db_url):
    """An engine on an empty database (no schema yet)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _columns(engine) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def test_upgrade_creates_the_schema_and_records_head(fresh):
    assert upgrade(fresh) == head_revision()

    cols = _columns(fresh)
    assert "alembic_version" in cols
    for name, table in metadata.tables.items():
        assert name in cols, f"table {name} missing after upgrade"
        assert cols[name] == {c.name for c in table.columns}, f"columns of {name} differ"
    assert _revision(fresh) == head_revision()
    with fresh.connect() as conn:
        require_current(conn)  # does not raise


def test_upgrade_twice_is_a_no_op(fresh):
    upgrade(fresh)
    with fresh.begin() as conn:
        conn.execute(
            text(
                "insert into imports (kind, file_name, sha256, business_date, rows_in_file,"
                " rows_added, recorded_at) values ('loans', 'a.csv', :sha, '2026-01-31', 1, 1,"
                " '2026-01-31 12:00:00+00:00')"
            ),
            {"sha": "0" * 64},
        )
    before = _columns(fresh)

    assert upgrade(fresh) == head_revision()

    assert _columns(fresh) == before
    assert _revision(fresh) == head_revision()
    with fresh.connect() as conn:
        assert conn.execute(text("select count(*) from imports")).scalar_one() == 1
        versions = conn.execute(text("select version_num from alembic_version")).scalars().all()
    assert versions == [head_revision()]


def test_require_current_refuses_an_empty_database(fresh):
    with fresh.connect() as conn, pytest.raises(SchemaError, match="arrears db upgrade"):
        require_current(conn)


def test_upgrade_refuses_an_unknown_newer_revision_and_leaves_it_alone(fresh):
    upgrade(fresh)
    with fresh.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999_future'"))
    before = _columns(fresh)

    with pytest.raises(SchemaError, match="9999_future"):
        upgrade(fresh)

    assert _revision(fresh) == "9999_future"
    assert _columns(fresh) == before
    with fresh.connect() as conn, pytest.raises(SchemaError, match="upgrade arrears"):
        require_current(conn)


def test_a_bulk_insert_in_a_connection_the_caller_commits_is_kept(db_url):
    """``insert_frame`` writes through the driver (COPY on PostgreSQL): a caller using
    ``engine.connect()`` and ``conn.commit()`` must still find the rows afterwards."""
    import datetime as dt

    import polars as pl
    from sqlalchemy import func, select

    from arrears.store.bulk import insert_frame
    from arrears.store.db import make_engine, upgrade
    from arrears.store.tables import borrowers

    eng = make_engine(db_url)
    upgrade(eng)
    row = pl.DataFrame({"borrower_id": ["B1"], "name": ["王芳"], "language": ["zh-CN"], "jurisdiction": ["CN"],
                        "recorded_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)]})
    with eng.connect() as conn:
        insert_frame(conn, borrowers, row)
        conn.commit()
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(borrowers)).scalar_one() == 1
    eng.dispose()


def test_a_big_bulk_insert_that_fails_leaves_rows_and_indexes_as_they_were(db_url, monkeypatch):
    """``insert_frame_bulk`` as the transaction's first statement: it drops the table's secondary
    index, inserts, builds the index again; when the unit of work then fails, no row lands and the
    index is still there (on SQLite the DROP INDEX must not run outside the transaction)."""
    import datetime as dt

    import polars as pl
    from sqlalchemy import func, inspect, select

    from arrears.store import bulk
    from arrears.store.db import unit_of_work
    from arrears.store.tables import borrowers, loans

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    eng = make_engine(db_url)
    upgrade(eng)
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with eng.begin() as conn:
        bulk.insert_frame(conn, borrowers, pl.DataFrame({
            "borrower_id": ["B1"], "name": ["王芳"], "language": ["zh-CN"], "jurisdiction": ["CN"], "recorded_at": [at]}))
    day = dt.date(2026, 1, 15)
    frame = pl.DataFrame({
        "loan_id": ["L1", "L2", "L3"], "borrower_id": ["B1"] * 3, "product": ["default"] * 3,
        "currency": ["CNY"] * 3, "principal_minor": [100_000] * 3, "annual_rate_nano": [180_000_000] * 3,
        "term": [12] * 3, "frequency": ["monthly"] * 3, "method": ["annuity"] * 3, "disbursed_on": [day] * 3,
        "penalty_rate_daily_nano": [0] * 3, "contract_date": [day] * 3, "recorded_at": [at] * 3,
    })
    indexes = lambda: sorted(ix["name"] for ix in inspect(eng).get_indexes("loans"))  # noqa: E731
    assert indexes() == ["ix_loans_borrower"]
    with pytest.raises(RuntimeError), unit_of_work(eng) as conn:
        assert bulk.insert_frame_bulk(conn, loans, frame) == 3
        raise RuntimeError("the import fails after the bulk insert")
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(loans)).scalar_one() == 0
    assert indexes() == ["ix_loans_borrower"]
    with unit_of_work(eng) as conn:
        bulk.insert_frame_bulk(conn, loans, frame)
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(loans)).scalar_one() == 3
    assert indexes() == ["ix_loans_borrower"]
    eng.dispose()


def test_a_big_bulk_insert_still_refuses_a_row_whose_parent_is_missing(db_url, monkeypatch):
    """On PostgreSQL the bulk path drops the foreign key and adds it back after the load; adding
    it back validates every row, so a schedule row of an unknown loan still fails the transaction
    (and, on SQLite, the row-by-row check does), leaving the constraint in place."""
    import datetime as dt

    import polars as pl
    from sqlalchemy import func, inspect, select
    from sqlalchemy.exc import IntegrityError

    from arrears.store import bulk
    from arrears.store.db import unit_of_work
    from arrears.store.tables import schedule

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    eng = make_engine(db_url)
    upgrade(eng)
    day = dt.date(2026, 2, 15)
    rows = pl.DataFrame({"loan_id": ["NOPE"], "n": [1], "due_on": [day], "adjusted_due_on": [day],
                         "principal_minor": [100], "interest_minor": [1]})
    with pytest.raises(IntegrityError), unit_of_work(eng) as conn:
        bulk.insert_frame_bulk(conn, schedule, rows)
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schedule)).scalar_one() == 0
    assert [fk["referred_table"] for fk in inspect(eng).get_foreign_keys("schedule")] == ["loans"]
    assert [ix["name"] for ix in inspect(eng).get_indexes("schedule")] == ["ix_schedule_adjusted_due_on"]
    eng.dispose()


def test_constants_of_a_bulk_insert_read_back_as_if_bound_per_row(db_url):
    """``insert_frame(constants=...)``: on SQLite they are written into the statement; a quote in a
    value, a date, a timestamp and a NUL (which cannot be written, so it is bound) come back as given."""
    import datetime as dt

    import polars as pl
    from sqlalchemy import select

    from arrears.store.bulk import insert_frame
    from arrears.store.db import make_engine, upgrade
    from arrears.store.tables import audit_log

    eng = make_engine(db_url)
    upgrade(eng)
    at = dt.datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=dt.UTC)
    for partition in ("O'Brien", "nul\x00") if eng.dialect.name == "sqlite" else ("O'Brien",):
        frame = pl.DataFrame({"partition": [partition] * 2, "day": [dt.date(2026, 3, 2)] * 2, "seq": [1, 2],
                              "kind": ["policy_check"] * 2, "payload": ["{}", "{'x'}"], "recorded_at": [at] * 2,
                              "prev_hash": ["0" * 64] * 2, "row_hash": ["1" * 64, "2" * 64], "format": [2, 2]})
        with eng.begin() as conn:
            insert_frame(conn, audit_log, frame, constants={"partition": partition, "day": dt.date(2026, 3, 2),
                                                             "recorded_at": at, "format": 2})
        with eng.connect() as conn:
            got = conn.execute(select(audit_log).where(audit_log.c.partition == partition)
                               .order_by(audit_log.c.seq)).mappings().all()
        assert [(r["seq"], r["payload"], r["day"], r["format"]) for r in got] == [
            (1, "{}", dt.date(2026, 3, 2), 2), (2, "{'x'}", dt.date(2026, 3, 2), 2)]
        assert all((r["recorded_at"] if r["recorded_at"].tzinfo else r["recorded_at"].replace(tzinfo=dt.UTC)) == at
                   for r in got)
    eng.dispose()
