"""Scenario tests for the United States (Regulation F, FDCPA, TCPA) and the Massachusetts overlay.

Every test names the rule id it is about. Times carry their local offset: New York is UTC-4 from
2026-03-08 to 2026-11-01 and UTC-5 outside it.
"""

from __future__ import annotations

import datetime as dt

from tests.policy.check.support import Scenario, allowed, blocked_by, rules_of, ts

PHONE = "+12125550100"
WORK = "+12125550199"
OTHER = "+12125550142"
SPOUSE = "+12125550123"
FRIEND = "+12125550177"
ESTATE = "+12125550155"
ATTORNEY = "+12125550166"
EMAIL = "pat@example.com"


def us(jurisdiction: str = "US-NY", *, zones: list[str] | None = None, receivable: str = "5000.00",
       employer_email: bool | None = None, time_barred_on: str | None = None) -> Scenario:
    s = Scenario().borrower("B1", jurisdiction, zones=zones, phone=PHONE, email=EMAIL, work_phone=WORK,
                            employer_email=employer_email)
    return s.loan("L1", "B1", "USD", receivable=receivable, time_barred_on=time_barred_on)


def by_id(s: Scenario, role: str = "first_party") -> dict[str, dict]:
    return {r["action_id"]: r for r in s.check(role).iter_rows(named=True)}


def calls(s: Scenario, days: list[int], outcome: str = "no_answer", *, month: str = "2026-04", hour: str = "10",
          **kw) -> Scenario:
    for d in days:
        s.contact("B1", "agent_call", f"{month}-{d:02d}T{hour}:00:00-04:00", outcome, **kw)
    return s


# --- US-TIME -----------------------------------------------------------------------------------


def test_us_time_2059_allowed_2100_blocked():
    """US-TIME: before 21:00 local only; 20:59 is allowed, 21:00 is not (1006.6(b)(1)(i))."""
    s = us().action("A1", "B1", "agent_call", "2026-04-07T20:59:00-04:00")
    assert allowed(s.decide("A1"))
    s = us().action("A1", "B1", "agent_call", "2026-04-07T21:00:00-04:00")
    assert blocked_by(s.decide("A1"), "US-TIME")


