"""``arrears plan`` end to end: one coordinated set per borrower, every row allowed and audited,
visits both ways, re-planning, refusals, capacity carried to the next day, promises, notices."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from arrears.store import tables as t
from tests.plan.conftest import plan, plan_rows, table, write

DAY = "2026-03-02"


def test_one_coordinated_set_per_borrower_every_row_allowed_and_audited(cli, build, db_url: str, tmp_path: Path):
    db = build(db_url)
    p = plan(cli, db, tmp_path, DAY)
    # B1 has three loans in arrears: one call about all three, not three calls.
    b1_calls = p.filter((pl.col("borrower_id") == "B1") & (pl.col("action") == "agent_call"))
    assert b1_calls.height == 1
    assert sorted(b1_calls["loan_ids"][0].split(";")) == ["L1a", "L1b", "L1c"]
    assert p.group_by("borrower_id", "action", "channel").len()["len"].max() == 1
    # Every row carries a window with an offset, a strategy, and a reason a person can read.
    assert p["window_start"].str.contains(r"T\d\d:\d\d:\d\d[+-]\d\d:\d\d$").all()
    assert p.filter(pl.col("borrower_id") == "B1")["window_start"][0] == "2026-03-02T09:00:00+08:00"
    assert set(p["strategy"]) == {"cn-champion", "gb-champion", "us-champion"}
    assert p["reason"].str.starts_with("DPD ").all()
    # Calls and visits are assigned to agents; every planned row passed the engine and is in the audit log.
    assert p.filter(pl.col("action").is_in(["agent_call", "field_visit"]))["assigned_to"].is_not_null().all()
    audit = table(db, t.audit_log).filter(pl.col("kind") == "planned_action")
    allowed = set(audit.filter(pl.col("decision") == "allow")["action_id"])
    assert set(p["action_id"]) <= allowed


def test_visits_both_ways(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'v.db'}")
    p = plan(cli, db, tmp_path, DAY)
    visits = set(p.filter(pl.col("action") == "field_visit")["borrower_id"])
    # B2 owes over CNY 10,000 and has never been reached in 50 days: a visit, with capacity free.
    assert "B2" in visits
    # B3 owes under CNY 3,000 (ARREARS-VISIT-MIN): no visit, though visit capacity is left over.
    assert "B3" not in visits and len(visits) < 2 + 1
    assert "agent_call" in set(p.filter(pl.col("borrower_id") == "B3")["action"])


def test_statutory_notices_are_planned_for_each_jurisdiction(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'n.db'}")
    p = plan(cli, db, tmp_path, DAY)
    notices = p.filter(pl.col("template_id").is_in(["cn_prereport_notice", "gb_nosia", "us_validation_notice"]))
    assert sorted(notices.select("borrower_id", "template_id").rows()) == [
        ("B1", "cn_prereport_notice"), ("B2", "cn_prereport_notice"), ("B3", "cn_prereport_notice"), ("B4", "gb_nosia")]
    # A third-party collector also sends the US validation notice (12 CFR 1006.34).
    third = plan(cli, db, tmp_path, DAY, "--collector-role", "third_party")
    assert "us_validation_notice" in set(third.filter(pl.col("borrower_id") == "B5")["template_id"])


def test_an_executed_notice_sets_its_flag_and_is_not_planned_again(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'f.db'}")
    p = plan(cli, db, tmp_path, DAY)
    nosia = p.filter(pl.col("template_id") == "gb_nosia").row(0, named=True)
    contacts = ("event_id,borrower_id,loan_id,action_id,channel,direction,at,party,outcome\n"
                f"E1,B4,L4,{nosia['action_id']},letter,outbound,2026-03-02T10:00:00+00:00,borrower,delivered\n")
    assert cli("import", "contacts", write(tmp_path, "c.csv", contacts), "--date", DAY, db=db).exit_code == 0
    flags = table(db, t.flags)
    assert flags.filter(pl.col("flag") == "gb_nosia_sent").select("borrower_id", "start_on", "event_id").rows()[0][0] == "B4"
    assert cli("close-day", "--date", DAY, "--allow-future", db=db).exit_code == 0
    later = plan(cli, db, tmp_path, "2026-03-03")
    assert "gb_nosia" not in set(later["template_id"].drop_nulls())


def test_replanning_replaces_the_days_plan(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'r.db'}")
    first = plan(cli, db, tmp_path, DAY)
    again = plan(cli, db, tmp_path, DAY)
    assert first.drop("reason").equals(again.drop("reason"))  # the same inputs, the same ids
    rows = plan_rows(db)
    assert set(rows.filter(pl.col("run") == 1)["status"]) == {"cancelled"}
    assert rows.filter((pl.col("run") == 2) & (pl.col("status") == "planned")).height == first.height
    assert table(db, t.plan_runs).height == 2


def test_refuses_an_unclosed_day_and_none_plans_nothing(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'u.db'}")
    r = cli("plan", "--date", "2026-03-04", db=db)
    assert r.exit_code == 1 and "2026-03-03 is not closed" in r.output
    assert plan(cli, db, tmp_path, DAY, "--strategy", "none").height == 0
    r = cli("plan", "--date", DAY, "--strategy", str(write(tmp_path, "bad.toml", "[strategy]\nname = 1\n")), db=db)
    assert r.exit_code == 2 and "strategy.name" in r.output


def test_what_does_not_fit_an_agents_day_is_planned_the_next_day(cli, build, tmp_path: Path):
    one_call = "agent_id,team,languages,jurisdictions,daily_calls,daily_visits\nZH1,cn,zh-CN,CN,1,0\n"
    db = build(f"sqlite:///{tmp_path / 'c.db'}", agents=one_call)
    plan(cli, db, tmp_path, DAY)
    rows = plan_rows(db)
    calls = rows.filter((pl.col("action") == "agent_call") & pl.col("borrower_id").is_in(["B1", "B2", "B3"]))
    assert calls.filter(pl.col("status") == "planned").height == 1
    waiting = set(calls.filter(pl.col("status") == "deferred")["borrower_id"])
    assert len(waiting) == 2
    # No agent has visit capacity: visits wait too, never silently dropped.
    assert set(rows.filter(pl.col("action") == "field_visit")["status"]) == {"deferred"}
    assert cli("close-day", "--date", DAY, "--allow-future", db=db).exit_code == 0
    nxt = plan(cli, db, tmp_path, "2026-03-03")
    called = nxt.filter(pl.col("action") == "agent_call")
    # The next day's one call goes to a borrower who waited, first in line.
    assert called.height == 1 and called["borrower_id"][0] in waiting


@pytest.mark.parametrize(("payments", "expected"), [
    # 400 + 600 by the promised date: the partial payments add up, the promise is kept, contact held.
    ("P1,L2,400.00,CNY,2026-03-02,wallet\nP2,L2,600.00,CNY,2026-03-03,wallet\n", "held"),
    # Only 400 of 1,000: broken the day after its date, and the account moves to "promise broken".
    ("P1,L2,400.00,CNY,2026-03-02,wallet\n", "promise broken"),
])
def test_partial_payments_count_towards_a_promise_and_a_broken_one_moves_the_account(
        cli, build, tmp_path: Path, payments: str, expected: str):
    contact = ("event_id,borrower_id,loan_id,channel,direction,at,party,outcome,promise_amount,promise_date\n"
               "E1,B2,L2,agent_call,outbound,2026-03-01T10:00:00+08:00,borrower,promise_to_pay,1000.00,2026-03-04\n")
    db = build(f"sqlite:///{tmp_path / 'p.db'}", extra={"contacts": contact})
    pay = "payment_id,loan_id,amount,currency,paid_on,method\n" + payments
    assert cli("import", "payments", write(tmp_path, "pay.csv", pay), "--date", "2026-03-02", db=db).exit_code == 0
    assert cli("close-day", "--date", "2026-03-04", "--allow-future", db=db).exit_code == 0
    during = plan(cli, db, tmp_path, "2026-03-04")
    # Until its date the promise holds contact either way (kept, or still open); only the statutory
    # pre-report notice, which no promise can hold back, still goes.
    assert set(during.filter(pl.col("borrower_id") == "B2")["template_id"].fill_null("-")) == {"cn_prereport_notice"}
    assert cli("close-day", "--date", "2026-03-05", "--allow-future", db=db).exit_code == 0
    after = plan(cli, db, tmp_path, "2026-03-06")
    b2 = after.filter(pl.col("borrower_id") == "B2")
    if expected == "held":
        # Kept: the promise was honoured, so the account is back in its ordinary state, not "broken".
        assert not b2["reason"].str.contains("promise broken").any()
    else:
        assert b2.filter(pl.col("action") == "agent_call")["reason"][0].endswith("(promise broken)")


def test_champion_challenger_assignment_is_sticky_across_a_delinquency(cli, build, tmp_path: Path):
    db = build(f"sqlite:///{tmp_path / 'e.db'}")
    mine = (Path(__file__).parents[2] / "src/arrears/strategy/data/champion_cn.toml").read_text(encoding="utf-8")
    write(tmp_path, "gentle.toml", mine.replace('name = "cn-champion"', 'name = "cn-gentle"'))
    exp = write(tmp_path, "exp.toml", '[experiment]\nname = "q1"\n[[arms]]\nname = "champion"\nstrategy = "champion"\n'
                'share = "0.5"\n[[arms]]\nname = "gentle"\nstrategy = "gentle.toml"\nshare = "0.5"\n')
    plan(cli, db, tmp_path, DAY, "--strategy", exp)
    first = table(db, t.strategy_assignments).select("borrower_id", "episode_start", "arm").sort("borrower_id")
    assert first.height == 5 and set(first["arm"]) <= {"champion", "gentle"}
    exp.write_text(exp.read_text().replace('share = "0.5"\n[[arms]]', 'share = "0.0"\n[[arms]]').replace(
        'share = "0.5"\n', 'share = "1.0"\n'), encoding="utf-8")
    assert cli("close-day", "--date", DAY, "--allow-future", db=db).exit_code == 0
    p = plan(cli, db, tmp_path, "2026-03-03", "--strategy", exp)
    # The shares changed, the assignments did not.
    assert table(db, t.strategy_assignments).select("borrower_id", "episode_start", "arm").sort("borrower_id").equals(first)
    arms = dict(first.select("borrower_id", "arm").iter_rows())
    for b, s in p.select("borrower_id", "strategy").unique().iter_rows():
        assert s.split(":")[0] == arms[b]
    # Results wait until episodes are 90 days old (they began around 2026-01-11).
    r = cli("experiment", "results", "--experiment", "q1", "--date", "2026-03-03", db=db)
    assert r.exit_code == 0 and "no episode is 90 days old yet" in r.output
    r = cli("experiment", "results", "--experiment", "q1", "--date", "2026-04-20", db=db)
    assert r.exit_code == 0 and "cured (95% interval)" in r.output, r.output
