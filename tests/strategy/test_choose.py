"""Which state each borrower is in and what it plans: first match wins, cadence, expected value,
visits both ways, and each statutory notice at its moment."""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.strategy.choose import choose
from arrears.strategy.load import champion
from tests.strategy.support import DAY, NO_PLANS, facts

CN, US, GB = champion("CN"), champion("US"), champion("GB")


def _plan(f: pl.DataFrame, strategy=CN, last=NO_PLANS, role="first_party"):
    p, states = choose(f, strategy, DAY, last, role)
    return p, dict(states.select("borrower_id", "state").iter_rows())


def _actions(p: pl.DataFrame, borrower: str) -> list[str]:
    return sorted(p.filter(pl.col("borrower_id") == borrower)["action"].to_list())


def test_a_broken_promise_moves_the_account():
    f = facts({"dpd": 12}, {"dpd": 12, "promise_status": "broken", "days_since_broken_promise": 3})
    p, states = _plan(f)
    assert states == {"B1": "early: call and plan offer", "B2": "promise broken"}
    assert "broken 3 days ago" in p.filter(pl.col("borrower_id") == "B2")["reason"][0]


def test_a_promise_or_a_kept_arrangement_holds_contact_and_a_dispute_stops_it():
    f = facts({"promise_holds": True, "promise_status": "open"}, {"arrangement_holds": True},
              {"flags": ["dispute"]}, {})
    p, states = _plan(f)
    assert states["B1"] == "promise pending" and states["B2"] == "arrangement kept" and states["B3"] == "on hold"
    assert set(p["borrower_id"]) == {"B4"}


def test_first_match_wins_worst_first():
    # 95 dpd, large, silent for 70 days: the agency state comes before the visit state.
    f = facts({"dpd": 95, "balance": 900_000, "days_since_rpc": 70}, {"dpd": 40, "balance": 900_000, "days_since_rpc": 35})
    _, states = _plan(f)
    assert states == {"B1": "refuses contact, large debt: agency", "B2": "refuses contact, large debt: visit"}


def test_no_field_visit_below_the_visit_minimum_and_a_visit_above_it_for_a_refusing_borrower():
    f = facts(
        {"dpd": 45, "balance": 299_999, "days_since_rpc": 40},  # CNY 2,999.99: below ARREARS-VISIT-MIN
        {"dpd": 45, "balance": 300_000, "days_since_rpc": 40},  # CNY 3,000.00 and silent for 40 days
        {"dpd": 45, "balance": 900_000, "days_since_rpc": 5},  # large but reachable: calls, not the door
    )
    p, _ = _plan(f)
    assert "field_visit" not in _actions(p, "B1") and "agent_call" in _actions(p, "B1")
    assert "field_visit" in _actions(p, "B2")
    assert "field_visit" not in _actions(p, "B3")


def test_an_action_that_costs_more_than_it_can_recover_is_left_out():
    # 0.04 × CNY 150.00 = 6.00 < a call's 8.00; the plan offer by SMS (0.02 × 150.00 > 0.05) still goes.
    f = facts({"dpd": 12, "balance": 15_000}, {"dpd": 12, "balance": 500_000})
    p, _ = _plan(f)
    assert _actions(p, "B1") == ["plan_offer"]
    assert "agent_call" in _actions(p, "B2")
    assert (p["expected_value_micro"] > 0).all()


def test_cadence_counts_from_the_last_time_it_was_planned():
    f = facts({"dpd": 3}, {"dpd": 3})
    last = pl.DataFrame({"borrower_id": ["B1", "B2"], "action": ["sms", "sms"], "template_id": ["cn_reminder_sms"] * 2,
                         "last_on": [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=3)]})
    p, _ = _plan(f, last=last)
    assert _actions(p, "B1") == [] and _actions(p, "B2") == ["sms"]  # cadence 3 days


def test_offers_carry_exact_terms():
    f = facts({"dpd": 35, "balance": 840_000, "days_since_rpc": 3})
    p, _ = _plan(f)
    offer = p.filter(pl.col("action") == "settlement_offer").row(0, named=True)
    # 20% off CNY 8,400.00, to pay within 14 days.
    assert offer["offer"] == ('{"type": "settlement", "amount": "6720.00", "currency": "CNY", "pay_by": "2026-03-16"}')
    assert offer["offer_amount"] == 672_000 and offer["reason"].startswith("DPD 35, balance 8,400.00 CNY")


def test_cn_pre_report_notice_at_20_dpd_until_sent():
    f = facts({"dpd": 19}, {"dpd": 20}, {"dpd": 25, "flags": ["cn_prereport_notice_sent"]})
    p, _ = _plan(f)
    notices = p.filter(pl.col("is_notice"))
    assert notices.select("borrower_id", "template_id", "sets_flag").rows() == [("B2", "cn_prereport_notice", "cn_prereport_notice_sent")]


def test_us_validation_notice_for_third_party_collectors_only():
    f = facts({"jurisdiction": "US-CA", "language": "en-US", "dpd": 1, "balance": 50_000})
    first, _ = _plan(f, US, role="first_party")
    third, _ = _plan(f, US, role="third_party")
    assert not first["is_notice"].any()
    assert third.filter(pl.col("is_notice"))["template_id"].to_list() == ["us_validation_notice"]


def test_gb_nosia_after_two_missed_payments_and_default_notice_after_it():
    f = facts(
        {"jurisdiction": "GB", "language": "en-GB", "missed_instalments": 1, "dpd": 20},
        {"jurisdiction": "GB", "language": "en-GB", "missed_instalments": 2, "dpd": 40},
        {"jurisdiction": "GB", "language": "en-GB", "missed_instalments": 4, "dpd": 95, "flags": ["gb_nosia_sent"]},
        {"jurisdiction": "GB", "language": "en-GB", "missed_instalments": 4, "dpd": 95,
         "flags": ["gb_nosia_sent", "gb_default_notice_sent"]},
    )
    p, _ = _plan(f, GB)
    notices = dict(p.filter(pl.col("is_notice")).select("borrower_id", "template_id").iter_rows())
    assert notices == {"B2": "gb_nosia", "B3": "gb_default_notice"}


def test_gb_agency_placement_only_after_the_default_notice():
    quiet = {"jurisdiction": "GB", "language": "en-GB", "dpd": 130, "balance": 200_000, "days_since_rpc": 80,
             "missed_instalments": 5}
    f = facts({**quiet, "flags": ["gb_nosia_sent"]}, {**quiet, "flags": ["gb_nosia_sent", "gb_default_notice_sent"]})
    p, _ = _plan(f, GB)
    assert "agency_placement" not in _actions(p, "B1") and "agency_placement" in _actions(p, "B2")