def test_us_time_0759_blocked_0800_allowed():
    """US-TIME: after 08:00 local only; 07:59 blocked, 08:00 allowed."""
    s = us().action("A1", "B1", "agent_call", "2026-04-07T07:59:00-04:00")
    d = s.decide("A1")
    assert blocked_by(d, "US-TIME") and rules_of(d) == {"US-TIME"}
    s = us().action("A1", "B1", "agent_call", "2026-04-07T08:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_time_applies_to_texts_at_the_moment_they_are_sent():
    """US-TIME: texts count when sent: an SMS at 21:30 local is blocked, one at 20:00 allowed."""
    s = us().action("A1", "B1", "sms", "2026-04-07T21:30:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "US-TIME")
    s = us().action("A1", "B1", "sms", "2026-04-07T20:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert allowed(s.decide("A1"))


def test_us_time_dst_start_day_finds_0800_local_and_shifts_the_utc_window():
    """US-TIME on 2026-03-08 (DST starts in New York): 08:00 EDT is 12:00 UTC, a day earlier 13:00 UTC."""
    s = us().action("A1", "B1", "agent_call", "2026-03-08T07:59:00-04:00")
    d = s.decide("A1")
    assert blocked_by(d, "US-TIME")
    s = us().action("A1", "B1", "agent_call", "2026-03-08T08:00:00-04:00")
    d = s.decide("A1")
    assert allowed(d)
    assert d["allowed_start"] == ts("2026-03-08T12:00:00+00:00")
    assert d["allowed_end"] == ts("2026-03-09T01:00:00+00:00")
    before = us().action("A1", "B1", "agent_call", "2026-03-07T08:00:00-05:00").decide("A1")
    assert allowed(before)
    assert before["allowed_start"] == ts("2026-03-07T13:00:00+00:00")
    assert before["allowed_end"] == ts("2026-03-08T02:00:00+00:00")
    assert d["allowed_start"] - before["allowed_start"] == dt.timedelta(hours=23)


def test_us_time_dst_end_day_finds_0800_local_and_shifts_the_utc_window():
    """US-TIME on 2026-11-01 (DST ends in New York): 08:00 EST is 13:00 UTC, a day earlier 12:00 UTC."""
    s = us().action("A1", "B1", "agent_call", "2026-11-01T07:59:00-05:00")
    assert blocked_by(s.decide("A1"), "US-TIME")
    d = us().action("A1", "B1", "agent_call", "2026-11-01T08:00:00-05:00").decide("A1")
    assert allowed(d)
    assert d["allowed_start"] == ts("2026-11-01T13:00:00+00:00")
    assert d["allowed_end"] == ts("2026-11-02T02:00:00+00:00")
    before = us().action("A1", "B1", "agent_call", "2026-10-31T08:00:00-04:00").decide("A1")
    assert before["allowed_start"] == ts("2026-10-31T12:00:00+00:00")
    assert before["allowed_end"] == ts("2026-11-01T01:00:00+00:00")


def test_us_time_conflicting_zones_allowed_only_in_both_and_window_is_the_intersection():
    """US-TIME with zones New York and Los Angeles: 08:00-21:00 in both; window 08:00 LA to 21:00 NY."""
    zones = ["America/New_York", "America/Los_Angeles"]
    # 07:59 in Los Angeles is 10:59 in New York: blocked.
    d = us(zones=zones).action("A1", "B1", "agent_call", "2026-04-07T07:59:00-07:00").decide("A1")
    assert blocked_by(d, "US-TIME")
    # 08:00 in Los Angeles (11:00 in New York): allowed.
    d = us(zones=zones).action("A1", "B1", "agent_call", "2026-04-07T08:00:00-07:00").decide("A1")
    assert allowed(d)
    assert d["allowed_start"] == ts("2026-04-07T15:00:00+00:00")  # 08:00 PDT
    assert d["allowed_end"] == ts("2026-04-08T01:00:00+00:00")  # 21:00 EDT
    # 20:59 in New York (17:59 in Los Angeles): allowed; 21:00 New York (18:00 LA): blocked.
    assert allowed(us(zones=zones).action("A1", "B1", "agent_call", "2026-04-07T20:59:00-04:00").decide("A1"))
    assert blocked_by(us(zones=zones).action("A1", "B1", "agent_call", "2026-04-07T21:00:00-04:00").decide("A1"),
                      "US-TIME")


def test_us_time_reports_preferred_hours():
    """US-TIME: a consumer-stated convenient window (preferred_hours) is honoured and reported under US-TIME."""
    s = us().flag("B1", "preferred_hours", "2026-04-01", value="10:00-12:00")
    s.action("A1", "B1", "agent_call", "2026-04-07T13:00:00-04:00")
    d = s.decide("A1")
    assert blocked_by(d, "US-TIME") and rules_of(d) == {"US-TIME"}
    assert "10:00" in d["explanation"] and "12:00" in d["explanation"]
    assert d["allowed_start"] == ts("2026-04-07T10:00:00-04:00")
    assert d["allowed_end"] == ts("2026-04-07T12:00:00-04:00")
    s = us().flag("B1", "preferred_hours", "2026-04-01", value="10:00-12:00")
    s.action("A1", "B1", "agent_call", "2026-04-07T11:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_time_window_proposal_allowed_only_if_the_whole_window_is_inside_the_hours():
    """US-TIME: a window 19:00-20:30 is allowed, 19:00-21:30 and 07:30-09:00 are not (every moment counts)."""
    s = us().action("A1", "B1", "agent_call", window=("2026-04-07T19:00:00-04:00", "2026-04-07T20:30:00-04:00"))
    assert allowed(s.decide("A1"))
    s = us().action("A1", "B1", "agent_call", window=("2026-04-07T19:00:00-04:00", "2026-04-07T21:30:00-04:00"))
    d = s.decide("A1")
    assert blocked_by(d, "US-TIME")
    # Only the hours block: the allowed window is offered.
    assert d["allowed_end"] == ts("2026-04-07T21:00:00-04:00")
    s = us().action("A1", "B1", "agent_call", window=("2026-04-07T07:30:00-04:00", "2026-04-07T09:00:00-04:00"))
    assert blocked_by(s.decide("A1"), "US-TIME")


# --- US-FREQ ------------------------------------------------------------------------------------


def test_us_freq_seven_placed_calls_allowed_eighth_blocked():
    """US-FREQ: more than 7 placed calls in 7 days is presumed harassment: the 7th goes, the 8th not."""
    s = calls(us(), [6, 7, 8, 9, 10, 11])
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert allowed(s.decide("A1"))
    s = calls(us(), [6, 7, 8, 9, 10, 11, 12])
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert blocked_by(s.decide("A1"), "US-FREQ")
    # The next day the call of 04-06 has left the 7-day window.
    s = calls(us(), [6, 7, 8, 9, 10, 11, 12])
    s.action("A1", "B1", "agent_call", "2026-04-13T15:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_freq_unanswered_calls_count():
    """US-FREQ: no_answer and voicemail are placed calls."""
    s = calls(calls(us(), [6, 7, 8, 9], "no_answer"), [10, 11, 12], "voicemail")
    s.action("A1", "B1", "robocall", "2026-04-12T15:00:00-04:00")
    assert blocked_by(s.decide("A1"), "US-FREQ")


def test_us_freq_calls_that_never_connect_do_not_count():
    """US-FREQ: not_connected and busy are not placed calls."""
    s = calls(calls(us(), [6, 7, 8, 9], "not_connected"), [10, 11, 12], "busy")
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_freq_inbound_calls_are_not_placed_calls():
    """US-FREQ: inbound calls never count as placed calls (six placed + inbound ones: the 7th goes)."""
    s = calls(us(), [6, 7, 8, 9, 10, 11])
    calls(s, [11, 12], "voicemail", direction="inbound")
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_freq_inbound_conversation_blocks_calls_seven_days():
    """US-FREQ: an inbound right_party_contact is a conversation: day 1..7 no call, day 8 allowed."""
    def case(date: str) -> dict:
        s = us().contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "right_party_contact", direction="inbound")
        return s.action("A1", "B1", "agent_call", f"{date}T15:00:00-04:00").decide("A1")
    assert blocked_by(case("2026-04-06"), "US-FREQ")  # day 1 (later that day)
    assert blocked_by(case("2026-04-12"), "US-FREQ")  # day 7
    assert allowed(case("2026-04-13"))  # day 8


def test_us_freq_conversation_does_not_stop_texts():
    """US-FREQ counts calls only: after a conversation an SMS is still allowed."""
    s = us().contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "right_party_contact", direction="inbound")
    s.action("A1", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert allowed(s.decide("A1"))


def test_us_freq_calls_to_several_numbers_of_one_person_count_together():
    """US-FREQ: per person across all numbers: 4 calls to the mobile and 3 to the work phone make 7."""
    s = calls(us(), [6, 7, 8, 9], address=PHONE)
    calls(s, [10, 11, 12], address=WORK)
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert blocked_by(s.decide("A1"), "US-FREQ")
    s = calls(us(), [6, 7, 8, 9], address=PHONE)
    calls(s, [10, 11, 12], address=WORK)
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00", address=OTHER)
    assert blocked_by(s.decide("A1"), "US-FREQ")


def test_us_freq_counts_per_debt():
    """US-FREQ: per debt: 7 calls about L1 block L1 but not L2 of the same borrower."""
    def scenario() -> Scenario:
        s = us().loan("L2", "B1", "USD", receivable="3000.00")
        return calls(s, [6, 7, 8, 9, 10, 11, 12], loans=["L1"])
    d = scenario().action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00", loan_id="L1").decide("A1")
    assert blocked_by(d, "US-FREQ")
    d = scenario().action("A2", "B1", "agent_call", "2026-04-12T15:00:00-04:00", loan_id="L2").decide("A2")
    assert allowed(d)


def test_us_freq_conversation_per_debt():
    """US-FREQ: a conversation about L1 blocks calls about L1 for 7 days, not calls about L2."""
    def scenario() -> Scenario:
        s = us().loan("L2", "B1", "USD", receivable="3000.00")
        return s.contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "right_party_contact", loans=["L1"])
    assert blocked_by(scenario().action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00", loan_id="L1")
                      .decide("A1"), "US-FREQ")
    assert allowed(scenario().action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00", loan_id="L2")
                   .decide("A1"))


def test_us_freq_a_call_about_several_debts_is_about_each_of_them():
    """US-FREQ: one call about L2 and L1 (the plan calls once for all of a borrower's loans) is a call
    about L1: a conversation about L1 two days before blocks it, and so do seven calls about L1. A
    conversation about L1 does not block a call about L2 alone (found by the simulation's oracle)."""
    def talked() -> Scenario:
        s = us().loan("L2", "B1", "USD", receivable="3000.00")
        return s.contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "hardship", direction="inbound", loans=["L1"])
    assert blocked_by(talked().action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00", loan_id="L2",
                                      loans=["L2", "L1"]).decide("A1"), "US-FREQ")
    assert allowed(talked().action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00", loan_id="L2").decide("A1"))
    s = calls(us().loan("L2", "B1", "USD", receivable="3000.00"), [6, 7, 8, 9, 10, 11, 12], loans=["L1"])
    assert blocked_by(s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00", loan_id="L2",
                               loans=["L2", "L1"]).decide("A1"), "US-FREQ")


def test_us_freq_contact_naming_no_loan_counts_for_every_loan():
    """US-FREQ: calls naming no loan count for L1 and for L2."""
    for loan in ("L1", "L2"):
        s = us().loan("L2", "B1", "USD", receivable="3000.00")
        calls(s, [6, 7, 8, 9, 10, 11, 12])
        d = s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00", loan_id=loan).decide("A1")
        assert blocked_by(d, "US-FREQ"), loan


def test_us_freq_call_consent_within_seven_days_exempts():
    """US-FREQ: the consumer's consent given within 7 days exempts (1006.14(b)(3)); an older one does not."""
    s = calls(us(), [6, 7, 8, 9, 10, 11, 12]).flag("B1", "call_consent", "2026-04-10")
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert allowed(s.decide("A1"))
    s = calls(us(), [6, 7, 8, 9, 10, 11, 12]).flag("B1", "call_consent", "2026-03-30")
    s.action("A1", "B1", "agent_call", "2026-04-12T15:00:00-04:00")
    assert blocked_by(s.decide("A1"), "US-FREQ")


def test_us_freq_batch_calls_before_count():
    """US-FREQ in a batch: 5 stored calls + 2 planned ones allowed, the 3rd planned (8th) blocked."""
    s = calls(us(), [6, 7, 8, 9, 10])
    for i, h in enumerate(("10", "12", "14"), start=1):
        s.action(f"A{i}", "B1", "agent_call", f"2026-04-12T{h}:00:00-04:00")
    out = by_id(s)
    assert allowed(out["A1"]) and allowed(out["A2"])
    assert blocked_by(out["A3"], "US-FREQ")


def test_us_freq_batch_blocked_action_does_not_count():
    """US-FREQ in a batch: an earlier action blocked (by US-TIME) is not placed and does not count."""
    s = calls(us(), [6, 7, 8, 9, 10, 11])
    s.action("A0", "B1", "agent_call", "2026-04-12T07:30:00-04:00")
    s.action("A1", "B1", "agent_call", "2026-04-12T10:00:00-04:00")
    s.action("A2", "B1", "agent_call", "2026-04-12T11:00:00-04:00")
    out = by_id(s)
    assert blocked_by(out["A0"], "US-TIME")
    assert allowed(out["A1"])  # the 7th placed call
    assert blocked_by(out["A2"], "US-FREQ")  # the 8th


def test_arrears_sms_batch_blocked_action_does_not_count():
    """ARREARS-SMS in a batch: an SMS blocked at 07:00 does not use up the day's one SMS."""
    s = us()
    s.action("A1", "B1", "sms", "2026-04-07T07:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A2", "B1", "sms", "2026-04-07T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A3", "B1", "sms", "2026-04-07T12:00:00-04:00", template_id="us_reminder_sms", language="en")
    out = by_id(s)
    assert blocked_by(out["A1"], "US-TIME") and "ARREARS-SMS" not in rules_of(out["A1"])
    assert allowed(out["A2"])
    assert blocked_by(out["A3"], "ARREARS-SMS")


# --- US-ATTY, US-WORK ---------------------------------------------------------------------------


def test_us_atty_consumer_blocked_attorney_allowed():
    """US-ATTY: a represented consumer is not contacted; their attorney is."""
    s = us().reference("R1", "B1", "attorney", phone=ATTORNEY).flag("B1", "attorney", "2026-04-01")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "agent_call", "2026-04-07T11:00:00-04:00", party="R1")
    out = by_id(s)
    assert blocked_by(out["A1"], "US-ATTY")
    assert allowed(out["A2"])
    assert allowed(us().action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00").decide("A1"))


def test_us_work_no_calls_at_work_blocks_the_work_phone_only():
    """US-WORK: after 'no calls at work' the work phone is closed; the mobile is not."""
    s = us().flag("B1", "no_calls_at_work", "2026-04-01")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", address=WORK)
    assert blocked_by(s.decide("A1"), "US-WORK")
    s = us().flag("B1", "no_calls_at_work", "2026-04-01")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    assert allowed(s.decide("A1"))
    s = us().action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", address=WORK)
    assert allowed(s.decide("A1"))


def test_us_work_employer_provided_email_never_used():
    """US-WORK: an employer-provided e-mail address is never used (1006.22(f)(3)); another address is."""
    s = us(employer_email=True)
    s.action("A1", "B1", "email", "2026-04-07T10:00:00-04:00", template_id="us_reminder_email", language="en")
    assert blocked_by(s.decide("A1"), "US-WORK")
    s = us(employer_email=True)
    s.action("A1", "B1", "email", "2026-04-07T10:00:00-04:00", template_id="us_reminder_email", language="en",
             address="pat.home@example.net")
    assert allowed(s.decide("A1"))
    s = us(employer_email=False)
    s.action("A1", "B1", "email", "2026-04-07T10:00:00-04:00", template_id="us_reminder_email", language="en")
    assert allowed(s.decide("A1"))


# --- US-OPTOUT -----------------------------------------------------------------------------------


def test_us_optout_per_address_the_other_number_still_allowed():
    """US-OPTOUT: an opt-out of calls at the mobile closes it (robocalls too); the work number stays open."""
    s = us().flag("B1", "opt_out", "2026-04-01", value=f"agent_call:{PHONE}")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "robocall", "2026-04-08T10:00:00-04:00")
    s.action("A3", "B1", "agent_call", "2026-04-09T10:00:00-04:00", address=WORK)
    out = by_id(s)
    assert blocked_by(out["A1"], "US-OPTOUT")
    assert blocked_by(out["A2"], "US-OPTOUT")
    assert allowed(out["A3"])


