"""Shared fixtures: a throwaway PostgreSQL cluster, a database URL on both backends, an engine, the CLI.

The PostgreSQL cluster is started once per session, and only when a test asks for it (the ``pg``
parameter of ``db_url``, or ``pg_cluster`` directly). It lives in a temporary directory, listens on a
unix socket only (no TCP), runs with fsync off, and is stopped and deleted at the end of the session.
``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as ``postgres`` via ``runuser``.

If the server cannot start, the PostgreSQL tests are skipped with the reason, unless the environment
sets ``ARREARS_REQUIRE_PG=1`` (CI does), in which case they fail with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis's per-example deadline (200 ms) measures the machine, not the code: on CI's two shared
# cores a pure example has been seen to exceed it. Correctness is what these tests assert.
settings.register_profile("arrears", deadline=None)
settings.load_profile("arrears")

PG_USER = "postgres"
PG_PORT = 5432


# --------------------------------------------------------------------------- PostgreSQL cluster


class PgUnavailable(Exception):
    """The throwaway PostgreSQL server could not be started; the message says why."""


@dataclass(frozen=True)
class PgCluster:
    bindir: Path
    base: Path  # temp dir holding data/, sock/ and the server log
    host: str  # the unix socket directory
    port: int = PG_PORT

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@/{dbname}?host={self.host}&port={self.port}"

    def connect(self, dbname: str = "postgres", **kwargs: Any):
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=PG_USER, dbname=dbname, **kwargs
        )


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_bindir() -> Path:
    """Where initdb/pg_ctl live: pg_config --bindir, then /usr/lib/postgresql/*/bin, then PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass

    def version_key(p: str) -> tuple[int, str]:
        ver = Path(p).parent.name
        return (int(ver), ver) if ver.isdigit() else (-1, ver)

    candidates += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: tried pg_config --bindir, "
        "/usr/lib/postgresql/*/bin and PATH (on Debian: apt-get install -y postgresql)"
    )


def _run_as_pg(cmd: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a server command, as ``postgres`` via runuser when we are root, else as ourselves."""
    if _is_root():
        runuser = shutil.which("runuser")
        if not runuser:
            raise PgUnavailable(
                "running as root but `runuser` is not available to drop to postgres"
            )
        cmd = [runuser, "-u", PG_USER, "--", *cmd]
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise PgUnavailable(f"`{' '.join(cmd)}` timed out after {timeout:.0f}s") from exc
    except OSError as exc:
        raise PgUnavailable(f"`{' '.join(cmd)}` could not run: {exc}") from exc
    if proc.returncode != 0:
        raise PgUnavailable(
            f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}".rstrip()
        )
    return proc


def _server_log(base: Path) -> str:
    try:
        return (base / "server.log").read_text(errors="replace")[-3000:]
    except OSError:
        return ""


def _start_cluster(base: Path, bindir: Path) -> PgCluster:
    if _is_root():
        try:
            pw = pwd.getpwnam(PG_USER)
        except KeyError as exc:
            raise PgUnavailable(
                f"running as root and there is no `{PG_USER}` user to run the server as"
            ) from exc
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data, sock = base / "data", base / "sock"
    _run_as_pg(["mkdir", "-m", "0700", str(sock)], cwd=base)
    _run_as_pg(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            PG_USER,
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ],
        cwd=base,
    )
    # Written by us (root or the same user) into a file postgres owns: append only, keep the mode.
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# arrears test cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{sock}'\n"
            f"port = {PG_PORT}\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 50\n"
        )
    cluster = PgCluster(bindir=bindir, base=base, host=str(sock))
    try:
        _run_as_pg(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            cwd=base,
            timeout=90,
        )
    except PgUnavailable as exc:
        raise PgUnavailable(f"{exc}\n--- server log ---\n{_server_log(base)}") from exc
    return cluster


def _stop_cluster(base: Path, bindir: Path | None) -> None:
    data = base / "data"
    if bindir is not None and (data / "postmaster.pid").exists():
        try:
            _run_as_pg(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                cwd=base,
                timeout=60,
            )
        except PgUnavailable as exc:  # pragma: no cover - best effort at teardown
            print(f"warning: could not stop the test PostgreSQL cluster: {exc}")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster for the whole session (socket only, superuser ``postgres``)."""
    # Not tmp_path_factory: its directories are 0700 and owned by root, which postgres cannot enter.
    base = Path(tempfile.mkdtemp(prefix="arrears-pg-"))
    bindir: Path | None = None
    try:
        reason = None
        try:
            bindir = _pg_bindir()
            cluster = _start_cluster(base, bindir)
        except PgUnavailable as exc:
            reason = f"PostgreSQL test server unavailable: {exc}"
        if reason is not None:  # outside the except block: no chained traceback in the report
            if os.environ.get("ARREARS_REQUIRE_PG") == "1":
                pytest.fail(
                    f"{reason}\n(ARREARS_REQUIRE_PG=1, so this is a failure)", pytrace=False
                )
            pytest.skip(reason)
        yield cluster
    finally:
        _stop_cluster(base, bindir)


# --------------------------------------------------------------------------- database URLs, engines


@contextmanager
def _fresh_pg_database(cluster: PgCluster) -> Iterator[str]:
    """A new, empty database in the session cluster, dropped afterwards."""
    dbname = f"t_{uuid.uuid4().hex}"
    with cluster.connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield cluster.url(dbname)
    finally:
        with cluster.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("pg", id="pg", marks=pytest.mark.pg),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh database in the session cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arrears.db'}"
        return
    with _fresh_pg_database(request.getfixturevalue("pg_cluster")) as url:
        yield url


@pytest.fixture
def second_db_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend as ``db_url`` (to compare two runs)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    with _fresh_pg_database(request.getfixturevalue("pg_cluster")) as url:
        yield url


@pytest.fixture
def engine(db_url: str):
    """An engine on ``db_url`` with the schema upgraded to head."""
    from arrears.store.db import make_engine, upgrade

    eng = make_engine(db_url)
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run the CLI in-process: ``cli("import", "loans", path, db=db_url)``.

    Returns typer's ``Result``: ``.exit_code``, ``.output`` (stdout and stderr interleaved, as a
    user would see them), ``.stdout``, ``.stderr``, ``.exception``. ``--db URL`` goes before the
    subcommand when ``db`` is given. Extra keyword arguments go to ``CliRunner.invoke`` (``input=``,
    ``env=``, ``catch_exceptions=``).
    """
    from typer.testing import CliRunner

    # typer >= 0.2x ships its own CliRunner (no click dependency): ``output`` already mixes stdout
    # and stderr, ``stderr`` is also kept separately. There is no ``mix_stderr`` argument.
    runner = CliRunner()

    def run(*args: Any, db: str | None = None, **kwargs: Any):
        from arrears.cli import app  # imported lazily: the CLI may not exist when fixtures load

        argv = [str(a) for a in args]
        if db is not None:
            argv = ["--db", db, *argv]
        return runner.invoke(app, argv, **kwargs)

    return run
