"""One close at a time, and a lock that dies with its process.

A row in a table would outlive a SIGKILLed close and refuse every later run; so SQLite books use
an OS file lock (``flock``) beside the database file, and PostgreSQL books a session advisory
lock, both released by the operating system or the server when the process dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

_PG_KEY = 0x41525245  # "ARRE"


class Busy(RuntimeError):
    pass


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar()
            conn.commit()
            if not got:
                raise Busy("another close-day is running on this database")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
                conn.commit()
        return
    database = engine.url.database
    path = f"{database}.close.lock" if database and database != ":memory:" else None
    if path is None:
        yield
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("another close-day is running on this database") from None
        yield
    finally:
        os.close(fd)