def test_us_optout_per_channel():
    """US-OPTOUT: an opt-out of SMS at a number closes texts there, not calls; a whole-channel e-mail opt-out closes every address."""
    s = us().flag("B1", "opt_out", "2026-04-01", value=f"sms:{PHONE}").flag("B1", "opt_out", "2026-04-01", value="email")
    s.action("A1", "B1", "sms", "2026-04-07T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A2", "B1", "agent_call", "2026-04-07T11:00:00-04:00")
    s.action("A3", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en", address=WORK)
    s.action("A4", "B1", "email", "2026-04-09T10:00:00-04:00", template_id="us_reminder_email", language="en",
             address="pat.home@example.net")
    out = by_id(s)
    assert blocked_by(out["A1"], "US-OPTOUT")
    assert allowed(out["A2"])
    assert allowed(out["A3"])
    assert blocked_by(out["A4"], "US-OPTOUT")


def test_us_optout_one_reply_after_inbound_message_not_two():
    """US-OPTOUT: after the consumer writes through the closed medium one reply is allowed, not a second."""
    def scenario() -> Scenario:
        s = us().flag("B1", "opt_out", "2026-04-01", value=f"sms:{PHONE}")
        return s.contact("B1", "sms", "2026-04-06T09:00:00-04:00", "right_party_contact", direction="inbound",
                         address=PHONE)
    s = scenario().action("A1", "B1", "sms", "2026-04-06T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert allowed(s.decide("A1"))
    s = scenario().contact("B1", "sms", "2026-04-06T10:00:00-04:00", "delivered", address=PHONE)
    s.action("A2", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A2"), "US-OPTOUT")
    # The same in one batch: the first reply goes, the second does not.
    s = scenario()
    s.action("A1", "B1", "sms", "2026-04-06T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A2", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "US-OPTOUT")


def test_us_optout_no_reply_without_inbound_message():
    """US-OPTOUT: without a message from the consumer through the closed medium, no reply."""
    s = us().flag("B1", "opt_out", "2026-04-01", value=f"sms:{PHONE}")
    s.contact("B1", "agent_call", "2026-04-06T09:00:00-04:00", "voicemail", direction="inbound", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-06T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "US-OPTOUT")


# --- US-CEASE ------------------------------------------------------------------------------------


def test_us_cease_ends_communication_letters_too_until_lifted():
    """US-CEASE: a written cease ends calls and letters; lifted, contact resumes."""
    s = us().flag("B1", "cease", "2026-04-01", written=True)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "letter", "2026-04-07T10:00:00-04:00", template_id="us_demand_letter", language="en")
    out = by_id(s)
    assert blocked_by(out["A1"], "US-CEASE")
    assert blocked_by(out["A2"], "US-CEASE")
    s = us().flag("B1", "cease", "2026-04-01", end_on="2026-04-05", written=True)
    s.action("A2", "B1", "letter", "2026-04-07T10:00:00-04:00", template_id="us_demand_letter", language="en")
    assert allowed(s.decide("A2"))


# --- US-VALID, US-DISPUTE, ARREARS-HOLD -----------------------------------------------------------


def test_us_valid_notice_overdue_after_five_days_third_party():
    """US-VALID (third_party): first communication 04-06, no notice: still within 5 days on 04-11, overdue on 04-12."""
    def case(date: str, role: str = "third_party") -> dict:
        s = us().contact("B1", "letter", "2026-04-06T10:00:00-04:00", "delivered")
        return s.action("A1", "B1", "agent_call", f"{date}T10:00:00-04:00").decide("A1", role)
    assert allowed(case("2026-04-10"))
    assert allowed(case("2026-04-11"))  # day 5 after the first communication
    assert blocked_by(case("2026-04-12"), "US-VALID")
    assert allowed(case("2026-04-20", "first_party"))  # a lender collecting its own loans is not bound


def test_us_valid_overdue_notice_itself_still_allowed():
    """US-VALID: when the notice is overdue, the validation notice itself may still be sent."""
    s = us().contact("B1", "letter", "2026-04-06T10:00:00-04:00", "delivered")
    s.action("A1", "B1", "letter", "2026-04-20T10:00:00-04:00", template_id="us_validation_notice", language="en")
    s.action("A2", "B1", "letter", "2026-04-20T10:00:00-04:00", template_id="us_demand_letter", language="en")
    out = by_id(s, "third_party")
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "US-VALID")


def test_us_valid_settlement_deadline_inside_validation_period_blocked():
    """US-VALID: no settlement deadline inside the validation period (overshadowing); after it, allowed."""
    def case(pay_by: str, role: str = "third_party") -> dict:
        s = us().flag("B1", "validation_notice_sent", "2026-04-06")
        s.action("A1", "B1", "settlement_offer", "2026-04-10T10:00:00-04:00", channel="letter",
                 template_id="us_settlement_offer_letter", language="en", offer_amount="3000.00", pay_by=pay_by)
        return s.decide("A1", role)
    assert blocked_by(case("2026-04-25"), "US-VALID")
    assert allowed(case("2026-06-01"))
    assert allowed(case("2026-04-25", "first_party"))


def test_us_dispute_written_dispute_in_period_stops_letters_and_bureau_reports():
    """US-DISPUTE (third_party): a written dispute in the validation period stops calls, letters and furnishing."""
    def scenario(dispute: bool) -> Scenario:
        s = us().flag("B1", "validation_notice_sent", "2026-04-06")
        s.contact("B1", "letter", "2026-04-06T10:00:00-04:00", "delivered")
        if dispute:
            s.flag("B1", "dispute", "2026-04-15", written=True)
        s.action("A1", "B1", "letter", "2026-04-30T10:00:00-04:00", template_id="us_demand_letter", language="en")
        s.action("A2", "B1", "bureau_report", "2026-04-30T11:00:00-04:00", channel=None)
        s.action("A3", "B1", "agent_call", "2026-04-30T12:00:00-04:00")
        return s
    out = by_id(scenario(True), "third_party")
    assert blocked_by(out["A1"], "US-DISPUTE")
    assert blocked_by(out["A2"], "US-DISPUTE")
    assert blocked_by(out["A3"], "US-DISPUTE")
    out = by_id(scenario(False), "third_party")
    assert allowed(out["A1"]) and allowed(out["A2"]) and allowed(out["A3"])


def test_arrears_hold_written_dispute_outside_period_blocks_non_letters_only():
    """ARREARS-HOLD: a written dispute after the validation period: no call or SMS, letters allowed; not US-DISPUTE."""
    s = us().flag("B1", "validation_notice_sent", "2026-01-05").flag("B1", "dispute", "2026-04-01", written=True)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "sms", "2026-04-07T11:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A3", "B1", "letter", "2026-04-07T12:00:00-04:00", template_id="us_demand_letter", language="en")
    out = by_id(s, "third_party")
    assert blocked_by(out["A1"], "ARREARS-HOLD") and "US-DISPUTE" not in rules_of(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-HOLD")
    assert allowed(out["A3"])


def test_us_dispute_validation_period_does_not_bind_first_party():
    """US-DISPUTE: the validation period binds third parties only; for a first party every written dispute
    is outside it (ARREARS-HOLD: letters still allowed, calls not)."""
    s = us().flag("B1", "validation_notice_sent", "2026-04-06").flag("B1", "dispute", "2026-04-15", written=True)
    s.action("A1", "B1", "letter", "2026-04-30T10:00:00-04:00", template_id="us_demand_letter", language="en")
    s.action("A2", "B1", "agent_call", "2026-04-30T12:00:00-04:00")
    out = by_id(s, "first_party")
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-HOLD") and "US-DISPUTE" not in rules_of(out["A2"])


def test_arrears_hold_oral_dispute_does_not_hold():
    """ARREARS-HOLD: only a written dispute pauses contact; an oral one does not."""
    s = us().flag("B1", "dispute", "2026-04-01", written=False)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    assert allowed(s.decide("A1"))


# --- US-3P, US-LOC --------------------------------------------------------------------------------


def test_us_loc_friend_only_with_location_enquiry_once():
    """US-3P / US-LOC: a friend may be asked for location information once, with us_location_enquiry."""
    s = us().reference("R1", "B1", "friend", phone=FRIEND)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1",
             template_id="us_location_enquiry", language="en")
    assert allowed(s.decide("A1"))
    s = us().reference("R1", "B1", "friend", phone=FRIEND)
    s.contact("B1", "agent_call", "2026-03-20T10:00:00-04:00", "right_party_contact", party="R1", address=FRIEND)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1",
             template_id="us_location_enquiry", language="en")
    assert blocked_by(s.decide("A1"), "US-LOC")


