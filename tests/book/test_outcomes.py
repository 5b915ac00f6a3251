"""The outcome table as data: what each outcome counts as, per channel, and the facts it sets."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from arrears.book import outcomes as oc


def counts(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str, bool, bool, bool]]:
    frame = pl.DataFrame(rows, schema=["channel", "direction", "outcome"], orient="row")
    out = oc.with_call_counts(frame)
    return out.select("channel", "direction", "outcome", "placed_call", "connected", "conversation").rows()


def test_placed_connected_and_conversation_follow_the_table_on_telephone_channels():
    assert counts([
        ("agent_call", "outbound", "not_connected"),
        ("agent_call", "outbound", "busy"),
        ("agent_call", "outbound", "no_answer"),
        ("robocall", "outbound", "voicemail"),
        ("agent_call", "outbound", "right_party_contact"),
        ("agent_call", "outbound", "promise_to_pay"),
        ("robocall", "outbound", "complaint"),
        ("agent_call", "outbound", "wrong_party"),
        ("agent_call", "outbound", "dispute"),
        ("robocall", "outbound", "undeliverable"),
    ]) == [
        ("agent_call", "outbound", "not_connected", False, False, False),
        ("agent_call", "outbound", "busy", False, False, False),
        ("agent_call", "outbound", "no_answer", True, False, False),
        ("robocall", "outbound", "voicemail", True, False, False),
        ("agent_call", "outbound", "right_party_contact", True, True, True),
        ("agent_call", "outbound", "promise_to_pay", True, True, True),
        ("robocall", "outbound", "complaint", True, True, True),
        ("agent_call", "outbound", "wrong_party", True, True, False),
        ("agent_call", "outbound", "dispute", True, True, True),
        ("robocall", "outbound", "undeliverable", False, False, False),
    ]


def test_inbound_calls_are_conversations_but_not_placed_calls():
    assert counts([
        ("agent_call", "inbound", "right_party_contact"),
        ("agent_call", "inbound", "dispute"),
        ("agent_call", "inbound", "wrong_party"),
    ]) == [
        ("agent_call", "inbound", "right_party_contact", False, True, True),
        ("agent_call", "inbound", "dispute", False, True, True),
        ("agent_call", "inbound", "wrong_party", False, True, False),
    ]


def test_other_channels_are_never_calls():
    rows = [(ch, d, o) for ch in ("sms", "email", "letter", "field_visit", "app_push")
            for d in oc.DIRECTIONS for o in ("right_party_contact", "dispute", "no_answer", "delivered")]
    assert all(not (p or c or v) for *_, p, c, v in counts(rows))


def test_every_outcome_has_one_row_and_every_fact_is_a_known_flag():
    interface = (  # INTERFACE.md's outcome table, in its order
        "not_connected busy no_answer voicemail delivered undeliverable right_party_contact promise_to_pay "
        "refused_to_pay offer_declined settlement_accepted plan_accepted hardship complaint wrong_party dispute "
        "cease_request opt_out call_consent no_calls_at_work preferred_hours attorney_represented bankruptcy "
        "deceased vulnerable breathing_space"
    ).split()
    assert len(oc.NAMES) == len(set(oc.NAMES))
    assert set(oc.NAMES) == set(interface)
    facts = {o.sets for o in oc.OUTCOMES if o.sets} | set(oc.WRITTEN_FLAG.values())
    assert facts <= set(oc.FLAG_VOCABULARY)
    assert facts <= set(oc.SCOPE)


def contact_frame(rows: list[dict]) -> pl.DataFrame:
    base = {"borrower_id": "B1", "loan_id": None, "loan_ids": [], "channel": "agent_call", "address": "+15550001",
            "written": None, "local_date": dt.date(2026, 3, 1), "hours_from": None, "hours_to": None}
    return pl.DataFrame([{**base, **r} for r in rows], schema=oc.CONTACT_FACTS)


def test_flag_rows_from_outcomes():
    frame = contact_frame([
        {"event_id": "E1", "outcome": "dispute", "written": True, "loan_id": "L1", "loan_ids": ["L1", "L2"]},
        {"event_id": "E2", "outcome": "cease_request", "written": True},
        {"event_id": "E3", "outcome": "cease_request", "channel": "sms", "written": False},
        {"event_id": "E4", "outcome": "opt_out", "channel": "email", "address": None},
        {"event_id": "E5", "outcome": "deceased", "loan_id": "L1", "loan_ids": ["L1"]},  # a person fact: every loan
        {"event_id": "E6", "outcome": "call_consent", "written": True, "loan_id": "L1", "loan_ids": ["L1"]},
        {"event_id": "E7", "outcome": "call_consent"},
        {"event_id": "E8", "outcome": "preferred_hours", "hours_from": "09:00", "hours_to": "12:00"},
        {"event_id": "E9", "outcome": "attorney_represented"},
        {"event_id": "E10", "outcome": "right_party_contact"},  # no fact
        {"event_id": "E11", "outcome": "promise_to_pay", "loan_id": "L1", "loan_ids": ["L1"]},  # a promise, no flag
    ])
    got = oc.flag_rows(frame)
    expected = pl.DataFrame(
        [
            ("contact:E1:L1", "L1", "dispute", None, True, "E1"),
            ("contact:E1:L2", "L2", "dispute", None, True, "E1"),
            ("contact:E2", None, "cease", None, True, "E2"),
            # "Stop" said out loud closes the whole channel (INTERFACE.md), not only that number.
            ("contact:E3", None, "opt_out", "sms", False, "E3"),
            ("contact:E4", None, "opt_out", "email", None, "E4"),
            ("contact:E5", None, "deceased", None, None, "E5"),
            ("contact:E6:L1", "L1", "tcpa_consent", None, True, "E6"),
            ("contact:E7", None, "call_consent", None, None, "E7"),
            ("contact:E8", None, "preferred_hours", "09:00-12:00", None, "E8"),
            ("contact:E9", None, "attorney", None, None, "E9"),
        ],
        schema=["flag_id", "loan_id", "flag", "value", "written", "event_id"], orient="row",
    ).sort("flag_id")
    assert_frame_equal(got.select(expected.columns), expected)
    assert set(got["source"]) == {"contact"} and set(got["start_on"]) == {dt.date(2026, 3, 1)}
    assert got.schema == oc.FLAG_ROWS
