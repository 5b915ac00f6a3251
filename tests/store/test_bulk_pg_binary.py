"""PostgreSQL's binary COPY (``store.bulk.insert_frame``) stores what CSV would; the bulk load's
primary key, dropped and built again, still refuses duplicates."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.store import tables as t
from arrears.store.bulk import _pg_binary_layout, insert_frame, insert_frame_bulk, read_table
from arrears.store.db import make_engine

pytestmark = pytest.mark.pg

meta = sa.MetaData()
kinds = sa.Table(
    "binary_kinds", meta,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("small", sa.SmallInteger, nullable=False),
    sa.Column("int4", sa.Integer, nullable=False),
    sa.Column("int8", sa.BigInteger, nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
keyed = sa.Table(
    "keyed", meta,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),
    sa.PrimaryKeyConstraint("code", "n", name="pk_keyed"),
    sa.Index("ix_keyed_day", "day"),
)

rows = st.lists(
    st.tuples(
        st.text(alphabet="AaLé€0_9 ,\"'\n", min_size=0, max_size=12),
        st.integers(-(2**15), 2**15 - 1),
        st.integers(-(2**31), 2**31 - 1),
        st.integers(-(2**63), 2**63 - 1),
        st.booleans(),
        st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
        st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1), timezones=st.just(dt.timezone.utc)),
    ),
    min_size=1, max_size=40, unique_by=lambda r: r[0],
)
SCHEMA = {"code": pl.String, "small": pl.Int64, "int4": pl.Int64, "int8": pl.Int64, "flag": pl.Boolean,
          "day": pl.Date, "at": pl.Datetime("us", "UTC")}


@pytest.fixture(scope="module")
def pg(pg_cluster):
    from tests.conftest import _fresh_pg_database

    with _fresh_pg_database(pg_cluster) as url:
        eng = make_engine(url)
        meta.create_all(eng)
        yield eng
        eng.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_binary_copy_stores_every_value_as_given(pg, values):
    frame = pl.DataFrame(values, schema=SCHEMA, orient="row")
    assert _pg_binary_layout(kinds, frame) is not None  # the binary path, not CSV
    with pg.begin() as conn:
        conn.execute(kinds.delete())
        insert_frame(conn, kinds, frame)
        back = read_table(conn, kinds).sort("code")
    assert back.rows() == frame.select(back.columns).sort("code").rows()


def test_a_value_out_of_the_columns_range_fails_and_writes_nothing(pg):
    frame = pl.DataFrame([("x", 1, 2**31, 0, True, dt.date(2026, 1, 1),
                           dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))], schema=SCHEMA, orient="row")
    with pg.connect() as conn:
        conn.execute(kinds.delete())
        conn.commit()
        with pytest.raises(pl.exceptions.InvalidOperationError):
            insert_frame(conn, kinds, frame)
        conn.rollback()
        assert conn.execute(sa.select(sa.func.count()).select_from(kinds)).scalar_one() == 0


def test_nulls_or_two_texts_go_as_csv():
    frame = pl.DataFrame({"loan_id": ["a", None], "n": [1, 2]})
    assert _pg_binary_layout(t.schedule, frame) is None
    assert _pg_binary_layout(t.loans, pl.DataFrame({"loan_id": ["a"], "borrower_id": ["b"]})) is None
    assert _pg_binary_layout(t.schedule, pl.DataFrame({"loan_id": ["a"], "n": [1]})) == ([("n", ">i4")], "loan_id")


def test_the_bulk_loads_primary_key_is_built_again_and_refuses_duplicates(pg):
    from arrears.store.bulk import REBUILD_INDEXES_FROM

    n = REBUILD_INDEXES_FROM
    frame = pl.DataFrame({"code": [f"L{i:06d}" for i in range(n)], "n": [1] * n, "day": [dt.date(2026, 1, 1)] * n})
    with pg.connect() as conn:
        with pytest.raises(sa.exc.IntegrityError, match="pk_keyed"):
            insert_frame_bulk(conn, keyed, pl.concat([frame, frame.head(1)]))
        conn.rollback()
    with pg.begin() as conn:
        assert insert_frame_bulk(conn, keyed, frame) == n
    inspector = sa.inspect(pg)
    pk = inspector.get_pk_constraint("keyed")
    assert (pk["name"], pk["constrained_columns"]) == ("pk_keyed", ["code", "n"])
    assert [ix["name"] for ix in inspector.get_indexes("keyed")] == ["ix_keyed_day"]
    import psycopg

    with pg.connect() as conn, pytest.raises(psycopg.errors.UniqueViolation, match="pk_keyed"):
        insert_frame(conn, keyed, frame.head(1))  # COPY on the driver's connection: psycopg's error