def test_us_loc_second_enquiry_in_batch_blocked_other_person_allowed():
    """US-LOC in a batch: the second location enquiry to the same friend is blocked; another friend is asked."""
    s = us().reference("R1", "B1", "friend", phone=FRIEND).reference("R2", "B1", "colleague", phone=OTHER)
    for i, (party, h) in enumerate((("R1", "10"), ("R1", "12"), ("R2", "14")), start=1):
        s.action(f"A{i}", "B1", "agent_call", f"2026-04-07T{h}:00:00-04:00", party=party,
                 template_id="us_location_enquiry", language="en")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "US-LOC")
    assert allowed(out["A3"])


def test_us_3p_borrower_template_to_third_party_blocked():
    """US-3P / US-LOC: a borrower script to a friend discloses the debt: blocked."""
    s = us().reference("R1", "B1", "friend", phone=FRIEND)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1",
             template_id="us_reminder_call", language="en")
    d = s.decide("A1")
    assert blocked_by(d, "US-3P") and blocked_by(d, "US-LOC")
    s = us().reference("R1", "B1", "friend", phone=FRIEND)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1")
    assert blocked_by(s.decide("A1"), "US-3P")


def test_us_3p_spouse_is_the_consumer():
    """US-3P: a spouse is the consumer (1006.6(a)): the borrower script may be used."""
    s = us().reference("R1", "B1", "spouse", phone=SPOUSE)
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1",
             template_id="us_reminder_call", language="en")
    d = s.decide("A1")
    assert allowed(d)


