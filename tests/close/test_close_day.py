"""close-day semantics (INTERFACE.md): crash-safe, resumable, re-runnable, exclusive."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from arrears.close.lock import exclusive
from arrears.store.db import make_engine
from tests.close.conftest import dump, load, run_cli


def test_killed_catch_up_resumes_and_ends_identical(db_url, second_db_url, book):
    load(db_url, book)
    load(second_db_url, book)
    # Uninterrupted: 30 days in one run.
    r = run_cli(second_db_url, "close-day", "--date", "2026-01-30", "--allow-future", own_process=True)
    assert r.returncode == 0, r.stderr
    # Killed with SIGKILL on its 17th day, after writing that day's rows but before committing.
    killed = run_cli(db_url, "close-day", "--date", "2026-01-30", "--allow-future",
                     env={"ARREARS_FAULT": "before-commit:2026-01-17"})
    assert killed.returncode == -9
    partial = dump(db_url)
    days = sorted(r for r in partial["closed_days"])
    assert len(days) == 16  # day 17 left no trace
    assert not any("2026-01-17" in str(r) for r in partial["loan_state"])
    resumed = run_cli(db_url, "close-day", "--date", "2026-01-30", "--allow-future")
    assert resumed.returncode == 0, resumed.stderr
    assert "closed 14 day(s) 2026-01-17 .. 2026-01-30" in resumed.stdout
    assert dump(db_url) == dump(second_db_url)


def test_closed_day_rerun_changes_nothing(db_url, book):
    load(db_url, book)
    assert run_cli(db_url, "close-day", "--date", "2026-01-12", "--allow-future").returncode == 0
    before = dump(db_url)
    again = run_cli(db_url, "close-day", "--date", "2026-01-12", "--allow-future")
    assert again.returncode == 0
    assert "nothing to close" in again.stdout
    earlier = run_cli(db_url, "close-day", "--date", "2026-01-05", "--allow-future")
    assert earlier.returncode == 0
    assert dump(db_url) == before


def test_concurrent_close_is_refused(db_url, book, cli):
    load(db_url, book)
    engine = make_engine(db_url)
    with exclusive(engine):  # another close holds the book
        r = cli("close-day", "--date", "2026-01-03", "--allow-future", db=db_url)
    engine.dispose()
    assert r.exit_code == 1
    assert "another close-day is running" in r.output
    assert dump(db_url)["closed_days"] == []


def test_future_close_needs_allow_future(db_url, book, cli):
    load(db_url, book)
    far = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    r = cli("close-day", "--date", far, db=db_url)
    assert r.exit_code == 2
    assert "--allow-future" in r.output
    assert dump(db_url)["closed_days"] == []


def test_first_close_starts_at_earliest_disbursement(db_url, book):
    load(db_url, book)
    r = run_cli(db_url, "close-day", "--date", "2026-01-03", "--allow-future")
    assert r.returncode == 0, r.stderr
    assert "closed 3 day(s) 2026-01-01 .. 2026-01-03" in r.stdout


def _account(db: str, loan: str, *extra: str) -> dict:
    r = run_cli(db, "account", loan, "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_closed_state_equals_the_account_view(db_url, book):
    """The close and the view run the same step: for every loan, the stored state of the last
    closed day equals the view replayed from the facts."""
    load(db_url, book)
    assert run_cli(db_url, "close-day", "--date", "2026-02-20", "--allow-future").returncode == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = pl.read_database("SELECT loan_id, status, dpd, bucket, dofd, credit FROM loan_state", conn)
    engine.dispose()
    for row in stored.iter_rows(named=True):
        view = _account(db_url, row["loan_id"])
        assert view["as_of"] == "2026-02-20"
        assert (view["status"], view["dpd"], view["bucket"]) == (row["status"], row["dpd"], row["bucket"])
        assert view["dofd"] == (str(row["dofd"])[:10] if row["dofd"] else None)


def test_backdated_payment_rederives_its_loan(db_url, second_db_url, book, tmp_path):
    """A payment for a closed day is applied at the next close by re-deriving the loan; the result
    equals a book that knew the payment all along."""
    late = tmp_path / "late.csv"
    late.write_text("payment_id,loan_id,amount,currency,paid_on,method\n"
                    "P9,L4,820.00,CNY,2026-01-13,cash\n", encoding="utf-8")
    load(db_url, book)
    assert run_cli(db_url, "close-day", "--date", "2026-01-20", "--allow-future").returncode == 0
    before = _account(db_url, "L4")
    assert before["status"] == "delinquent"
    known_before = dt.datetime.now(dt.timezone.utc).isoformat()
    assert run_cli(db_url, "import", "payments", str(late), "--date", "2026-01-21").returncode == 0
    r = run_cli(db_url, "close-day", "--date", "2026-01-25", "--allow-future")
    assert r.returncode == 0 and "1 re-derived" in r.stdout, r.stdout
    # The same facts, known from the start.
    load(second_db_url, book)
    assert run_cli(second_db_url, "import", "payments", str(late), "--date", "2026-01-01").returncode == 0
    assert run_cli(second_db_url, "close-day", "--date", "2026-01-25", "--allow-future").returncode == 0
    a, b = dump(db_url, as_closed=True), dump(second_db_url, as_closed=True)
    for table in ("loan_state", "instalment_state", "allocations", "bucket_transitions"):
        assert a[table] == b[table], table
    # Due 2026-01-12, paid 2026-01-13: one day late, then paid off (820.00 covers it all).
    assert _account(db_url, "L4", "--as-of", "2026-01-12")["status"] == "current"
    after = _account(db_url, "L4", "--as-of", "2026-01-25")
    assert after["status"] == "paid_off" and after["dofd"] is None
    # What the book said before it learned of the payment: still delinquent, 13 days past due.
    then = _account(db_url, "L4", "--as-of", "2026-01-25", "--known-at", known_before)
    assert (then["status"], then["dpd"], then["dofd"]) == ("delinquent", 13, "2026-01-13")


def test_account_text_shows_amounts_in_the_requested_locale(db_url, book):
    load(db_url, book)
    assert run_cli(db_url, "close-day", "--date", "2026-01-20", "--allow-future").returncode == 0
    zh = run_cli(db_url, "account", "L1", "--locale", "zh-CN")
    us = run_cli(db_url, "account", "L3", "--locale", "en-US")
    assert zh.returncode == 0 and us.returncode == 0, zh.stderr + us.stderr
    assert "¥" in zh.stdout  # Babel: CNY in zh-CN
    assert "$" in us.stdout and "US$" not in us.stdout  # USD in en-US


def test_each_closed_day_records_a_portfolio_snapshot(db_url, book):
    load(db_url, book)
    assert run_cli(db_url, "close-day", "--date", "2026-01-25", "--allow-future").returncode == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        snap = pl.read_database("SELECT * FROM portfolio_snapshots", conn)
        state = pl.read_database("SELECT loan_id, status, bucket FROM loan_state", conn)
        paid = pl.read_database("SELECT paid_on, currency, amount_minor FROM payments", conn)
    engine.dispose()
    days = snap["day"].cast(pl.String).str.slice(0, 10).unique().sort().to_list()
    assert days[0] == "2026-01-01" and days[-1] == "2026-01-25" and len(days) == 25
    # Collected per day and currency equals the payments of that day (never summed across currencies).
    snap = snap.with_columns(pl.col("day").cast(pl.String).str.slice(0, 10))
    got = snap.group_by("day", "currency").agg(pl.col("collected").sum()).filter(pl.col("collected") > 0)
    want = paid.with_columns(pl.col("paid_on").cast(pl.String).str.slice(0, 10).alias("day")).group_by(
        "day", "currency").agg(pl.col("amount_minor").sum().alias("collected"))
    assert sorted(got.rows()) == sorted(want.select("day", "currency", "collected").rows())
    # The last day's loan counts per bucket match the stored state of open loans.
    last = snap.filter(pl.col("day") == "2026-01-25")
    open_ = state.filter(~pl.col("status").is_in(["paid_off", "settled", "written_off", "pending"]))
    assert last["loans"].sum() == open_.height
    per_bucket = last.group_by("bucket").agg(pl.col("loans").sum()).filter(pl.col("loans") > 0)
    assert sorted(per_bucket.rows()) == sorted(
        open_.group_by("bucket").agg(pl.len().cast(pl.Int64)).rows())


def test_the_close_decides_promises_kept_or_broken(db_url, book, tmp_path):
    # B1 promises 500.00 on L4 (due 01-12) by 01-16 and pays 300 + 200: kept on the 16th. On L1 a
    # promise of 1,000.00 by 01-14 gets nothing: broken on the 15th.
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "event_id,borrower_id,loan_id,channel,direction,at,party,address,outcome,promise_amount,promise_date\n"
        "E1,B1,L4,agent_call,outbound,2026-01-13T10:00:00+08:00,borrower,+8613800138000,promise_to_pay,500.00,2026-01-16\n"
        "E2,B1,L1,agent_call,outbound,2026-01-13T10:05:00+08:00,borrower,+8613800138000,promise_to_pay,1000.00,2026-01-14\n",
        encoding="utf-8")
    payments = tmp_path / "more.csv"
    payments.write_text("payment_id,loan_id,amount,currency,paid_on,method\n"
                        "Q1,L4,300.00,CNY,2026-01-14,wallet\nQ2,L4,200.00,CNY,2026-01-16,wallet\n", encoding="utf-8")
    load(db_url, book)
    for kind, path in (("contacts", contacts), ("payments", payments)):
        assert run_cli(db_url, "import", kind, str(path), "--date", "2026-01-13").returncode == 0
    assert run_cli(db_url, "close-day", "--date", "2026-01-20", "--allow-future").returncode == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        got = pl.read_database("SELECT promise_id, status, decided_on, paid_toward FROM promises ORDER BY promise_id", conn)
    engine.dispose()
    rows = [(p, s, str(d)[:10], a) for p, s, d, a in got.rows()]
    assert rows == [("E1", "kept", "2026-01-16", 50_000), ("E2", "broken", "2026-01-15", 0)]
    # The account view answers for its own date: on the 15th the promise on L4 was still open.
    view = _account(db_url, "L4", "--as-of", "2026-01-15")
    assert [(p["status"], p["paid_toward"]) for p in view["promises"]] == [("open", "300.00")]
