"""Scenario tests for the GB pack (FIELD-NOTES §4, United Kingdom: FCA CONC 7, CCA 1974, the Debt
Respite Scheme). Each test names the rule id it is about."""

from __future__ import annotations

import datetime as dt

from tests.policy.check.support import Scenario, allowed, blocked_by, rules_of, ts

BST = "+01:00"  # Europe/London in summer
GMT = "+00:00"  # Europe/London in winter
PHONE = "+447700900123"
WORK = "+442079460000"


def gb(receivable: str = "5000.00", email: str | None = "b1@example.co.uk") -> Scenario:
    return Scenario().borrower("B1", "GB", phone=PHONE, email=email, work_phone=WORK).loan(
        "L1", "B1", "GBP", receivable=receivable)


def by_id(s: Scenario, **kw) -> dict[str, dict]:
    return {r["action_id"]: r for r in s.check(**kw).iter_rows(named=True)}


def on(start: str, days: int, time: str = "12:00:00", off: str = BST) -> str:
    """The instant ``time`` local on ``start`` + ``days``."""
    return f"{dt.date.fromisoformat(start) + dt.timedelta(days=days)}T{time}{off}"


# --------------------------------------------------------------------------- GB-CONTACT: hours


def test_gb_contact_hours_summer_0759_blocked_0800_allowed():
    """GB-CONTACT: 08:00-21:00 Europe/London in summer time (BST): 07:59 blocked, 08:00 allowed."""
    s = gb().action("A1", "B1", "agent_call", f"2026-07-01T07:59:00{BST}").action(
        "A2", "B1", "agent_call", f"2026-07-02T08:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT") and rules_of(out["A1"]) == {"GB-CONTACT"}
    assert out["A1"]["allowed_start"] == ts(f"2026-07-01T08:00:00{BST}")
    assert out["A1"]["allowed_end"] == ts(f"2026-07-01T21:00:00{BST}")
    assert allowed(out["A2"])


def test_gb_contact_hours_summer_2059_allowed():
    """GB-CONTACT: 20:59 BST (19:59Z) is inside the hours."""
    s = gb().action("A1", "B1", "agent_call", f"2026-07-01T20:59:00{BST}")
    assert allowed(s.decide("A1"))


def test_gb_contact_hours_summer_2100_blocked():
    """GB-CONTACT: 21:00 BST (20:00Z, which would still be 20:00 in GMT) is outside the hours."""
    s = gb().action("A1", "B1", "agent_call", f"2026-07-01T21:00:00{BST}")
    assert blocked_by(s.decide("A1"), "GB-CONTACT")


def test_gb_contact_hours_summer_2030_bst_blocked_if_read_as_gmt():
    """GB-CONTACT: 21:30 BST is 20:30Z; a UTC reading would wrongly allow it."""
    s = gb().action("A1", "B1", "sms", f"2026-07-01T21:30:00{BST}", template_id="gb_reminder_sms", language="en")
    assert blocked_by(s.decide("A1"), "GB-CONTACT")


def test_gb_contact_hours_winter_gmt():
    """GB-CONTACT in winter (GMT): 07:59 blocked, 08:00 and 20:59 allowed."""
    s = gb().action("A1", "B1", "agent_call", f"2026-01-15T07:59:00{GMT}").action(
        "A2", "B1", "agent_call", f"2026-01-16T08:00:00{GMT}").action(
        "A3", "B1", "sms", f"2026-01-17T20:59:00{GMT}", template_id="gb_reminder_sms", language="en")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert out["A1"]["allowed_start"] == ts(f"2026-01-15T08:00:00{GMT}")
    assert allowed(out["A2"]) and allowed(out["A3"])