# --- US-BK, US-DECEASED ---------------------------------------------------------------------------


def test_us_bk_stay_ends_collection():
    """US-BK: a bankruptcy stay blocks calls, letters and suits; lifted, allowed again."""
    s = us().flag("B1", "bankruptcy", "2026-04-01")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "letter", "2026-04-07T10:00:00-04:00", template_id="us_demand_letter", language="en")
    s.action("A3", "B1", "legal_action", "2026-04-07T10:00:00-04:00", channel=None)
    out = by_id(s)
    assert all(blocked_by(out[a], "US-BK") for a in ("A1", "A2", "A3"))
    s = us().flag("B1", "bankruptcy", "2026-03-01", end_on="2026-04-01")
    s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00")
    assert allowed(s.decide("A1"))


def test_us_deceased_only_the_estate_representative_once_known():
    """US-DECEASED: suspended until the estate's representative is known, then only them."""
    def scenario(known: bool) -> Scenario:
        s = us().reference("R1", "B1", "estate_representative", phone=ESTATE)
        s.reference("R2", "B1", "spouse", phone=SPOUSE).flag("B1", "deceased", "2026-04-01")
        if known:
            s.flag("B1", "estate_representative_known", "2026-04-03")
        s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", party="R1")
        s.action("A2", "B1", "agent_call", "2026-04-08T10:00:00-04:00", party="R2")
        s.action("A3", "B1", "agent_call", "2026-04-09T10:00:00-04:00")
        return s
    out = by_id(scenario(False))
    assert all(blocked_by(out[a], "US-DECEASED") for a in ("A1", "A2", "A3"))
    out = by_id(scenario(True))
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "US-DECEASED")
    assert blocked_by(out["A3"], "US-DECEASED")


