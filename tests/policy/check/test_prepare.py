"""``prepare``'s loans: the path for one loan per action (a join, no group-by) and the grouped one
(several loans, or a loan id the loans hold twice) give each action the same facts."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from arrears.policy.check.prepare import prepare
from arrears.policy.check.world import BORROWERS, LOANS, World, actions_frame

AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
FACTS = ("action_id", "currency", "receivable", "time_barred_on")


def _world(loans: list[tuple]) -> World:
    empty = World.empty()
    borrowers = pl.DataFrame([("B1", "CN", ["Asia/Shanghai"], None, None, None, None),
                              ("B2", "CN", ["Asia/Shanghai"], None, None, None, None)], schema=BORROWERS, orient="row")
    return World(borrowers, empty.references, empty.contacts, empty.flags,
                 pl.DataFrame(loans, schema=LOANS, orient="row"))


def _actions(loans: dict[str, list[str | None]]) -> pl.DataFrame:
    return actions_frame([
        {"action_id": aid, "borrower_id": "B1" if aid < "A3" else "B2", "loan_id": ids[0], "loan_ids": ids,
         "action": "agent_call", "channel": "agent_call", "party": "borrower", "start": AT}
        for aid, ids in loans.items()])


LOANS_HELD = [("L1", "B1", "CNY", 500, None), ("L2", "B1", "CNY", 700, dt.date(2020, 1, 1)),
              ("L3", "B2", "CNY", None, dt.date(2021, 1, 1))]
ONE_EACH = {"A1": ["L1"], "A2": ["L2"], "A3": ["L3"], "A4": ["L9"], "A5": [None]}


def test_one_loan_per_action_has_the_grouped_facts():
    one = prepare(_actions(ONE_EACH), _world(LOANS_HELD)).select(FACTS).sort("action_id")
    # The same actions beside one with two loans: every action goes through the group-by.
    grouped = prepare(_actions({**ONE_EACH, "A0": ["L1", "L2"]}), _world(LOANS_HELD)).select(FACTS).sort("action_id")
    assert_frame_equal(one, grouped.filter(pl.col("action_id") != "A0"))
    assert grouped.row(0) == ("A0", "CNY", 1200, dt.date(2020, 1, 1))
    # An unknown loan, no loan, a loan without receivable: nothing owed is known, 0.
    assert one["receivable"].to_list() == [500, 700, 0, 0, 0]


def test_a_loan_held_twice_counts_both_rows():
    twice = prepare(_actions({"A1": ["L1"], "A2": ["L2"]}),
                    _world([*LOANS_HELD, ("L1", "B1", "CNY", 300, dt.date(2022, 1, 1))])).select(FACTS).sort("action_id")
    assert twice.rows() == [("A1", "CNY", 800, dt.date(2022, 1, 1)), ("A2", "CNY", 700, dt.date(2020, 1, 1))]
