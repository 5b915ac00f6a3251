"""``arrears policy check`` end to end on both databases: the decisions file, the audit rows, bad
input (exit 2, nothing decided, nothing recorded), overrides, and executed contacts audited at import."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from arrears.store import tables as t

BORROWERS = """borrower_id,name,phone,email,language,jurisdiction,timezone,region,country,work_phone
B1,王芳,+8613800138000,,zh-CN,CN,Asia/Shanghai,,CN,
B2,Maria Lopez,+16175550123,maria@example.com,en-US,US-MA,,MA,US,
B3,James Carter,+13105550187,,en-US,US-CA,,,,+13105550100
B4,Olivia Brown,+447700900123,olivia@example.co.uk,en-GB,GB,Europe/London,,GB,
"""
REFERENCES = """reference_id,borrower_id,name,phone,relation,source,consented_on
R1,B1,王建国,+8613700001111,parent,borrower_provided,2026-01-02
"""
LOANS = """loan_id,borrower_id,currency,principal,annual_rate,term,frequency,method,disbursed_on,penalty_rate_daily
L1,B1,CNY,10000.00,0.18,12,monthly,annuity,2026-01-15,0.0005
L2,B2,USD,3000.00,0.2399,24,monthly,annuity,2026-01-01,
L3,B3,USD,1200.00,0.29,12,monthly,annuity,2026-01-05,
L4,B4,GBP,2500.00,0.199,18,monthly,annuity,2026-01-10,
"""
CONTACTS = """event_id,borrower_id,loan_id,channel,direction,at,party,address,outcome,written
C1,B1,L1,agent_call,outbound,2026-03-01T10:00:00+08:00,borrower,+8613800138000,right_party_contact,
C2,B1,L1,agent_call,outbound,2026-03-01T11:00:00+08:00,borrower,+8613800138000,right_party_contact,
C3,B1,L1,agent_call,outbound,2026-03-01T22:30:00+08:00,borrower,+8613800138000,no_answer,
C4,B2,L2,letter,inbound,2026-02-20T09:00:00-05:00,borrower,,dispute,true
"""
ACTIONS = """action_id,borrower_id,loan_id,action,channel,party,planned_at,window_start,window_end,template_id,language,offer
A1,B1,L1,agent_call,agent_call,borrower,2026-03-02T10:00:00+08:00,,,,,
A2,B1,L1,agent_call,agent_call,borrower,2026-03-02T21:30:00+08:00,,,,,
A3,B2,L2,agent_call,agent_call,borrower,,2026-03-02T10:00:00-05:00,2026-03-02T11:00:00-05:00,us_reminder_call,en,
A4,B3,L3,sms,sms,borrower,2026-03-02T10:00:00-08:00,,,us_reminder_sms,en,
A5,B1,L1,settlement_offer,sms,borrower,2026-03-02T12:00:00+08:00,,,cn_settlement_offer_sms,zh-CN,"{""type"": ""settlement"", ""amount"": ""99999.00"", ""currency"": ""CNY"", ""pay_by"": ""2026-03-31""}"
A6,B4,L4,email,email,borrower,2026-03-02T09:00:00+00:00,,,gb_reminder_email,en,
"""


@pytest.fixture
def book(cli, db_url: str, tmp_path: Path) -> str:
    files = {"borrowers": BORROWERS, "references": REFERENCES, "loans": LOANS, "contacts": CONTACTS}
    assert cli("db", "upgrade", db=db_url).exit_code == 0
    for kind, text in files.items():
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        r = cli("import", kind, str(tmp_path / f"{kind}.csv"), "--date", "2026-03-01", db=db_url)
        assert r.exit_code == 0, r.output
    r = cli("close-day", "--date", "2026-03-01", "--allow-future", db=db_url)
    assert r.exit_code == 0, r.output
    return db_url


def _audit(db_url: str, kind: str) -> pl.DataFrame:
    from arrears.store.bulk import read_table
    from arrears.store.db import make_engine

    eng = make_engine(db_url)
    with eng.connect() as conn:
        rows = read_table(conn, t.audit_log)
    eng.dispose()
    return rows.filter(pl.col("kind") == kind).sort("partition", "seq")


def test_policy_check_writes_every_decision_and_records_each_in_the_audit_log(cli, book: str, tmp_path: Path):
    (tmp_path / "actions.csv").write_text(ACTIONS, encoding="utf-8")
    out = tmp_path / "out" / "decisions.csv"
    r = cli("policy", "check", "--date", "2026-03-02", "--actions", str(tmp_path / "actions.csv"), "--out", str(out), db=book)
    assert r.exit_code == 0, r.output
    d = {row["action_id"]: row for row in pl.read_csv(out, infer_schema=False).iter_rows(named=True)}
    # The input columns come back unchanged, plus the five of INTERFACE.md.
    assert list(pl.read_csv(out, infer_schema=False).columns[-5:]) == ["decision", "rules", "explanation", "allowed_start", "allowed_end"]
    # CN-FREQ: two connected calls yesterday do not count today; 10:00 Beijing is inside the hours.
    assert d["A1"]["decision"] == "allow" and d["A1"]["allowed_start"] == "2026-03-02T08:00:00+08:00"
    # CN-HOURS: 21:30 is too late; the window the same day is offered, in the proposal's offset.
    assert (d["A2"]["decision"], d["A2"]["rules"]) == ("block", "CN-HOURS")
    assert (d["A2"]["allowed_start"], d["A2"]["allowed_end"]) == ("2026-03-02T08:00:00+08:00", "2026-03-02T21:00:00+08:00")
    # A written dispute (US, first party: outside any validation period) holds every non-letter contact.
    assert d["A3"]["decision"] == "block" and d["A3"]["rules"] == "ARREARS-HOLD"
    assert d["A4"]["decision"] == "allow"  # the borrower's own number: prior express consent (US-TCPA)
    assert d["A5"]["rules"] == "ARREARS-AMOUNT;CN-AMOUNT" and "CNY 99999.00" in d["A5"]["explanation"]
    assert d["A6"]["decision"] == "allow"

    audit = _audit(book, "policy_check")
    assert audit.height == 6
    assert sorted(audit["partition"].unique()) == ["CN", "GB", "US-CA", "US-MA"]
    a2 = audit.filter(pl.col("action_id") == "A2").row(0, named=True)
    assert (a2["decision"], a2["rules"], a2["borrower_id"], a2["loan_id"]) == ("block", '["CN-HOURS"]', "B1", "L1")
    assert '"explanation":"CN-HOURS: outside 08:00–21:00 local time in Asia/Shanghai"' in a2["payload"]
    assert cli("audit", "verify", db=book).exit_code == 0


def test_a_parquet_file_in_gives_a_parquet_file_out(cli, book: str, tmp_path: Path):
    (tmp_path / "actions.csv").write_text(ACTIONS, encoding="utf-8")
    pl.read_csv(tmp_path / "actions.csv", infer_schema=False).write_parquet(tmp_path / "actions.parquet")
    out = tmp_path / "decisions.parquet"
    r = cli("policy", "check", "--date", "2026-03-02", "--actions", str(tmp_path / "actions.parquet"), "--out", str(out), db=book)
    assert r.exit_code == 0, r.output
    assert pl.read_parquet(out)["decision"].to_list() == ["allow", "block", "block", "allow", "block", "allow"]


BAD = """action_id,borrower_id,loan_id,action,channel,party,planned_at,window_start,window_end,template_id
A1,B9,L1,agent_call,agent_call,borrower,2026-03-02T10:00:00+08:00,,,
A2,B1,L3,agent_call,agent_call,borrower,2026-03-02T10:00:00,,,
A3,B1,L1,sms,email,R7,2026-03-02T10:00:00+08:00,,,cn_reminder_sms
A3,B1,L1,teleport,agent_call,borrower,,2026-03-02T12:00:00+08:00,2026-03-02T11:00:00+08:00,
"""


def test_a_bad_actions_file_names_every_row_and_field_decides_nothing_and_exits_2(cli, book: str, tmp_path: Path):
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")
    out = tmp_path / "decisions.csv"
    r = cli("policy", "check", "--date", "2026-03-02", "--actions", str(tmp_path / "bad.csv"), "--out", str(out), db=book)
    assert r.exit_code == 2
    for expected in (
        "row 1, column borrower_id: unknown borrower 'B9'",
        "row 2, column loan_id: loan 'L3' is not a loan of borrower 'B1'",
        "row 2, column planned_at: '2026-03-02T10:00:00' is not a timestamp with an offset",
        "row 3, column channel: must be the same as action ('sms')",
        "row 3, column party: 'R7' is neither 'borrower' nor a reference of borrower 'B1'",
        "row 3, column language: is required with template_id",
        "row 4, column action: ",
        "row 4, column window_end: must be after window_start",
        "row 4, column action_id: ",
    ):
        assert expected in r.output, (expected, r.output)
    assert not out.exists()
    assert _audit(book, "policy_check").is_empty()


def test_overrides_that_loosen_a_legal_floor_exit_2_and_tighter_ones_apply(cli, book: str, tmp_path: Path):
    (tmp_path / "actions.csv").write_text(ACTIONS, encoding="utf-8")
    loose = tmp_path / "loose.toml"
    loose.write_text('[override]\nportfolio = "p"\n[rules.CN-HOURS]\nlocal_hours_until = "22:30"\n', encoding="utf-8")
    out = tmp_path / "decisions.csv"
    args = ("policy", "check", "--date", "2026-03-02", "--actions", str(tmp_path / "actions.csv"), "--out", str(out))
    r = cli(*args, "--overrides", str(loose), db=book)
    assert r.exit_code == 2 and "loosens the legal floor 22:00 of CN-HOURS" in r.output
    assert not out.exists() and _audit(book, "policy_check").is_empty()
    assert cli("policy", "show", "--jurisdiction", "CN", "--overrides", str(loose)).exit_code == 2

    tight = tmp_path / "tight.toml"
    tight.write_text('[override]\nportfolio = "p"\n[rules.CN-HOURS]\nlocal_hours_from = "10:30"\n', encoding="utf-8")
    r = cli(*args, "--overrides", str(tight), db=book)
    assert r.exit_code == 0, r.output
    d = {row["action_id"]: row for row in pl.read_csv(out, infer_schema=False).iter_rows(named=True)}
    assert d["A1"]["rules"] == "CN-HOURS" and d["A1"]["allowed_start"] == "2026-03-02T10:30:00+08:00"


def test_executed_contacts_are_audited_at_import_with_the_engines_verdict(book: str):
    executed = _audit(book, "executed_contact")
    # C4 is inbound: not an action of ours. C3 at 22:30 Beijing broke CN-HOURS when it was made.
    assert sorted(executed["action_id"]) == ["C1", "C2", "C3"]
    verdict = {r["action_id"]: (r["decision"], r["rules"]) for r in executed.iter_rows(named=True)}
    assert verdict["C1"] == ("allow", "[]") and verdict["C2"] == ("allow", "[]")
    assert verdict["C3"] == ("block", '["CN-HOURS"]')
    assert set(executed["day"]) == {executed["day"][0]} and str(executed["day"][0]) == "2026-03-01"


def test_an_agent_check_is_one_row_through_the_same_engine_and_is_recorded(book: str):
    import datetime as dt

    from arrears.comply.service import check_action
    from arrears.policy.check.params import Packs
    from arrears.store.db import make_engine, unit_of_work

    eng = make_engine(book)
    action = {"action_id": "agent-1", "borrower_id": "B1", "loan_id": "L1", "action": "agent_call",
              "channel": "agent_call", "party": "borrower",
              "start": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)}  # 20:00 Beijing, after 2 conversations
    with unit_of_work(eng) as conn:
        d = check_action(conn, action, dt.date(2026, 3, 1), Packs.load(), dt.datetime.now(dt.UTC))
    assert d["decision"] == "allow"
    with unit_of_work(eng) as conn:
        third = check_action(conn, {**action, "action_id": "agent-2", "start": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)},
                             dt.date(2026, 3, 1), Packs.load(), dt.datetime.now(dt.UTC))
    # The agent's first call is not history until it is made: the door answers for this call alone.
    assert third["decision"] == "allow"
    with eng.connect() as conn:
        n = conn.execute(select(func.count()).select_from(t.audit_log).where(t.audit_log.c.kind == "agent_check")).scalar()
    eng.dispose()
    assert n == 2


def test_an_executed_visit_is_judged_on_the_balance_of_the_loans_it_was_about(cli, db_url: str, tmp_path: Path):
    """ARREARS-VISIT-MIN at import: the verdict on an executed visit reads its loans' balance (the
    import values only the visited borrowers' loans); a visit about the CNY 2,000 loan alone is
    below the CNY 3,000 minimum, one about the CNY 10,000 loan is not."""
    files = {"borrowers": BORROWERS, "references": REFERENCES,
             "loans": LOANS + "L5,B1,CNY,2000.00,0.18,6,monthly,annuity,2026-01-15,0.0005\n"}
    assert cli("db", "upgrade", db=db_url).exit_code == 0
    for kind, text in files.items():
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        assert cli("import", kind, str(tmp_path / f"{kind}.csv"), "--date", "2026-03-01", db=db_url).exit_code == 0
    assert cli("close-day", "--date", "2026-03-01", "--allow-future", db=db_url).exit_code == 0
    (tmp_path / "visits.csv").write_text(
        "event_id,borrower_id,loan_id,channel,direction,at,party,address,outcome,recording_ref\n"
        "V1,B1,L1,field_visit,outbound,2026-03-02T10:00:00+08:00,borrower,,right_party_contact,rec/V1\n"
        "V2,B1,L5,field_visit,outbound,2026-03-02T15:00:00+08:00,borrower,,no_answer,rec/V2\n"
        "S1,B3,L3,sms,outbound,2026-03-02T10:00:00-08:00,borrower,+13105550187,delivered,\n", encoding="utf-8")
    r = cli("import", "contacts", str(tmp_path / "visits.csv"), "--date", "2026-03-02", db=db_url)
    assert r.exit_code == 0, r.output
    verdict = {row["action_id"]: (row["decision"], row["rules"])
               for row in _audit(db_url, "executed_contact").iter_rows(named=True)}
    assert verdict["V1"] == ("allow", "[]")
    assert verdict["V2"] == ("block", '["ARREARS-VISIT-MIN"]')
    assert "S1" in verdict  # judged too, though no balance was read for it