# --- US-TCPA ---------------------------------------------------------------------------------------


def test_us_tcpa_robocall_and_sms_to_reference_number_need_consent():
    """US-TCPA: a robocall or an SMS to a reference's (spouse's) number without consent is blocked; an agent call is not."""
    s = us().reference("R1", "B1", "spouse", phone=SPOUSE)
    s.action("A1", "B1", "robocall", "2026-04-07T10:00:00-04:00", party="R1")
    s.action("A2", "B1", "sms", "2026-04-08T10:00:00-04:00", party="R1", template_id="us_reminder_sms", language="en")
    s.action("A3", "B1", "agent_call", "2026-04-09T10:00:00-04:00", party="R1")
    out = by_id(s)
    assert blocked_by(out["A1"], "US-TCPA")
    assert blocked_by(out["A2"], "US-TCPA")
    assert allowed(out["A3"])


def test_us_tcpa_borrower_own_number_is_prior_express_consent():
    """US-TCPA: the number the borrower gave (decision in rules.py) is prior express consent."""
    s = us()
    s.action("A1", "B1", "robocall", "2026-04-07T10:00:00-04:00")
    s.action("A2", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    out = by_id(s)
    assert allowed(out["A1"]) and allowed(out["A2"])


def test_us_tcpa_consent_flag():
    """US-TCPA: a number the borrower never gave needs consent; the tcpa_consent flag gives it."""
    s = us().action("A1", "B1", "robocall", "2026-04-07T10:00:00-04:00", address=OTHER)
    assert blocked_by(s.decide("A1"), "US-TCPA")
    s = us().flag("B1", "tcpa_consent", "2026-04-01", written=True)
    s.action("A1", "B1", "robocall", "2026-04-07T10:00:00-04:00", address=OTHER)
    assert allowed(s.decide("A1"))


# --- US-TIMEBAR, US-FALSE, US-PASSIVE ----------------------------------------------------------------


def test_us_timebar_no_suit_on_time_barred_debt():
    """US-TIMEBAR: legal action from the day the debt is time-barred is blocked; the day before allowed."""
    s = us(time_barred_on="2026-04-07").action("A1", "B1", "legal_action", "2026-04-07T10:00:00-04:00", channel=None)
    assert blocked_by(s.decide("A1"), "US-TIMEBAR")
    s = us(time_barred_on="2026-04-07").action("A1", "B1", "legal_action", "2026-04-06T10:00:00-04:00", channel=None)
    assert allowed(s.decide("A1"))
    # A letter on a time-barred debt (no threat of suit) is not a suit.
    s = us(time_barred_on="2026-01-01")
    s.action("A1", "B1", "email", "2026-04-07T10:00:00-04:00", template_id="us_reminder_email", language="en")
    assert "US-TIMEBAR" not in rules_of(s.decide("A1"))


def test_us_false_offer_above_receivable():
    """US-FALSE: an offer above the amount owed is a false amount; exactly the receivable is allowed."""
    def case(amount: str) -> dict:
        s = us(receivable="5000.00")
        s.action("A1", "B1", "settlement_offer", "2026-04-07T10:00:00-04:00", channel="letter",
                 template_id="us_settlement_offer_letter", language="en", offer_amount=amount, pay_by="2026-05-30")
        return s.decide("A1")
    d = case("5000.01")
    assert blocked_by(d, "US-FALSE")
    assert "5000.00" in d["explanation"]
    assert allowed(case("5000.00"))


def test_us_passive_bureau_report_needs_a_message_fourteen_days_before():
    """US-PASSIVE: furnishing needs a message 14 days before (13 is too soon), or none at all is blocked."""
    def case(sent: str | None, outcome: str = "delivered") -> dict:
        s = us()
        if sent:
            s.contact("B1", "letter", f"{sent}T10:00:00-04:00", outcome)
        return s.action("A1", "B1", "bureau_report", "2026-04-20T10:00:00-04:00", channel=None).decide("A1")
    assert blocked_by(case(None), "US-PASSIVE")
    assert blocked_by(case("2026-04-07"), "US-PASSIVE")  # 13 days
    assert allowed(case("2026-04-06"))  # 14 days
    assert blocked_by(case("2026-04-01", "undeliverable"), "US-PASSIVE")


def test_us_passive_conversation_needs_no_wait():
    """US-PASSIVE: having spoken to the consumer, furnishing needs no waiting period."""
    s = us().contact("B1", "agent_call", "2026-04-19T10:00:00-04:00", "right_party_contact")
    s.action("A1", "B1", "bureau_report", "2026-04-20T10:00:00-04:00", channel=None)
    assert allowed(s.decide("A1"))


# --- US-MA ---------------------------------------------------------------------------------------------


def test_us_ma_two_calls_or_texts_per_seven_days_to_personal_numbers():
    """US-MA: at most 2 calls or texts per 7 days to a personal number: a text and a call use them up."""
    s = us("US-MA").contact("B1", "sms", "2026-04-06T10:00:00-04:00", "delivered", address=PHONE)
    s.action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00")
    assert allowed(s.decide("A1"))
    s = us("US-MA").contact("B1", "sms", "2026-04-06T10:00:00-04:00", "delivered", address=PHONE)
    s.contact("B1", "agent_call", "2026-04-07T10:00:00-04:00", "no_answer", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "US-MA")
    # 7 days after the first one, a slot is free again.
    s = us("US-MA").contact("B1", "sms", "2026-04-06T10:00:00-04:00", "delivered", address=PHONE)
    s.contact("B1", "agent_call", "2026-04-07T10:00:00-04:00", "no_answer", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-13T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert allowed(s.decide("A1"))


def test_us_ma_two_per_thirty_days_to_the_work_number():
    """US-MA: at most 2 calls per 30 days to a work (other) number."""
    def case(days: list[str]) -> dict:
        s = us("US-MA")
        for d in days:
            s.contact("B1", "agent_call", f"{d}T10:00:00-04:00", "no_answer", address=WORK)
        return s.action("A1", "B1", "agent_call", "2026-04-20T10:00:00-04:00", address=WORK).decide("A1")
    d = case(["2026-03-25", "2026-04-05"])
    assert blocked_by(d, "US-MA") and "US-FREQ" not in rules_of(d)
    assert allowed(case(["2026-03-21", "2026-04-05"]))  # 30 days before: outside the window
    assert allowed(case(["2026-04-05"]))


def test_us_ma_one_household_visit_per_thirty_days():
    """US-MA: at most 1 household visit per 30 days."""
    def case(date: str) -> dict:
        s = us("US-MA", receivable="2000.00").contact("B1", "field_visit", "2026-04-01T10:00:00-04:00",
                                                      "right_party_contact")
        return s.action("A1", "B1", "field_visit", f"{date}T10:00:00-04:00").decide("A1")
    assert blocked_by(case("2026-04-30"), "US-MA")  # day 29
    assert allowed(case("2026-05-01"))  # day 30


def test_us_ma_us_freq_two_placed_calls_a_week():
    """US-FREQ in US-MA: 2 placed calls in 7 days at most (one to the mobile, one to work: the 3rd blocked)."""
    def scenario(jurisdiction: str) -> Scenario:
        s = us(jurisdiction).contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "no_answer", address=PHONE)
        s.contact("B1", "agent_call", "2026-04-07T10:00:00-04:00", "no_answer", address=WORK)
        return s.action("A1", "B1", "agent_call", "2026-04-08T10:00:00-04:00")
    d = scenario("US-MA").decide("A1")
    assert blocked_by(d, "US-FREQ") and "US-MA" not in rules_of(d)
    assert allowed(scenario("US-NY").decide("A1"))


# --- ARREARS-VISIT-MIN, ARREARS-SMS, ARREARS-EMAIL ---------------------------------------------------


def test_arrears_visit_min_usd_below_and_at_750():
    """ARREARS-VISIT-MIN (USD 750.00): 749.99 blocked, 750.00 allowed."""
    d = us(receivable="749.99").action("A1", "B1", "field_visit", "2026-04-07T10:00:00-04:00").decide("A1")
    assert blocked_by(d, "ARREARS-VISIT-MIN")
    assert "750.00" in d["explanation"]
    d = us(receivable="750.00").action("A1", "B1", "field_visit", "2026-04-07T10:00:00-04:00").decide("A1")
    assert allowed(d)


def test_arrears_sms_one_a_day_in_the_local_calendar_day():
    """ARREARS-SMS: 1 SMS per local day; one at 23:30 local the day before (already today in UTC) does not count."""
    s = us().contact("B1", "sms", "2026-04-06T23:30:00-04:00", "delivered", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-07T08:30:00-04:00", template_id="us_reminder_sms", language="en")
    assert allowed(s.decide("A1"))
    s = us().contact("B1", "sms", "2026-04-07T08:30:00-04:00", "delivered", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-07T20:30:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "ARREARS-SMS")


def test_arrears_sms_three_a_week():
    """ARREARS-SMS: at most 3 SMS in 7 days: the 4th is blocked, a week after the first it goes."""
    def case(date: str) -> dict:
        s = us()
        for d in ("2026-04-06", "2026-04-08", "2026-04-10"):
            s.contact("B1", "sms", f"{d}T10:00:00-04:00", "delivered", address=PHONE)
        return s.action("A1", "B1", "sms", f"{date}T10:00:00-04:00", template_id="us_reminder_sms",
                        language="en").decide("A1")
    assert blocked_by(case("2026-04-12"), "ARREARS-SMS")
    assert allowed(case("2026-04-13"))


def test_arrears_email_one_a_day():
    """ARREARS-EMAIL: 1 e-mail per local day; the next day allowed."""
    def case(date: str) -> dict:
        s = us().contact("B1", "email", "2026-04-07T09:00:00-04:00", "delivered", address=EMAIL)
        return s.action("A1", "B1", "email", f"{date}T10:00:00-04:00", template_id="us_reminder_email",
                        language="en").decide("A1")
    assert blocked_by(case("2026-04-07"), "ARREARS-EMAIL")
    assert allowed(case("2026-04-08"))


# --- more boundaries ---------------------------------------------------------------------------------


def test_us_time_reference_in_its_own_zone():
    """US-TIME: a reference's hours are read in the reference's zone (Los Angeles), not the borrower's."""
    def case(at: str) -> dict:
        s = us().reference("R1", "B1", "spouse", phone=SPOUSE, zones=["America/Los_Angeles"])
        return s.action("A1", "B1", "agent_call", at, party="R1").decide("A1")
    assert blocked_by(case("2026-04-07T07:30:00-07:00"), "US-TIME")  # 10:30 in New York
    assert allowed(case("2026-04-07T20:30:00-07:00"))  # 23:30 in New York


def test_us_time_visit_and_email_outside_hours():
    """US-TIME covers visits and e-mails too: a visit at 21:30 and an e-mail at 06:00 local are blocked."""
    s = us().action("A1", "B1", "field_visit", "2026-04-07T21:30:00-04:00")
    assert blocked_by(s.decide("A1"), "US-TIME")
    s = us().action("A1", "B1", "email", "2026-04-07T06:00:00-04:00", template_id="us_reminder_email", language="en")
    assert blocked_by(s.decide("A1"), "US-TIME")


def test_us_atty_per_debt():
    """US-ATTY: an attorney for L1 only: calls about L1 blocked, about L2 allowed."""
    def case(loan: str) -> dict:
        s = us().loan("L2", "B1", "USD", receivable="3000.00").flag("B1", "attorney", "2026-04-01", loan_id="L1")
        return s.action("A1", "B1", "agent_call", "2026-04-07T10:00:00-04:00", loan_id=loan).decide("A1")
    assert blocked_by(case("L1"), "US-ATTY")
    assert allowed(case("L2"))


def test_us_optout_inbound_before_the_opt_out_opens_no_reply():
    """US-OPTOUT: a message from the consumer before the opt-out does not reopen the medium."""
    s = us().contact("B1", "sms", "2026-04-03T09:00:00-04:00", "right_party_contact", direction="inbound",
                     address=PHONE)
    s.flag("B1", "opt_out", "2026-04-05", value=f"sms:{PHONE}")
    s.action("A1", "B1", "sms", "2026-04-07T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "US-OPTOUT")


def test_us_dispute_lifted_when_verification_sent():
    """US-DISPUTE: once the dispute flag is lifted (verification sent) collection resumes."""
    s = us().flag("B1", "validation_notice_sent", "2026-04-06")
    s.flag("B1", "dispute", "2026-04-15", end_on="2026-04-25", written=True)
    s.action("A1", "B1", "letter", "2026-04-30T10:00:00-04:00", template_id="us_demand_letter", language="en")
    assert allowed(s.decide("A1", "third_party"))


def test_us_valid_binds_debt_buyers():
    """US-VALID binds debt buyers as third parties: an overdue notice blocks their calls."""
    s = us().contact("B1", "letter", "2026-04-06T10:00:00-04:00", "delivered")
    s.action("A1", "B1", "agent_call", "2026-04-20T10:00:00-04:00")
    assert blocked_by(s.decide("A1", "debt_buyer"), "US-VALID")


def test_us_ma_counts_per_debt():
    """US-MA: 2 per 7 days *per debt*: two calls about L1 leave a text about L2 allowed."""
    def case(loan: str) -> dict:
        s = us("US-MA").loan("L2", "B1", "USD", receivable="3000.00")
        s.contact("B1", "agent_call", "2026-04-06T10:00:00-04:00", "no_answer", address=PHONE, loans=["L1"])
        s.contact("B1", "agent_call", "2026-04-07T10:00:00-04:00", "no_answer", address=PHONE, loans=["L1"])
        return s.action("A1", "B1", "sms", "2026-04-08T10:00:00-04:00", loan_id=loan, template_id="us_reminder_sms",
                        language="en").decide("A1")
    assert blocked_by(case("L1"), "US-MA")
    assert allowed(case("L2"))


def test_arrears_sms_three_a_week_in_a_batch():
    """ARREARS-SMS in a batch: 2 stored texts this week, 2 planned on other days: the first goes, the second not."""
    s = us()
    for d in ("2026-04-06", "2026-04-07"):
        s.contact("B1", "sms", f"{d}T10:00:00-04:00", "delivered", address=PHONE)
    s.action("A1", "B1", "sms", "2026-04-08T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    s.action("A2", "B1", "sms", "2026-04-09T10:00:00-04:00", template_id="us_reminder_sms", language="en")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-SMS")
