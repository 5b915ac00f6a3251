"""Contacts, flags and agents imports on both backends, and what `arrears account` shows of them.

INTERFACE.md (contacts, the outcome table, flags, agents, account): outcomes set flags, a flags row
with ``end_on`` lifts them; every problem is ``row N, column C: …``, exit 2, nothing changed; the
same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from arrears.ingest.runner import import_file
from arrears.store import tables as t
from tests.ingest.support import flat, problem_lines, snapshot, write_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = dt.date(2026, 1, 1)
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
CONTACT_COLUMNS = (
    "event_id", "borrower_id", "loan_id", "loan_ids", "action_id", "channel", "direction", "at", "party",
    "address", "outcome", "written", "promise_amount", "promise_date", "hours_from", "hours_to",
    "recording_ref", "agency_id",
)
FLAG_COLUMNS = ("flag_id", "borrower_id", "loan_id", "flag", "value", "start_on", "end_on", "source", "written")
AGENT_COLUMNS = ("agent_id", "team", "languages", "jurisdictions", "daily_calls", "daily_visits")


# --------------------------------------------------------------------------- helpers


def contact(event_id: str, **over: str) -> dict:
    row = {
        "event_id": event_id, "borrower_id": "B003", "loan_id": "L004", "channel": "agent_call",
        "direction": "outbound", "at": "2026-02-10T10:15:00-05:00", "party": "borrower",
        "address": "+16175550123", "outcome": "right_party_contact",
    }
    row.update(over)
    return row


def flag(flag_id: str, **over: str) -> dict:
    row = {"flag_id": flag_id, "borrower_id": "B003", "loan_id": "L004", "flag": "bankruptcy", "value": "7",
           "start_on": "2026-02-01", "source": "court"}
    row.update(over)
    return row


def flags_of(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["flag_id"]: dict(r) for r in conn.execute(select(t.flags)).mappings()}


def day(value) -> str:
    return str(value)[:10]


@pytest.fixture
def book(engine):
    for kind, name in (("products", "products.toml"), ("borrowers", "borrowers.csv"),
                       ("references", "references.csv"), ("loans", "loans.csv")):
        import_file(engine, kind, EXAMPLES / name, business_date=DAY, now=NOW)
    return engine


# --------------------------------------------------------------------------- contacts → flags


def test_dispute_sets_a_flag_and_a_flags_row_with_end_on_lifts_it(book, db_url, cli, tmp_path):
    contacts = write_csv(tmp_path / "contacts.csv", [
        # 23:30 in New York is already the 11th in UTC: the flag starts on the local date.
        contact("E1", outcome="dispute", written="true", channel="letter", direction="inbound",
                address="", at="2026-02-10T23:30:00-05:00"),
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", contacts, db=db_url)
    assert r.exit_code == 0, r.output

    f = flags_of(book)["contact:E1:L004"]
    assert (f["flag"], f["loan_id"], f["source"], f["written"], f["event_id"], f["end_on"]) == (
        "dispute", "L004", "contact", True, "E1", None)
    assert day(f["start_on"]) == "2026-02-10"

    lift = write_csv(tmp_path / "lift.csv", [
        {"flag_id": "F-LIFT-1", "borrower_id": "B003", "loan_id": "L004", "flag": "dispute",
         "start_on": "2026-02-10", "end_on": "2026-03-05", "source": "letter", "written": "true"},
    ], FLAG_COLUMNS)
    r = cli("import", "flags", lift, db=db_url, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    after = flags_of(book)
    f = after["contact:E1:L004"]
    assert day(f["start_on"]) == "2026-02-10"  # the original start stays
    assert day(f["end_on"]) == "2026-03-05"
    assert f["lifted_by"] == "F-LIFT-1" and f["lifted_at"] is not None
    assert "F-LIFT-1" not in after  # the lifting row is the lift, not another dispute

    before = snapshot(book)
    assert cli("import", "flags", lift, db=db_url).exit_code == 0
    assert cli("import", "contacts", contacts, db=db_url).exit_code == 0
    assert snapshot(book) == before

    # The dispute was in force on 2026-03-01 and is gone on the lift date.
    on = json.loads(cli("account", "L004", "--as-of", "2026-03-01", "--json", db=db_url).stdout)
    assert [(x["flag"], x["since"], x["until"], x["source"]) for x in on["flags"]] == [
        ("dispute", "2026-02-10", "2026-03-05", "contact")]
    off = json.loads(cli("account", "L004", "--as-of", "2026-03-05", "--json", db=db_url).stdout)
    assert off["flags"] == []


def test_opt_out_is_recorded_per_channel_and_address(book, db_url, cli, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [
        contact("E1", channel="sms", direction="inbound", outcome="opt_out"),
        contact("E2", channel="email", direction="inbound", outcome="opt_out", address="maria@example.com"),
        contact("E3", outcome="cease_request"),  # oral: closes that channel, every number (INTERFACE.md)
        contact("E4", channel="letter", direction="inbound", outcome="cease_request", written="true", address=""),
        contact("E5", channel="sms", outcome="undeliverable", address="+16175550124"),
        contact("E6", outcome="wrong_party", address="+16175550125"),
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", path, db=db_url)
    assert r.exit_code == 0, r.output
    got = {(f["flag_id"], f["flag"], f["value"], f["loan_id"]) for f in flags_of(book).values()}
    assert got == {
        ("contact:E1", "opt_out", "sms:+16175550123", None),
        ("contact:E2", "opt_out", "email:maria@example.com", None),
        ("contact:E3", "opt_out", "agent_call", None),
        ("contact:E4:L004", "cease", None, "L004"),
        ("contact:E5", "undeliverable", "sms:+16175550124", None),
        ("contact:E6", "wrong_number", "+16175550125", None),
    }


def test_timestamp_without_offset_and_unknown_parties_are_refused(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(tmp_path / "contacts.csv", [
        contact("E1"),
        contact("E2", at="2026-02-10T10:15:00"),
        contact("E3", party="AB-77"),  # e.g. someone from the phone's address book: never stored
        contact("E4", party="R001"),  # a reference of another borrower (B001)
        contact("E5", party="R002"),  # B003's own reference: fine
        contact("E6", at="2026-02-30T10:15:00+08:00"),
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", path, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(2, "at"), (3, "party"), (4, "party"), (6, "at")]
    text = flat(r.output)
    assert "has no offset" in text
    assert "address book" in text
    assert "belongs to borrower 'B001'" in text
    assert snapshot(book) == before


def test_promise_to_pay_needs_amount_date_and_loan_in_the_loans_currency(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(tmp_path / "contacts.csv", [
        contact("E1", outcome="promise_to_pay", promise_date="2026-02-20"),
        contact("E2", outcome="promise_to_pay", promise_amount="100.00", promise_date="2026-02-20", loan_id=""),
        contact("E3", outcome="promise_to_pay", promise_amount="100.001", promise_date="2026-02-20"),
        contact("E4", outcome="right_party_contact", promise_amount="100.00"),
        contact("E5", outcome="preferred_hours", hours_from="18:00"),
        contact("E6", outcome="promise_to_pay", promise_amount="100.00", promise_date="2026-02-20", loan_id="L001"),
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", path, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [
        (1, "promise_amount"), (2, "loan_id"), (3, "promise_amount"), (4, "promise_amount"), (5, "hours_to"),
        (6, "loan_id"),
    ]
    assert "more decimals than USD allows" in flat(r.output)
    assert snapshot(book) == before


def test_same_event_twice_changes_nothing_and_different_content_is_refused(book, db_url, cli, tmp_path):
    rows = [
        contact("E1", outcome="promise_to_pay", promise_amount="150.00", promise_date="2026-02-20"),
        contact("E2", outcome="plan_accepted"),
        contact("E3", outcome="preferred_hours", hours_from="18:00", hours_to="20:30"),
        contact("E4", outcome="no_answer", loan_id="", loan_ids="L004"),
    ]
    path = write_csv(tmp_path / "contacts.csv", rows + rows[:1], CONTACT_COLUMNS)  # an identical repeat is harmless
    r = cli("import", "contacts", path, db=db_url)
    assert r.exit_code == 0, r.output
    assert "5 rows read, 4 added" in flat(r.output)
    with book.connect() as conn:
        promise = conn.execute(select(t.promises)).mappings().one()
        arrangement = conn.execute(select(t.arrangements)).mappings().one()
        stored = {c["event_id"]: c for c in conn.execute(select(t.contacts)).mappings()}
    assert (promise["promise_id"], promise["amount_minor"], promise["currency"], promise["status"]) == (
        "E1", 15000, "USD", "open")
    assert (arrangement["arrangement_id"], arrangement["loan_id"], arrangement["status"]) == ("E2", "L004", "open")
    assert stored["E1"]["at_offset"] == "-05:00"
    assert stored["E4"]["loan_ids"] == "L004"
    assert flags_of(book)["contact:E3"]["value"] == "18:00-20:30"

    before = snapshot(book)
    assert cli("import", "contacts", path, db=db_url).exit_code == 0
    assert snapshot(book) == before

    changed = write_csv(tmp_path / "changed.csv", [
        contact("E1", outcome="promise_to_pay", promise_amount="200.00", promise_date="2026-02-20"),
        contact("E2", outcome="plan_accepted", at="2026-02-10T16:15:00+01:00"),  # the same instant: no change
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", changed, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(1, "promise_amount"), (2, "at")]  # the offset is part of the fact
    assert snapshot(book) == before


# --------------------------------------------------------------------------- flags


def test_flag_lifted_by_its_own_id_keeps_its_start_and_other_changes_are_refused(book, db_url, cli, tmp_path):
    first = write_csv(tmp_path / "f1.csv", [flag("F1"), flag("F2", flag="vulnerable", value="", loan_id="")],
                      FLAG_COLUMNS)
    assert cli("import", "flags", first, db=db_url).exit_code == 0
    lift = write_csv(tmp_path / "f2.csv", [flag("F1", end_on="2026-04-01")], FLAG_COLUMNS)
    r = cli("import", "flags", lift, db=db_url)
    assert r.exit_code == 0, r.output
    f1 = flags_of(book)["F1"]
    assert (day(f1["start_on"]), day(f1["end_on"]), f1["lifted_by"]) == ("2026-02-01", "2026-04-01", "F1")

    before = snapshot(book)
    assert cli("import", "flags", first, db=db_url).exit_code == 0  # the earlier file again: no change
    assert cli("import", "flags", lift, db=db_url).exit_code == 0
    assert snapshot(book) == before

    bad = write_csv(tmp_path / "f3.csv", [
        flag("F1", end_on="2026-05-01"), flag("F2", flag="vulnerable", value="", loan_id="", start_on="2026-01-01"),
        flag("F3", flag="sad"), flag("F4", end_on="2026-01-01"), flag("F5", loan_id="L001"),
    ], FLAG_COLUMNS)
    r = cli("import", "flags", bad, db=db_url)
    assert r.exit_code == 2, r.output
    assert problem_lines(r.output) == [(1, "end_on"), (2, "start_on"), (3, "flag"), (4, "end_on"), (5, "loan_id")]
    assert snapshot(book) == before


# --------------------------------------------------------------------------- agents


def test_agents_are_versioned_by_business_date(book, db_url, cli, tmp_path):
    a1 = write_csv(tmp_path / "a1.csv", [
        {"agent_id": "A1", "team": "us-east", "languages": "en-US;es-US", "jurisdictions": "US-MA;US-CA",
         "daily_calls": "80", "daily_visits": "0"},
    ], AGENT_COLUMNS)
    assert cli("import", "agents", a1, "--date", "2026-01-01", db=db_url).exit_code == 0
    before = snapshot(book)
    same = write_csv(tmp_path / "same.csv", [
        {"agent_id": "A1", "team": "us-east", "languages": "es-US; en-US", "jurisdictions": "US-CA;US-MA",
         "daily_calls": "80", "daily_visits": "0"},
    ], AGENT_COLUMNS)
    assert cli("import", "agents", same, "--date", "2026-02-01", db=db_url).exit_code == 0
    assert snapshot(book) == before  # the same lists in another order are no new version

    more = write_csv(tmp_path / "a2.csv", [
        {"agent_id": "A1", "team": "us-east", "languages": "en-US", "jurisdictions": "US-MA",
         "daily_calls": "60", "daily_visits": "2"},
    ], AGENT_COLUMNS)
    assert cli("import", "agents", more, "--date", "2026-03-01", db=db_url).exit_code == 0
    with book.connect() as conn:
        versions = [(day(r.valid_from), r.languages, r.daily_calls)
                    for r in conn.execute(select(t.agents).order_by(t.agents.c.valid_from))]
    assert versions == [("2026-01-01", "en-US;es-US", 80), ("2026-03-01", "en-US", 60)]

    bad = write_csv(tmp_path / "bad.csv", [
        {"agent_id": "A2", "team": "cn", "languages": "zh_CN", "jurisdictions": "CN;HK",
         "daily_calls": "-1", "daily_visits": ""},
    ], AGENT_COLUMNS)
    r = cli("import", "agents", bad, db=db_url)
    assert r.exit_code == 2
    assert problem_lines(r.output) == [(1, "daily_calls"), (1, "daily_visits"), (1, "jurisdictions"), (1, "languages")]


# --------------------------------------------------------------------------- the account view


def test_account_json_shows_flags_contacts_newest_first_and_promises(book, db_url, cli, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [
        contact("E1", at="2026-02-10T10:15:00-05:00", outcome="no_answer"),
        contact("E2", at="2026-02-12T09:00:00-05:00", outcome="promise_to_pay", promise_amount="150.50",
                promise_date="2026-02-20"),
        contact("E3", at="2026-02-11T18:00:00-05:00", channel="sms", direction="inbound", outcome="opt_out"),
        contact("E4", at="2026-02-13T09:00:00-05:00", outcome="hardship", loan_id=""),  # about no loan: shown
        contact("E5", borrower_id="B004", loan_id="L005", address="+13105550187", outcome="bankruptcy"),
        contact("E6", at="2026-03-20T09:00:00-05:00", outcome="right_party_contact"),  # after as_of
    ], CONTACT_COLUMNS)
    r = cli("import", "contacts", path, db=db_url)
    assert r.exit_code == 0, r.output
    r = cli("account", "L004", "--as-of", "2026-03-01", "--json", db=db_url)
    assert r.exit_code == 0, r.output
    view = json.loads(r.stdout)
    assert [(c["event_id"], c["at"], c["channel"], c["direction"], c["party"], c["outcome"], c["address"])
            for c in view["contacts"]] == [
        ("E4", "2026-02-13T09:00:00-05:00", "agent_call", "outbound", "borrower", "hardship", "+16175550123"),
        ("E2", "2026-02-12T09:00:00-05:00", "agent_call", "outbound", "borrower", "promise_to_pay", "+16175550123"),
        ("E3", "2026-02-11T18:00:00-05:00", "sms", "inbound", "borrower", "opt_out", "+16175550123"),
        ("E1", "2026-02-10T10:15:00-05:00", "agent_call", "outbound", "borrower", "no_answer", "+16175550123"),
    ]
    # Nothing was paid towards it, so as of 2026-03-01 the promise (by 2026-02-20) is broken; the
    # account view decides a promise as of its own date (book/promises.py).
    assert [(p["amount"], p["date"], p["status"]) for p in view["promises"]] == [("150.50", "2026-02-20", "broken")]
    assert [(f["flag"], f["value"], f["since"], f["until"], f["source"]) for f in view["flags"]] == [
        ("opt_out", "sms:+16175550123", "2026-02-11", None, "contact"),
        ("hardship", None, "2026-02-13", None, "contact"),
    ]
    # Before anything was recorded, none of it was known.
    early = json.loads(cli("account", "L004", "--as-of", "2026-03-01", "--known-at", "2025-12-31T00:00:00+00:00",
                           "--json", db=db_url).stdout)
    assert (early["flags"], early["contacts"], early["promises"]) == ([], [], [])
