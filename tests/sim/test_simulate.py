"""``arrears simulate`` end to end: a world by file path, the same seed giving the same report byte
for byte, the refusal of a database that holds non-simulated data, and the report's figures."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from arrears.sim.report import cure_rate, roll_rates

TINY = str(Path(__file__).parent / "tiny_world.py") + ":TinyWorld"


def test_a_world_given_as_a_file_runs_through_the_platform(cli, tmp_path: Path):
    out = tmp_path / "report.json"
    r = cli("simulate", "--world", TINY, "--days", "60", "--out", out, "--workdir", tmp_path / "w")
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["days"] == 60 and report["strategy"] == "champion" and report["currency"] == "CNY"
    assert report["violations"] == 0
    # The real plan ran: calls and the CN pre-report notice were planned, and carried out.
    assert report["actions_by_type"].get("agent_call", 0) > 0 and report["actions_by_type"].get("letter", 0) > 0
    assert (tmp_path / "report.html").stat().st_size > 100_000  # Plotly inlined: it opens offline
    collected = report["collected"]["CNY"]
    assert report["net_collected"]["CNY"] != collected  # contacts cost something


def test_the_same_seed_gives_the_same_report_byte_for_byte(cli, tmp_path: Path):
    texts = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        r = cli("simulate", "--world", TINY, "--days", "40", "--seed", "7", "--out", out, "--workdir", tmp_path / f"w{i}")
        assert r.exit_code == 0, r.output
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]


def test_none_plans_nothing_and_collects_less_from_a_borrower_who_pays_only_when_called(cli, tmp_path: Path):
    reports = {}
    for strategy in ("none", "champion"):
        out = tmp_path / f"{strategy}.json"
        r = cli("simulate", "--world", TINY, "--days", "60", "--strategy", strategy, "--out", out,
                "--workdir", tmp_path / strategy)
        assert r.exit_code == 0, r.output
        reports[strategy] = json.loads(out.read_text(encoding="utf-8"))
    assert reports["none"]["actions_by_type"] == {}
    assert float(reports["champion"]["net_collected"]["CNY"]) > float(reports["none"]["net_collected"]["CNY"])


def _lender_database(cli, work: Path, tmp: Path) -> Path:
    """A work directory whose database holds a lender's own import (not a simulation's)."""
    work.mkdir()
    db = f"sqlite:///{work / 'simulation.db'}"
    assert cli("db", "upgrade", db=db).exit_code == 0
    (tmp / "b.csv").write_text("borrower_id,name,phone,language,jurisdiction\nX1,A,+8613800000009,zh-CN,CN\n")
    assert cli("import", "borrowers", tmp / "b.csv", "--date", "2026-01-01", db=db).exit_code == 0
    return work


def test_a_work_directory_holding_other_data_is_refused(cli, tmp_path: Path):
    work = _lender_database(cli, tmp_path / "w", tmp_path)
    r = cli("simulate", "--world", TINY, "--days", "5", "--workdir", work)
    assert r.exit_code == 1 and "holds data no simulation wrote" in r.output
    assert (work / "simulation.db").exists()


def test_roll_and_cure_rates_by_their_definitions():
    import datetime as dt

    d0 = dt.date(2026, 1, 1)
    day = lambda n: d0 + dt.timedelta(days=n)  # noqa: E731
    rows = []
    # L1: 1-29 for days 0..29, then 30-59 on day 30 (rolled). L2: 1-29 days 0..9, then cured.
    rows += [(day(i), "L1", "1-29") for i in range(30)] + [(day(30), "L1", "30-59")]
    rows += [(day(i), "L2", "1-29") for i in range(10)]
    a = pl.DataFrame(rows, orient="row", schema={"day": pl.Date, "loan_id": pl.String, "bucket": pl.String})
    assert roll_rates(a, day(30)) == {"1-29→30-59": 0.5}  # on day 0, 2 loans in 1-29; one is in 30-59 on day 30
    # Episodes begun after the first day: none here (both were already in arrears on day 0).
    assert cure_rate(a, d0, day(120)) is None
    # Both begin on day 1; L1 stays in arrears to the end, L2 leaves after 10 days.
    later = [(day(i + 1), "L1", "30-59") for i in range(30, 121)]
    b = pl.concat([a.with_columns(pl.col("day") + pl.duration(days=1)),
                   pl.DataFrame(later, orient="row", schema=a.schema)])
    assert cure_rate(b, d0, day(121)) == 0.5


def test_the_demo_refuses_a_database_holding_non_demo_data(cli, tmp_path: Path):
    work = _lender_database(cli, tmp_path / "demo", tmp_path)
    r = cli("demo", "--no-serve", "--workdir", work, "--loans", "200")
    assert r.exit_code == 1 and "holds data no simulation wrote" in r.output
