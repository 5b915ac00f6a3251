"""A small book in arrears on 2026-03-01 for the plan tests: CN, GB and US borrowers, nothing paid.

Every loan was disbursed on 2026-01-01 with its first instalment due on 2026-01-10, so on the plan
date (2026-03-02) each is 50 days past due with two instalments missed and no contact ever made.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from arrears.store import tables as t

BORROWERS = """borrower_id,name,phone,language,jurisdiction,timezone
B1,王芳,+8613800138000,zh-CN,CN,Asia/Shanghai
B2,李强,+8613912345678,zh-CN,CN,Asia/Shanghai
B3,张伟,+8613700001111,zh-CN,CN,Asia/Shanghai
B4,Olivia Brown,+447700900123,en-GB,GB,Europe/London
B5,James Carter,+13105550187,en-US,US-CA,America/Los_Angeles
"""
LOANS = """loan_id,borrower_id,currency,principal,annual_rate,term,frequency,method,disbursed_on,first_due_on
L1a,B1,CNY,2000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L1b,B1,CNY,2000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L1c,B1,CNY,2000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L2,B2,CNY,10000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L3,B3,CNY,2500.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L4,B4,GBP,2000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
L5,B5,USD,3000.00,0.18,6,monthly,annuity,2026-01-01,2026-01-10
"""
AGENTS = """agent_id,team,languages,jurisdictions,daily_calls,daily_visits
ZH1,cn,zh-CN,CN,20,2
GB1,gb,en-GB,GB,20,0
US1,us,en-US,US-CA;US-NY,20,0
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def build(cli, tmp_path: Path):
    """``build(db, agents=AGENTS, through="2026-03-01", extra={kind: csv})``: the book imported and closed."""

    def run(db: str, *, agents: str = AGENTS, through: str = "2026-03-01", extra: dict | None = None) -> str:
        assert cli("db", "upgrade", db=db).exit_code == 0
        files = {"borrowers": BORROWERS, "loans": LOANS, "agents": agents, **(extra or {})}
        for kind, text in files.items():
            r = cli("import", kind, write(tmp_path, f"{kind}.csv", text), "--date", "2026-01-01", db=db)
            assert r.exit_code == 0, r.output
        r = cli("close-day", "--date", through, "--allow-future", db=db)
        assert r.exit_code == 0, r.output
        return db

    return run


def plan(cli, db: str, tmp: Path, day: str, *args: str) -> pl.DataFrame:
    out = tmp / f"plan-{day}.csv"
    r = cli("plan", "--date", day, "--out", out, *args, db=db)
    assert r.exit_code == 0, r.output
    return pl.read_csv(out, infer_schema=False)


def table(db: str, tbl) -> pl.DataFrame:
    from arrears.store.bulk import read_table
    from arrears.store.db import make_engine

    eng = make_engine(db)
    with eng.connect() as conn:
        rows = read_table(conn, tbl)
    eng.dispose()
    return rows


def plan_rows(db: str) -> pl.DataFrame:
    return table(db, t.plan_actions)
