"""Adjustments end to end through the CLI, on both backends: a correction re-derives a loan and is
audited; a take-on loan starts from its given balances; pauses show in the account view; the
stored state of the last closed day equals the view.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from sqlalchemy import text

from arrears.store.db import make_engine, upgrade
from tests.close.conftest import dump, run_cli

BORROWERS = "borrower_id,name,phone,language,jurisdiction\nB1,王芳,+8613800138000,zh-CN,CN\n"
LOAN_HEAD = "loan_id,borrower_id,currency,principal,annual_rate,term,frequency,period_days,method,disbursed_on,penalty_rate_daily"
TAKEON_HEAD = (",takeon_date,takeon_principal_outstanding,takeon_interest_due,takeon_penalty_due,takeon_fees_due,"
               "takeon_oldest_unpaid_due_on,takeon_dofd")
ADJ_HEAD = "adjustment_id,loan_id,type,effective_on,amount,currency,params,approved_by\n"


def _write(tmp: Path, name: str, body: str) -> Path:
    p = tmp / name
    p.write_text(body, encoding="utf-8")
    return p


def _ok(db: str, *args: str) -> str:
    r = run_cli(db, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _setup(db: str, tmp: Path, loans: str) -> None:
    engine = make_engine(db)
    upgrade(engine)
    engine.dispose()
    _ok(db, "import", "borrowers", str(_write(tmp, "borrowers.csv", BORROWERS)), "--date", "2026-01-01")
    _ok(db, "import", "loans", str(_write(tmp, "loans.csv", loans)), "--date", "2026-01-01")


def _account(db: str, loan: str, *extra: str) -> dict:
    return json.loads(_ok(db, "account", loan, "--json", *extra))


def _adjust(db: str, tmp: Path, name: str, rows: str, date: str) -> None:
    _ok(db, "import", "adjustments", str(_write(tmp, name, ADJ_HEAD + rows)), "--date", date)


def _csv_json(obj: dict) -> str:
    return '"' + json.dumps(obj).replace('"', '""') + '"'


def _stored(db: str, loan: str) -> dict:
    engine = make_engine(db)
    with engine.connect() as conn:
        row = pl.read_database(f"SELECT status, dpd, bucket, dofd FROM loan_state WHERE loan_id = '{loan}'", conn)
    engine.dispose()
    return row.row(0, named=True)


def test_a_correction_of_a_wrong_rate_rederives_the_loan_and_is_audited(db_url, second_db_url, tmp_path):
    # Imported at 24% instead of 18%: inst 1 = 20,000 interest (1,000,000 x 2%) + principal; the
    # borrower pays the true 916.80 (18%: interest 150.00 + principal 766.80) on 02-01, which at 24%
    # leaves the instalment short and the loan late.
    wrong = f"{LOAN_HEAD}\nL1,B1,CNY,10000.00,0.24,12,monthly,,annuity,2026-01-01,0.0005\n"
    payment = _write(tmp_path, "p.csv", "payment_id,loan_id,amount,currency,paid_on,method\n"
                                        "P1,L1,916.80,CNY,2026-02-01,wallet\n")
    _setup(db_url, tmp_path, wrong)
    _ok(db_url, "import", "payments", str(payment), "--date", "2026-01-01")
    _ok(db_url, "close-day", "--date", "2026-02-05", "--allow-future")
    before = _account(db_url, "L1")
    assert before["schedule"][0]["interest"] == "200.00"
    assert (before["status"], before["dpd"]) == ("delinquent", 4)
    rows = f"C1,L1,correction,2026-01-01,,,{_csv_json({'annual_rate': '0.18'})},u7\n"
    _adjust(db_url, tmp_path, "c.csv", rows, "2026-02-06")
    out = _ok(db_url, "close-day", "--date", "2026-02-10", "--allow-future")
    assert "re-derived" in out
    after = _account(db_url, "L1")
    assert (after["schedule"][0]["interest"], after["schedule"][0]["principal"]) == ("150.00", "766.80")
    assert (after["status"], after["dpd"], after["dofd"]) == ("current", 0, None)
    assert after["balances"]["penalty"] == "0.00"
    # principal 10,000.00 - 766.80; accrued: inst 2 (13,850 over 28 days) x 9/28 = 4,451.8 -> 44.52
    assert (after["balances"]["principal_outstanding"], after["balances"]["accrued_interest"]) == ("9233.20", "44.52")
    stored = _stored(db_url, "L1")
    assert (stored["status"], stored["dpd"]) == ("current", 0)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT adjustment_id, loan_id, approved_by, \"before\", \"after\" FROM corrections")).all()
    engine.dispose()
    assert len(audit) == 1
    adj_id, loan_id, approver, b, a = audit[0]
    assert (adj_id, loan_id, approver) == ("C1", "L1", "u7")
    assert (json.loads(b)["annual_rate_nano"], json.loads(a)["annual_rate_nano"]) == (240_000_000, 180_000_000)
    # The same as a book that had the right rate all along.
    right = tmp_path / "right"
    right.mkdir()
    _setup(second_db_url, right, wrong.replace("0.24", "0.18"))
    _ok(second_db_url, "import", "payments", str(payment), "--date", "2026-01-01")
    _ok(second_db_url, "close-day", "--date", "2026-02-10", "--allow-future")
    for table in ("loan_state", "instalment_state", "allocations"):
        assert dump(db_url, as_closed=True)[table] == dump(second_db_url, as_closed=True)[table], table


def test_takeon_loan_starts_from_its_balances_and_ages_onward(db_url, tmp_path):
    # tests/book/test_takeon.py's loan: 8 x 45 days, taken on 2026-07-20 (day 200) with insts 3
    # (due 05-16) and 4 unpaid: principal 7,662.13, interest 313.27, penalty 1,234.56, fees 20.00.
    loans = (f"{LOAN_HEAD}{TAKEON_HEAD}\n"
             "T1,B1,CNY,10000.00,0.18,8,days,45,annuity,2026-01-01,0.0005,"
             "2026-07-20,7662.13,313.27,1234.56,20.00,2026-05-16,2026-05-17\n")
    _setup(db_url, tmp_path, loans)
    payments = _write(tmp_path, "p.csv", "payment_id,loan_id,amount,currency,paid_on,method\n"
                                         "OLD,T1,500.00,CNY,2026-07-10,wallet\n"
                                         "P1,T1,2638.69,CNY,2026-07-25,wallet\n")
    _ok(db_url, "import", "payments", str(payments), "--date", "2026-07-01")
    _ok(db_url, "close-day", "--date", "2026-07-25", "--allow-future")
    on = _account(db_url, "T1", "--as-of", "2026-07-20")
    assert (on["status"], on["dpd"], on["bucket"], on["dofd"]) == ("delinquent", 65, "60-89", "2026-05-17")
    b = on["balances"]
    # accrued: 115.83 x 20/45 = 51.48
    assert (b["principal_outstanding"], b["interest_due"], b["penalty"], b["fees"], b["accrued_interest"]) == (
        "7662.13", "313.27", "1234.56", "20.00", "51.48")
    nxt = _account(db_url, "T1", "--as-of", "2026-07-21")
    # one day's penalty on 2,442.78 overdue principal: 1.22139 -> 1,235.78
    assert (nxt["dpd"], nxt["bucket"], nxt["balances"]["penalty"]) == (66, "60-89", "1235.78")
    # 07-25: the 2,638.69 pays penalty 1,240.67 + fees 20.00 + inst 3 (170.04 + 1,207.98); the payment
    # of 07-10 (before take-on) is ignored. dpd from inst 4 (06-30): 25.
    last = _account(db_url, "T1")
    assert last["as_of"] == "2026-07-25"
    assert (last["status"], last["dpd"], last["bucket"], last["dofd"]) == ("delinquent", 25, "1-29", "2026-05-17")
    assert (last["balances"]["principal_outstanding"], last["balances"]["penalty"]) == ("6454.15", "0.00")
    assert [h["bucket"] for h in last["bucket_history"]][-2:] == ["60-89", "1-29"]
    stored = _stored(db_url, "T1")
    assert (stored["status"], stored["dpd"], stored["bucket"]) == ("delinquent", 25, "1-29")


def test_an_up_to_date_takeon_loan_holds_its_credit_and_the_close_starts_on_its_takeon_date(db_url, tmp_path):
    # The same loan taken on 2026-03-01 with inst 1 (02-15) paid and nothing due: no oldest unpaid
    # date and no dofd (both optional for an up-to-date loan), and 50.00 received but not applied.
    loans = (f"{LOAN_HEAD}{TAKEON_HEAD},takeon_credit\n"
             "T2,B1,CNY,10000.00,0.18,8,days,45,annuity,2026-01-01,0.0005,"
             "2026-03-01,8843.89,0.00,0.00,0.00,,,50.00\n")
    _setup(db_url, tmp_path, loans)
    _ok(db_url, "close-day", "--date", "2026-04-02", "--allow-future")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT MIN(day), COUNT(*) FROM closed_days")).one()
    engine.dispose()
    # The days before the take-on are the other system's: the close does not walk them.
    assert (str(days[0]), days[1]) == ("2026-03-01", 33)
    on = _account(db_url, "T2", "--as-of", "2026-03-01")
    assert (on["status"], on["dpd"], on["dofd"]) == ("current", 0, None)
    assert (on["balances"]["principal_outstanding"], on["balances"]["credit"]) == ("8843.89", "50.00")
    # Inst 2 falls due on 04-01 (1,181.76 + 196.26): the credit pays its interest first, as any
    # held credit would; the rest is overdue the next day, with a day's penalty on the overdue
    # principal (1,181.76 x 0.0005 = 0.59).
    due = _account(db_url, "T2", "--as-of", "2026-04-01")["balances"]
    assert (due["interest_due"], due["credit"]) == ("146.26", "0.00")
    late = _account(db_url, "T2", "--as-of", "2026-04-02")
    assert (late["status"], late["dpd"], late["balances"]["overdue"]) == ("delinquent", 1, "1328.61")


def test_account_shows_pauses_and_a_forbearance_freezes_the_stored_dpd(db_url, tmp_path):
    loans = f"{LOAN_HEAD}\nL1,B1,CNY,10000.00,0.18,12,monthly,,annuity,2026-01-01,0.0005\n"
    _setup(db_url, tmp_path, loans)
    rows = (f"S1,L1,pause_start,2026-02-05,,,{_csv_json({'reason': 'forbearance'})},u1\n"
            "E1,L1,pause_end,2026-02-15,,,,u1\n"
            f"S2,L1,pause_start,2026-02-20,,,{_csv_json({'reason': 'dispute'})},u1\n")
    _adjust(db_url, tmp_path, "a.csv", rows, "2026-01-01")
    _ok(db_url, "close-day", "--date", "2026-02-25", "--allow-future")
    view = _account(db_url, "L1")
    assert view["pauses"] == [
        {"reason": "forbearance", "effects": ["contact_hold", "accrual_freeze", "ageing_pause"],
         "from": "2026-02-05", "to": "2026-02-14"},
        {"reason": "dispute", "effects": ["contact_hold"], "from": "2026-02-20", "to": None},
    ]
    # Inst 1 (02-01) unpaid: 24 days late on 02-25, less the 10 paused days = 14; the dispute pauses
    # nothing. Penalty: 14 unpaused days (02-02..02-04, 02-15..02-25) x 76,680 x 500 = 536,760,000 -> 5.37.
    assert (view["dpd"], view["bucket"], view["balances"]["penalty"]) == (14, "1-29", "5.37")
    stored = _stored(db_url, "L1")
    assert (stored["dpd"], stored["bucket"], stored["status"]) == (14, "1-29", "delinquent")
