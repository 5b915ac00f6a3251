"""Proves a real PostgreSQL server ran: CI sets ARREARS_REQUIRE_PG=1, so this cannot silently skip."""

import pytest


@pytest.mark.pg
def test_the_session_cluster_is_postgresql_15(pg_cluster):
    with pg_cluster.connect() as conn:
        version = conn.execute("select version()").fetchone()[0]
    assert "PostgreSQL 15" in version, version
