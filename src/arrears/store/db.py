"""Engines, the schema version, and the unit of work.

The command owns the transaction: services take a connection and never commit; ``unit_of_work``
commits on success and rolls back on any error, which is what makes imports atomic.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

DEFAULT_URL = "sqlite:///arrears.db"
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(RuntimeError):
    """The database schema does not match this version of the code."""


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("ARREARS_DB") or DEFAULT_URL


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised through every sqlite test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    # The code's own head cannot change while it runs; reading the scripts costs ~30 ms, paid by
    # every unit of work otherwise (a simulated day opens a dozen).
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Create or migrate the schema to this code's head. Refuses a schema newer than the code."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    with engine.begin() as conn:
        current = current_revision(conn)
        if current is not None and not _known(scripts, current):
            raise SchemaError(
                f"the database is at schema revision {current}, which this version of arrears does "
                f"not know (newest known: {scripts.get_current_head()}); upgrade arrears instead"
            )
        command.upgrade(_config(conn), "head")
    return scripts.get_current_head()


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def require_current(connection: Connection) -> None:
    current, head = current_revision(connection), head_revision()
    if current != head:
        hint = "run `arrears db upgrade`" if current is None or _known(ScriptDirectory(str(MIGRATIONS)), current) else "upgrade arrears"
        raise SchemaError(f"database schema is {current or 'empty'}, this code needs {head}: {hint}")


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One transaction for one command: everything lands, or nothing does."""
    with engine.begin() as conn:
        require_current(conn)
        yield conn
