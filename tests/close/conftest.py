"""A small book for the close tests: a few loans disbursed at the start of 2026, some paid, some not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from arrears.store.db import make_engine, upgrade

BORROWERS = """borrower_id,name,phone,language,jurisdiction
B1,王芳,+8613800138000,zh-CN,CN
B2,李强,+8613912345678,zh-CN,CN
B3,Maria Lopez,+16175550123,en-US,US-MA
"""
LOANS = """loan_id,borrower_id,currency,principal,annual_rate,term,frequency,period_days,method,disbursed_on,first_due_on,penalty_rate_daily
L1,B1,CNY,10000.00,0.18,6,monthly,,annuity,2026-01-01,2026-01-10,0.0005
L2,B2,CNY,3000.00,0.20,4,weekly,,equal_principal,2026-01-01,,0.0005
L3,B3,USD,1500.00,0.12,1,days,14,bullet,2026-01-02,,0.0003
L4,B1,CNY,800.00,0.24,1,days,7,bullet,2026-01-05,,0.001
"""
PAYMENTS = """payment_id,loan_id,amount,currency,paid_on,method
P1,L1,1800.00,CNY,2026-01-10,wallet
P2,L2,700.00,CNY,2026-01-08,wallet
P3,L2,300.00,CNY,2026-01-20,wallet
P4,L3,1000.00,USD,2026-01-25,card
"""


def write_book(tmp: Path) -> Path:
    d = tmp / "book"
    d.mkdir(exist_ok=True)
    (d / "borrowers.csv").write_text(BORROWERS, encoding="utf-8")
    (d / "loans.csv").write_text(LOANS, encoding="utf-8")
    (d / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    return d


def run_cli(db: str, *args: str, env: dict | None = None, own_process: bool = False):
    """The CLI as an operator runs it. In this process by default (fast); in its own process when
    ``env`` is given or ``own_process`` is set (fault injection, SIGKILL)."""
    if env is None and not own_process:
        from typer.testing import CliRunner

        from arrears.cli import app

        r = CliRunner().invoke(app, ["--db", db, *args])
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            raise r.exception
        return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)
    return subprocess.run(
        [sys.executable, "-m", "arrears", "--db", db, *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300,
    )


def load(db: str, book: Path) -> None:
    engine = make_engine(db)
    upgrade(engine)
    engine.dispose()
    for kind in ("borrowers", "loans", "payments"):
        r = run_cli(db, "import", kind, str(book / f"{kind}.csv"), "--date", "2026-01-01")
        assert r.returncode == 0, r.stderr


VOLATILE = {"closed_at", "seconds", "recorded_at", "allocation_id"}
DERIVED = ("loan_state", "instalment_state", "allocations", "bucket_transitions", "movements", "portfolio_snapshots",
           "closed_days", "payments")


def dump(db: str, *, as_closed: bool = False) -> dict[str, list[tuple]]:
    """Every derived table, rows sorted, without wall-clock columns: two runs compare equal.

    ``as_closed``: each loan's state as of the last closed day. ``loan_state.as_of`` is the day the
    close last changed the row (a quiet loan is left alone), so two books that reached the same
    state by different paths (a backdated fact re-derived, or known from the start) may date the
    same row differently."""
    engine = make_engine(db)
    out = {}
    with engine.connect() as conn:
        last = conn.execute(text("SELECT MAX(day) FROM closed_days")).scalar()
        for table in DERIVED:
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            if as_closed and table == "loan_state":
                rows = [{**r, "as_of": last} for r in rows]
            out[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in r.items() if k not in VOLATILE)) for r in rows
            )
    engine.dispose()
    return out


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_book(tmp_path)
