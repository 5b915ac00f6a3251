"""Borrower facts: one row per borrower whatever the number of loans, promises and arrangements."""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.strategy.derive import arrangement_holds, borrower_facts

DAY = dt.date(2026, 3, 10)
D = lambda n: DAY - dt.timedelta(days=n)  # noqa: E731

ARREARS = pl.DataFrame({
    "loan_id": ["L1", "L2", "L3", "L9"], "borrower_id": ["B1", "B1", "B1", "B2"], "currency": ["CNY"] * 4,
    "dpd": [12, 40, 5, 3], "bucket": ["1-29", "30-59", "1-29", "1-29"], "status": ["delinquent"] * 4,
    "dofd": [D(12), D(40), D(5), D(3)], "total_outstanding": [100_000, 50_000, 70_000, 9_000],
    "overdue": [10_000, 20_000, 5_000, 1_000], "missed": [1, 2, 1, 1],
}, schema_overrides={"dpd": pl.Int32, "missed": pl.Int32})
PEOPLE = pl.DataFrame({"borrower_id": ["B1", "B2"], "jurisdiction": ["CN", "CN"], "language": ["zh-CN"] * 2})
NO_FLAGS = pl.DataFrame(schema={"borrower_id": pl.String, "flag": pl.String, "start_on": pl.Date, "end_on": pl.Date})
NO_PROMISES = pl.DataFrame(schema={"promise_id": pl.String, "borrower_id": pl.String, "made_on": pl.Date,
                                   "promise_date": pl.Date, "status": pl.String, "decided_on": pl.Date})
NOBODY = pl.DataFrame(schema={"borrower_id": pl.String})
NO_CONTACTS = pl.DataFrame(schema={"borrower_id": pl.String, "local_date": pl.Date, "outcome": pl.String, "party": pl.String})


def _facts(flags=NO_FLAGS, promises=NO_PROMISES, holds=NOBODY, contacts=NO_CONTACTS) -> dict:
    f = borrower_facts(ARREARS, PEOPLE, flags, promises, holds, contacts, DAY)
    return {r["borrower_id"]: r for r in f.iter_rows(named=True)}


def test_a_borrower_with_three_loans_is_one_row_judged_by_the_worst_loan():
    f = _facts()
    assert len(f) == 2
    b1 = f["B1"]
    assert b1["loan_id"] == "L2" and b1["loan_ids"] == ["L2", "L1", "L3"] and b1["dpd"] == 40
    assert b1["balance"] == 220_000 and b1["missed_instalments"] == 4 and b1["episode_start"] == D(40)


def test_flags_in_force_only_between_start_and_end():
    flags = pl.DataFrame({"borrower_id": ["B1", "B1", "B2"], "flag": ["dispute", "hardship", "cease"],
                          "start_on": [D(5), D(20), DAY + dt.timedelta(days=1)], "end_on": [None, D(1), None]})
    f = _facts(flags=flags)
    assert f["B1"]["flags"] == ["dispute"] and f["B2"]["flags"] == []


def test_promises_open_kept_and_broken():
    promises = pl.DataFrame({
        "promise_id": ["P1", "P2", "P3"], "borrower_id": ["B1", "B1", "B2"], "made_on": [D(9), D(3), D(2)],
        "promise_date": [D(4), DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=1)],
        "status": ["broken", "kept", "open"], "decided_on": [D(3), D(1), None]})
    f = _facts(promises=promises)
    # A kept promise still holds contact until its date; the broken one three days ago is remembered.
    assert (f["B1"]["promise_status"], f["B1"]["promise_holds"], f["B1"]["days_since_broken_promise"]) == ("kept", True, 3)
    assert (f["B2"]["promise_status"], f["B2"]["promise_holds"]) == ("open", True)


def test_days_since_right_party_contact_and_refusals_count_within_the_episode():
    contacts = pl.DataFrame({
        "borrower_id": ["B1", "B1", "B1", "B2"], "local_date": [D(50), D(8), D(2), D(1)],
        "outcome": ["right_party_contact", "refused_to_pay", "no_answer", "wrong_party"],
        "party": ["borrower"] * 4})
    f = _facts(contacts=contacts)
    # The contact 50 days ago was before this episode (dofd 40 days ago): days count from its start.
    assert (f["B1"]["days_since_rpc"], f["B1"]["refusals"]) == (8, 1)
    assert f["B2"]["days_since_rpc"] == 3


def test_an_arrangement_holds_while_its_instalments_are_paid():
    arr = pl.DataFrame({"borrower_id": ["B1", "B2", "B3"], "made_on": [D(40)] * 3, "instalment": [10_000] * 3,
                        "count": [3] * 3, "period_days": [30] * 3, "first_due_on": [D(35)] * 3})
    # Two instalments are due before today (35 and 5 days ago).
    paid = pl.DataFrame({"borrower_id": ["B1", "B1", "B2", "B2"], "paid_on": [D(36), D(6), D(36), D(6)],
                         "amount": [10_000, 10_000, 10_000, 4_000]})
    held = set(arrangement_holds(arr, paid, DAY)["borrower_id"])
    assert held == {"B1"}  # B2 paid 140 of 200; B3 paid nothing


def test_an_arrangement_of_unknown_terms_holds_for_a_fortnight():
    arr = pl.DataFrame({"borrower_id": ["B1", "B2"], "made_on": [D(13), D(14)], "instalment": [None, None],
                        "count": [None, None], "period_days": [None, None], "first_due_on": [None, None]},
                       schema_overrides={"instalment": pl.Int64, "count": pl.Int64, "period_days": pl.Int64,
                                         "first_due_on": pl.Date})
    no_pay = pl.DataFrame(schema={"borrower_id": pl.String, "paid_on": pl.Date, "amount": pl.Int64})
    assert set(arrangement_holds(arr, no_pay, DAY)["borrower_id"]) == {"B1"}