def test_gb_contact_hours_on_the_day_summer_time_starts():
    """GB-CONTACT on 29 March 2026 (clocks go forward at 01:00Z): 08:00 is 08:00 BST = 07:00Z."""
    s = gb().action("A1", "B1", "agent_call", f"2026-03-29T07:30:00{BST}").action(
        "A2", "B1", "agent_call", f"2026-03-29T08:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert out["A1"]["allowed_start"] == ts("2026-03-29T07:00:00+00:00")
    assert allowed(out["A2"])


# --------------------------------------------------------------------------- GB-CONTACT: work, third parties


def test_gb_contact_no_calls_at_work():
    """GB-CONTACT: the customer asked not to be called at work: a call to the work number is blocked
    (and no window is offered), a call to the personal number is allowed."""
    s = gb().flag("B1", "no_calls_at_work", "2026-06-01")
    s.action("A1", "B1", "agent_call", f"2026-07-01T11:00:00{BST}", address=WORK)
    s.action("A2", "B1", "agent_call", f"2026-07-02T11:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert "work" in out["A1"]["explanation"]
    assert out["A1"]["allowed_start"] is None
    assert allowed(out["A2"])


def test_gb_contact_no_disclosure_to_third_parties():
    """GB-CONTACT: no disclosure to a third party: a borrower message to a friend is blocked (no
    window offered); the same message to the customer is allowed."""
    s = gb().reference("R1", "B1", "friend", consented_on="2026-01-01", phone="+447700900555")
    s.action("A1", "B1", "sms", f"2026-07-01T11:00:00{BST}", party="R1", template_id="gb_reminder_sms", language="en")
    s.action("A2", "B1", "sms", f"2026-07-01T11:00:00{BST}", template_id="gb_reminder_sms", language="en")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert out["A1"]["allowed_start"] is None
    assert allowed(out["A2"])


def test_gb_contact_call_to_third_party_without_script_blocked():
    """GB-CONTACT: a call to a third party without a third-party script is a possible disclosure."""
    s = gb().reference("R1", "B1", "colleague", consented_on="2026-01-01", phone="+447700900555")
    s.action("A1", "B1", "agent_call", f"2026-07-01T11:00:00{BST}", party="R1")
    assert blocked_by(s.decide("A1"), "GB-CONTACT")


# --------------------------------------------------------------------------- GB-FREQ


def call_history(s: Scenario, days_back: list[int], action_day: str = "2026-07-10", channel: str = "agent_call",
                 outcome: str = "right_party_contact") -> Scenario:
    for n in days_back:
        s.contact("B1", channel, on(action_day, -n, "10:00:00"), outcome)
    return s


def test_gb_freq_three_contacts_a_week():
    """GB-FREQ: at most 3 contacts in 7 days: with contacts 6, 4 and 2 days back a fourth is blocked;
    when the oldest is 7 days back it is allowed."""
    s = call_history(gb(), [6, 4, 2]).action("A1", "B1", "agent_call", on("2026-07-10", 0))
    d = s.decide("A1")
    assert blocked_by(d, "GB-FREQ")
    s2 = call_history(gb(), [7, 4, 2]).action("A1", "B1", "agent_call", on("2026-07-10", 0))
    assert allowed(s2.decide("A1"))


def test_gb_freq_contacts_of_every_channel_count():
    """GB-FREQ: a text, an e-mail and a call this week are three contacts: a fourth is blocked."""
    s = gb()
    s.contact("B1", "sms", on("2026-07-10", -5, "10:00:00"), "delivered")
    s.contact("B1", "email", on("2026-07-10", -3, "10:00:00"), "delivered")
    s.contact("B1", "agent_call", on("2026-07-10", -1, "10:00:00"), "right_party_contact")
    s.action("A1", "B1", "agent_call", on("2026-07-10", 0))
    assert blocked_by(s.decide("A1"), "GB-FREQ")


def test_gb_freq_ten_contacts_in_thirty_days():
    """GB-FREQ: at most 10 contacts in 30 days: 10 contacts 7..15 and 29 days back block (none this
    week); with the oldest 30 days back (9 in the window) the contact is allowed."""
    s = call_history(gb(), [*range(7, 16), 29]).action("A1", "B1", "agent_call", on("2026-07-10", 0))
    d = s.decide("A1")
    assert blocked_by(d, "GB-FREQ") and rules_of(d) == {"GB-FREQ"}
    s2 = call_history(gb(), [*range(7, 16), 30]).action("A1", "B1", "agent_call", on("2026-07-10", 0))
    assert allowed(s2.decide("A1"))


def test_gb_freq_letters_not_counted():
    """GB-FREQ: letters are not contacts for the cap."""
    s = call_history(gb(), [5, 3, 1], channel="letter", outcome="delivered")
    s.action("A1", "B1", "agent_call", on("2026-07-10", 0))
    assert allowed(s.decide("A1"))


def test_gb_freq_not_connected_calls_not_counted():
    """GB-FREQ: calls that never connected (not_connected, busy) are not contacts."""
    s = call_history(gb(), [5, 3], outcome="not_connected")
    call_history(s, [1], outcome="busy")
    call_history(s, [2], outcome="right_party_contact")
    s.action("A1", "B1", "agent_call", on("2026-07-10", 0))
    assert allowed(s.decide("A1"))


def test_gb_freq_batch_counts_earlier_allowed_contacts():
    """GB-FREQ: in a batch, three contacts on three days of a week: the fourth (a text) is blocked."""
    s = gb()
    s.action("A1", "B1", "agent_call", on("2026-07-06", 0))
    s.action("A2", "B1", "email", on("2026-07-07", 0), template_id="gb_reminder_email", language="en")
    s.action("A3", "B1", "agent_call", on("2026-07-08", 0))
    s.action("A4", "B1", "sms", on("2026-07-09", 0), template_id="gb_reminder_sms", language="en")
    out = by_id(s)
    assert all(allowed(out[a]) for a in ("A1", "A2", "A3"))
    assert blocked_by(out["A4"], "GB-FREQ")


# --------------------------------------------------------------------------- GB-DISPUTE


def test_gb_dispute_any_dispute_even_oral_suspends_recovery():
    """GB-DISPUTE: an oral dispute suspends recovery (no written requirement as in the US); once
    resolved (lifted) collection resumes."""
    s = gb().flag("B1", "dispute", "2026-06-20", written=False)
    s.action("A1", "B1", "agent_call", f"2026-07-01T11:00:00{BST}")
    d = s.decide("A1")
    assert blocked_by(d, "GB-DISPUTE")
    assert "ARREARS-HOLD" not in rules_of(d)  # only a written dispute is a platform hold
    s2 = gb().flag("B1", "dispute", "2026-06-20", end_on="2026-06-30", written=False)
    s2.action("A1", "B1", "agent_call", f"2026-07-01T11:00:00{BST}")
    assert allowed(s2.decide("A1"))


def test_gb_dispute_blocks_enforcement_too():
    """GB-DISPUTE: legal action on a disputed debt is suspended, even with the default notice served."""
    s = gb().flag("B1", "gb_default_notice_sent", "2026-05-01").flag("B1", "dispute", "2026-06-20")
    s.action("A1", "B1", "legal_action", f"2026-07-01T11:00:00{BST}", channel=None)
    d = s.decide("A1")
    assert blocked_by(d, "GB-DISPUTE") and rules_of(d) == {"GB-DISPUTE"}


# --------------------------------------------------------------------------- GB-VULN


def test_gb_vuln_no_field_visit():
    """GB-VULN (and ARREARS-VULN): no field visit to a vulnerable customer."""
    s = gb().flag("B1", "vulnerable", "2026-06-01").action("A1", "B1", "field_visit", f"2026-07-01T11:00:00{BST}")
    d = s.decide("A1")
    assert blocked_by(d, "GB-VULN") and blocked_by(d, "ARREARS-VULN")
    s2 = gb().action("A1", "B1", "field_visit", f"2026-07-01T11:00:00{BST}")
    assert allowed(s2.decide("A1"))


def test_gb_vuln_no_robocall_but_agent_call_allowed():
    """GB-VULN: no automated dialling for a vulnerable customer; a call by an agent is still allowed."""
    s = gb().flag("B1", "vulnerable", "2026-06-01")
    s.action("A1", "B1", "robocall", f"2026-07-01T11:00:00{BST}")
    s.action("A2", "B1", "agent_call", f"2026-07-02T11:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-VULN")
    assert allowed(out["A2"])


# --------------------------------------------------------------------------- GB-BREATHING


def test_gb_breathing_blocked_for_60_days_even_if_lifted_early():
    """GB-BREATHING: the moratorium lasts 60 days: lifted on day 9, a call on day 59 is still blocked;
    from day 60 it is allowed."""
    start = "2026-05-01"
    s = gb().flag("B1", "breathing_space", start, end_on=on(start, 9)[:10])
    s.action("A1", "B1", "agent_call", on(start, 59))
    s.action("A2", "B1", "agent_call", on(start, 60))
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-BREATHING")
    assert allowed(out["A2"])


def test_gb_breathing_blocks_enforcement_while_in_force():
    """GB-BREATHING: no enforcement during breathing space (legal action blocked on day 10)."""
    start = "2026-05-01"
    s = gb().flag("B1", "gb_default_notice_sent", "2026-03-01").flag("B1", "breathing_space", start)
    s.action("A1", "B1", "legal_action", on(start, 10), channel=None)
    d = s.decide("A1")
    assert blocked_by(d, "GB-BREATHING") and rules_of(d) == {"GB-BREATHING"}


# --------------------------------------------------------------------------- GB-DEFAULT


def test_gb_default_legal_action_waits_14_days_after_the_notice():
    """GB-DEFAULT: legal action 13 days after the default notice is blocked, on day 14 allowed."""
    s = gb().flag("B1", "gb_default_notice_sent", "2026-07-01")
    s.action("A1", "B1", "legal_action", on("2026-07-01", 13), channel=None)
    s.action("A2", "B1", "legal_action", on("2026-07-01", 14), channel=None)
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-DEFAULT")
    assert allowed(out["A2"])


def test_gb_default_no_enforcement_without_the_notice():
    """GB-DEFAULT: legal action or a default report without any default notice is blocked."""
    s = gb()
    s.action("A1", "B1", "legal_action", f"2026-07-15T11:00:00{BST}", channel=None)
    s.action("A2", "B1", "bureau_report", f"2026-07-15T11:00:00{BST}", channel=None)
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-DEFAULT")
    assert blocked_by(out["A2"], "GB-DEFAULT")


# --------------------------------------------------------------------------- GB-FORB


def test_gb_forb_debt_advice_pauses_recovery_30_days():
    """GB-FORB: hardship with value debt_advice pauses recovery 30 days: day 29 blocked, day 30 allowed."""
    start = "2026-07-01"
    s = gb().flag("B1", "hardship", start, value="debt_advice")
    s.action("A1", "B1", "agent_call", on(start, 29))
    s.action("A2", "B1", "agent_call", on(start, 30))
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-FORB")
    assert allowed(out["A2"])


def test_gb_forb_other_hardship_does_not_pause():
    """GB-FORB: a hardship flag without debt advice does not pause recovery by itself."""
    s = gb().flag("B1", "hardship", "2026-07-01").action("A1", "B1", "agent_call", on("2026-07-01", 2))
    assert allowed(s.decide("A1"))


def test_gb_contact_honours_stated_preferred_hours():
    """GB-CONTACT: honour stated preferences: with preferred_hours 17:00-19:00, 11:00 is blocked and
    the window 17:00-19:00 BST is offered; 18:00 is allowed."""
    s = gb().flag("B1", "preferred_hours", "2026-06-01", value="17:00-19:00")
    s.action("A1", "B1", "agent_call", f"2026-07-01T11:00:00{BST}")
    s.action("A2", "B1", "agent_call", f"2026-07-02T18:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert out["A1"]["allowed_start"] == ts(f"2026-07-01T17:00:00{BST}")
    assert out["A1"]["allowed_end"] == ts(f"2026-07-01T19:00:00{BST}")
    assert allowed(out["A2"])


def test_gb_contact_hours_on_the_day_summer_time_ends():
    """GB-CONTACT on 25 October 2026 (clocks go back at 01:00Z): 08:00 is 08:00 GMT = 08:00Z, so
    07:30Z is blocked and 20:30Z (20:30 GMT) allowed."""
    s = gb().action("A1", "B1", "agent_call", "2026-10-25T07:30:00+00:00").action(
        "A2", "B1", "agent_call", "2026-10-25T20:30:00+00:00")
    out = by_id(s)
    assert blocked_by(out["A1"], "GB-CONTACT")
    assert out["A1"]["allowed_start"] == ts("2026-10-25T08:00:00+00:00")
    assert out["A1"]["allowed_end"] == ts("2026-10-25T21:00:00+00:00")
    assert allowed(out["A2"])
