"""bulk.insert_frames_referring: foreign keys checked once per referred key (PostgreSQL), rows as inserted."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError

from arrears.store.bulk import MissingReference, _setwise_references, insert_frames_referring

md = MetaData()
parent = Table("ref_parent", md, Column("k", String(16), primary_key=True))
child = Table("ref_child", md, Column("id", Integer, primary_key=True),
              Column("k", String(16), ForeignKey("ref_parent.k"), nullable=False))
other = Table("ref_other", md, Column("k", String(16), ForeignKey("ref_parent.k"), primary_key=True),
              Column("v", Integer, nullable=False))


@pytest.fixture
def tables(engine):
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(parent.insert(), [{"k": k} for k in ("a", "b", "c")])
    return engine


def _child(ids, keys):
    return pl.DataFrame({"id": ids, "k": keys}, schema={"id": pl.Int64, "k": pl.String})


def test_rows_written_and_the_check_set_wise_on_postgresql(tables):
    with tables.begin() as conn:
        assert _setwise_references(conn, [child, other]) == (conn.dialect.name == "postgresql")
        insert_frames_referring(conn, [(child, _child([1, 2, 3, 4], ["a", "b", "a", "c"])),
                                       (other, pl.DataFrame({"k": ["c"], "v": [7]}))])
        if conn.dialect.name == "postgresql":
            # Switched back for the rest of the transaction: a later bad row is refused by the key.
            assert conn.exec_driver_sql("SHOW session_replication_role").scalar_one() == "origin"
    with tables.connect() as conn:
        assert sorted(conn.execute(select(child.c.id, child.c.k)).all()) == [(1, "a"), (2, "b"), (3, "a"), (4, "c")]
        assert conn.execute(select(other.c.k, other.c.v)).all() == [("c", 7)]


def test_a_missing_reference_is_named_and_nothing_is_written(tables):
    with pytest.raises((MissingReference, IntegrityError)) as caught:
        with tables.begin() as conn:
            insert_frames_referring(conn, [(other, pl.DataFrame({"k": ["a"], "v": [1]})),
                                           (child, _child([1, 2, 3], ["a", "zz", "b"]))])
    if tables.dialect.name == "postgresql":
        e = caught.value
        assert isinstance(e, MissingReference)
        assert (e.table, e.column, e.value, e.referred) == ("ref_child", "k", "zz", "ref_parent")
    with tables.connect() as conn:
        assert conn.execute(select(child.c.id)).all() == []
        assert conn.execute(select(other.c.k)).all() == []


def test_a_table_with_a_trigger_of_its_own_keeps_the_row_checks(tables):
    if tables.dialect.name != "postgresql":
        pytest.skip("triggers: PostgreSQL")
    with tables.begin() as conn:
        conn.exec_driver_sql("CREATE FUNCTION ref_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'")
        conn.exec_driver_sql("CREATE TRIGGER ref_t BEFORE INSERT ON ref_child FOR EACH ROW EXECUTE FUNCTION ref_noop()")
        assert not _setwise_references(conn, [child])
    # Refused by the key's own row check (COPY raises the driver's error).
    with pytest.raises(Exception, match="violates foreign key constraint"):
        with tables.begin() as conn:
            insert_frames_referring(conn, [(child, _child([1], ["zz"]))])
