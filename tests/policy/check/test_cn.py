"""Scenario tests for the CN pack (FIELD-NOTES §4, China) and the platform rules as a CN lender
meets them. Each test names the rule id it is about."""

from __future__ import annotations

from arrears.policy.overrides import parse_overrides
from arrears.problems import BadInput
from tests.policy.check.support import Scenario, allowed, blocked_by, rules_of, ts

SH = "+08:00"  # Asia/Shanghai
UR = "+06:00"  # Asia/Urumqi


def cn(receivable: str = "5000.00", zones: list[str] | None = None, email: str | None = None) -> Scenario:
    return Scenario().borrower("B1", "CN", zones=zones, email=email).loan("L1", "B1", "CNY", receivable=receivable)


def by_id(s: Scenario, **kw) -> dict[str, dict]:
    return {r["action_id"]: r for r in s.check(**kw).iter_rows(named=True)}


# --------------------------------------------------------------------------- CN-HOURS


def test_cn_hours_2059_allowed_at_shanghai():
    """CN-HOURS: 20:59 local (Asia/Shanghai) is inside 08:00-21:00."""
    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T20:59:00{SH}")
    assert allowed(s.decide("A1"))


def test_cn_hours_2100_blocked_at_shanghai():
    """CN-HOURS: 21:00 local is the first minute outside the window (from <= t < until)."""
    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T21:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-HOURS")


def test_cn_hours_0759_blocked_0800_allowed():
    """CN-HOURS: 07:59 local is blocked, 08:00 local allowed."""
    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T07:59:00{SH}").action(
        "A2", "B1", "agent_call", f"2026-03-03T08:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-HOURS")
    assert rules_of(out["A1"]) == {"CN-HOURS"}
    assert allowed(out["A2"])


def test_cn_hours_window_offered_when_only_the_hours_block():
    """CN-HOURS: when only the hours block, the day's allowed window is offered (08:00-21:00 local)."""
    s = cn().action("A1", "B1", "sms", f"2026-03-02T07:30:00{SH}", template_id="cn_reminder_sms", language="zh-CN")
    d = s.decide("A1")
    assert blocked_by(d, "CN-HOURS") and rules_of(d) == {"CN-HOURS"}
    assert d["allowed_start"] == ts(f"2026-03-02T08:00:00{SH}")
    assert d["allowed_end"] == ts(f"2026-03-02T21:00:00{SH}")
    assert "08:00" in d["explanation"] and "21:00" in d["explanation"]


def test_cn_hours_no_window_when_another_rule_blocks_too():
    """CN-HOURS with CN-BEHAV: both ids are named, and no window is offered (it would not help)."""
    s = cn().action("A1", "B1", "field_visit", f"2026-03-02T22:00:00{SH}")
    d = s.decide("A1")
    assert blocked_by(d, "CN-HOURS") and blocked_by(d, "CN-BEHAV")
    assert d["allowed_start"] is None and d["allowed_end"] is None


def test_cn_hours_override_tightens_until_to_2000():
    """CN-HOURS: a portfolio override may tighten the end to 20:00; 19:59 allowed, 20:30 blocked."""
    ov = parse_overrides('[override]\nportfolio = "p1"\n\n[rules.CN-HOURS]\nlocal_hours_until = "20:00"\n', "test.toml")
    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T19:59:00{SH}").action(
        "A2", "B1", "agent_call", f"2026-03-03T20:30:00{SH}")
    assert allowed(s.decide("A2"))  # the shipped pack allows 20:30
    out = by_id(s, overrides=ov)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "CN-HOURS")
    assert out["A2"]["allowed_end"] == ts(f"2026-03-03T20:00:00{SH}")


def test_cn_hours_override_boundary_2000_blocked():
    """CN-HOURS: with local_hours_until tightened to 20:00, 20:00 itself is outside."""
    ov = parse_overrides('[override]\nportfolio = "p1"\n\n[rules.CN-HOURS]\nlocal_hours_until = "20:00"\n', "test.toml")
    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T20:00:00{SH}")
    assert blocked_by(s.decide("A1", overrides=ov), "CN-HOURS")


def test_cn_hours_conflicting_zones_every_zone_must_allow():
    """CN-HOURS with zones Asia/Shanghai and Asia/Urumqi: 09:00 Shanghai is 07:00 Urumqi (blocked);
    the window offered is 08:00 Urumqi to 21:00 Shanghai."""
    s = cn(zones=["Asia/Shanghai", "Asia/Urumqi"]).action("A1", "B1", "agent_call", f"2026-03-02T09:00:00{SH}")
    s.action("A2", "B1", "agent_call", f"2026-03-03T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-HOURS")
    assert out["A1"]["allowed_start"] == ts(f"2026-03-02T08:00:00{UR}")
    assert out["A1"]["allowed_end"] == ts(f"2026-03-02T21:00:00{SH}")
    assert allowed(out["A2"])


# --------------------------------------------------------------------------- CN-FREQ


def test_cn_freq_three_connected_calls_lender_and_agencies_together():
    """CN-FREQ: 3 connected calls a day, lender and agencies together (an agency's calls are contacts
    like any other): the fourth is blocked, with 2 connected it is allowed."""
    s = cn()
    s.contact("B1", "agent_call", f"2026-03-02T09:00:00{SH}", "right_party_contact", event_id="LENDER-1")
    s.contact("B1", "agent_call", f"2026-03-02T10:00:00{SH}", "promise_to_pay", event_id="AGENCY-X-1")
    s.action("A1", "B1", "agent_call", f"2026-03-02T11:00:00{SH}")
    assert allowed(s.decide("A1"))
    s.contact("B1", "robocall", f"2026-03-02T10:30:00{SH}", "right_party_contact", event_id="AGENCY-Y-1")
    d = s.decide("A1")
    assert blocked_by(d, "CN-FREQ")
    assert "3 connected" in d["explanation"]


def test_cn_freq_no_answer_is_not_a_connected_call():
    """CN-FREQ: unanswered (no_answer, voicemail) and never-connected calls are not connected calls."""
    s = cn()
    for h, outcome in (("09", "no_answer"), ("10", "no_answer"), ("11", "voicemail"), ("12", "not_connected"),
                       ("13", "busy")):
        s.contact("B1", "agent_call", f"2026-03-02T{h}:00:00{SH}", outcome)
    s.action("A1", "B1", "agent_call", f"2026-03-02T14:00:00{SH}")
    assert allowed(s.decide("A1"))


def test_cn_freq_inbound_call_counts_as_a_conversation():
    """CN-FREQ: an inbound call from the debtor is a (connected) conversation of the day."""
    s = cn()
    s.contact("B1", "agent_call", f"2026-03-02T09:00:00{SH}", "right_party_contact")
    s.contact("B1", "agent_call", f"2026-03-02T10:00:00{SH}", "right_party_contact")
    s.action("A1", "B1", "agent_call", f"2026-03-02T12:00:00{SH}")
    assert allowed(s.decide("A1"))
    s.contact("B1", "agent_call", f"2026-03-02T11:00:00{SH}", "promise_to_pay", direction="inbound")
    assert blocked_by(s.decide("A1"), "CN-FREQ")


def test_cn_freq_fourth_call_in_batch_blocked_by_the_three_before():
    """CN-FREQ: in one batch, the fourth call to the debtor on a day is blocked by the three before it;
    a call the next day is allowed."""
    s = cn()
    for i, hour in enumerate(("09", "10", "11", "12"), start=1):
        s.action(f"A{i}", "B1", "agent_call", f"2026-03-02T{hour}:00:00{SH}")
    s.action("A5", "B1", "agent_call", f"2026-03-03T09:00:00{SH}")
    out = by_id(s)
    assert all(allowed(out[a]) for a in ("A1", "A2", "A3"))
    assert blocked_by(out["A4"], "CN-FREQ")
    assert allowed(out["A5"])


def test_cn_freq_calls_yesterday_do_not_count():
    """CN-FREQ: the debtor's local calendar day. Three calls late yesterday (23:00-23:50 Shanghai,
    15:00Z, already 'today' in no useful sense) do not count at 08:30 today."""
    s = cn()
    for m in ("00", "20", "50"):
        s.contact("B1", "agent_call", f"2026-03-02T23:{m}:00{SH}", "right_party_contact")
    s.action("A1", "B1", "agent_call", f"2026-03-03T08:30:00{SH}")
    assert allowed(s.decide("A1"))


def test_cn_freq_local_day_not_utc_day():
    """CN-FREQ: three calls at 07:00-07:40 Shanghai (the previous UTC day) count for 10:00 Shanghai."""
    s = cn()
    for m in ("00", "20", "40"):
        s.contact("B1", "agent_call", f"2026-03-03T07:{m}:00{SH}", "right_party_contact")
    s.action("A1", "B1", "agent_call", f"2026-03-03T10:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-FREQ")


def test_cn_freq_conflicting_zones_each_zone_has_its_own_day():
    """CN-FREQ with zones Asia/Shanghai and Asia/Urumqi: calls at 23:30 Urumqi on 2 March are
    01:30 Shanghai on 3 March. On 3 March they count in the Shanghai day (the strictest zone decides):
    blocked. On 2 March (before midnight Urumqi, later calls) they belong to Urumqi's 2 March only."""
    zones = ["Asia/Shanghai", "Asia/Urumqi"]
    s = cn(zones=zones)
    for m in ("30", "40", "50"):
        s.contact("B1", "agent_call", f"2026-03-02T23:{m}:00{UR}", "right_party_contact")
    s.action("A1", "B1", "agent_call", f"2026-03-03T11:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-FREQ")
    # Single-zone Urumqi borrower: those calls were on 2 March, nothing counts on 3 March.
    s2 = cn(zones=["Asia/Urumqi"])
    for m in ("30", "40", "50"):
        s2.contact("B1", "agent_call", f"2026-03-02T23:{m}:00{UR}", "right_party_contact")
    s2.action("A1", "B1", "agent_call", f"2026-03-03T11:00:00{UR}")
    assert allowed(s2.decide("A1"))
    # On 4 March neither zone's day holds them.
    s.action("A2", "B1", "agent_call", f"2026-03-04T11:00:00{SH}")
    assert allowed(s.decide("A2"))


# --------------------------------------------------------------------------- CN-3P


def unreachable(s: Scenario, first: int = 1, last: int = 7) -> Scenario:
    """Daily unanswered calls to the debtor on 2026-03-<first> .. 2026-03-<last>."""
    for dd in range(first, last + 1):
        s.contact("B1", "agent_call", f"2026-03-{dd:02d}T10:00:00{SH}", "no_answer")
    return s


def enquiry(s: Scenario, action_id: str, at: str, party: str = "R1", **kw) -> Scenario:
    kw.setdefault("template_id", "cn_contact_enquiry")
    kw.setdefault("language", "zh-CN")
    return s.action(action_id, "B1", "agent_call", at, party=party, **kw)


def test_cn_3p_only_after_seven_days_of_unsuccessful_attempts():
    """CN-3P: a pre-agreed contact only when the debtor was tried and not reached for 7 days:
    first attempt on 1 March, allowed on 8 March, blocked on 7 March."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    enquiry(s, "A1", f"2026-03-07T15:00:00{SH}")
    enquiry(s, "A2", f"2026-03-08T15:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-3P")
    s2 = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    enquiry(s2, "A2", f"2026-03-08T15:00:00{SH}")
    assert allowed(s2.decide("A2"))


def test_cn_3p_blocked_when_the_debtor_was_reached_recently():
    """CN-3P: attempts for 10 days do not make the debtor unreachable if they were reached 3 days ago."""
    s = unreachable(cn(), 1, 10).reference("R1", "B1", "parent", consented_on="2026-01-01")
    s.contact("B1", "agent_call", f"2026-03-08T11:00:00{SH}", "right_party_contact")
    enquiry(s, "A1", f"2026-03-11T15:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-3P")


def test_cn_3p_blocked_without_any_attempt():
    """CN-3P: a debtor nobody tried to reach is not unreachable."""
    s = cn().reference("R1", "B1", "parent", consented_on="2026-01-01")
    enquiry(s, "A1", f"2026-03-08T15:00:00{SH}")
    assert blocked_by(s.decide("A1"), "CN-3P")


def test_cn_3p_only_once():
    """CN-3P: a pre-agreed contact is reached once; a second enquiry is blocked."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    s.contact("B1", "agent_call", f"2026-03-08T15:00:00{SH}", "right_party_contact", party="R1")
    enquiry(s, "A1", f"2026-03-09T15:00:00{SH}")
    d = s.decide("A1")
    assert blocked_by(d, "CN-3P")


def test_cn_3p_only_once_within_a_batch():
    """CN-3P: two enquiries to the same contact in one batch: the first allowed, the second blocked."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    enquiry(s, "A1", f"2026-03-08T10:00:00{SH}")
    enquiry(s, "A2", f"2026-03-08T15:00:00{SH}")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "CN-3P")


def test_cn_3p_never_after_a_refusal():
    """CN-3P: a contact who refused (here by calling in to say stop) is never contacted again."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    s.contact("B1", "agent_call", f"2026-03-05T12:00:00{SH}", "cease_request", party="R1", direction="inbound")
    enquiry(s, "A1", f"2026-03-09T15:00:00{SH}")
    d = s.decide("A1")
    assert blocked_by(d, "CN-3P")
    assert "refused" in d["explanation"]


def test_cn_3p_never_without_the_borrowers_consent():
    """CN-3P: without consented_on (or with consent given only after the action) the contact is closed."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on=None).reference(
        "R2", "B1", "friend", consented_on="2026-03-20", phone="+8613700002222")
    enquiry(s, "A1", f"2026-03-08T15:00:00{SH}")
    enquiry(s, "A2", f"2026-03-08T16:00:00{SH}", party="R2")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-3P")
    assert blocked_by(out["A2"], "CN-3P")


def test_cn_3p_never_an_address_book_contact():
    """CN-3P and ARREARS-3P-SOURCE: a person from the phone's address book is never contacted,
    even with every other condition met."""
    s = unreachable(cn()).reference("R1", "B1", "friend", consented_on="2026-01-01", source="address_book")
    enquiry(s, "A1", f"2026-03-08T15:00:00{SH}")
    d = s.decide("A1")
    assert blocked_by(d, "CN-3P")
    assert blocked_by(d, "ARREARS-3P-SOURCE")


def test_cn_3p_borrower_template_to_a_contact_is_blocked():
    """CN-3P: a contact is reached without debt details: a borrower template (cn_reminder_sms) is
    blocked, the third-party script cn_contact_enquiry is allowed."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    s.action("A1", "B1", "sms", f"2026-03-08T15:00:00{SH}", party="R1", template_id="cn_reminder_sms", language="zh-CN")
    d = s.decide("A1")
    assert blocked_by(d, "CN-3P")
    s2 = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    enquiry(s2, "A1", f"2026-03-08T15:00:00{SH}")
    assert allowed(s2.decide("A1"))


def test_cn_3p_call_without_template_is_blocked():
    """CN-3P: a call to a contact without the third-party script may disclose the debt: blocked."""
    s = unreachable(cn()).reference("R1", "B1", "parent", consented_on="2026-01-01")
    s.action("A1", "B1", "agent_call", f"2026-03-08T15:00:00{SH}", party="R1")
    assert blocked_by(s.decide("A1"), "CN-3P")


def test_cn_3p_allowed_when_the_debtor_is_deceased():
    """CN-3P: a pre-agreed contact may be reached when the debtor has died, without 7 days of attempts."""
    s = cn().reference("R1", "B1", "spouse", consented_on="2026-01-01").flag("B1", "deceased", "2026-03-01")
    enquiry(s, "A1", f"2026-03-03T15:00:00{SH}")
    assert allowed(s.decide("A1"))
    s2 = cn().reference("R1", "B1", "spouse", consented_on="2026-01-01")
    enquiry(s2, "A1", f"2026-03-03T15:00:00{SH}")
    assert blocked_by(s2.decide("A1"), "CN-3P")


# --------------------------------------------------------------------------- CN-BEHAV, CN-AMOUNT, CN-CR-NOTICE


def test_cn_behav_field_visit_needs_a_recording_ref():
    """CN-BEHAV: a field visit without recording_ref is blocked, with one allowed."""
    s = cn().action("A1", "B1", "field_visit", f"2026-03-02T10:00:00{SH}").action(
        "A2", "B1", "field_visit", f"2026-03-03T10:00:00{SH}", recording_ref="rec://visits/2026-03-03/B1")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-BEHAV")
    assert allowed(out["A2"])


def test_cn_amount_settlement_above_the_receivable_blocked():
    """CN-AMOUNT (and ARREARS-AMOUNT): an offer above what may lawfully be collected is blocked;
    an offer of exactly the receivable is allowed."""
    s = cn(receivable="4200.00")
    s.action("A1", "B1", "settlement_offer", f"2026-03-02T10:00:00{SH}", channel="sms",
             template_id="cn_settlement_offer_sms", language="zh-CN", offer_amount="4200.01")
    d = s.decide("A1")
    assert blocked_by(d, "CN-AMOUNT")
    assert blocked_by(d, "ARREARS-AMOUNT")
    assert "CNY 4200.01" in d["explanation"]
    s2 = cn(receivable="4200.00")
    s2.action("A1", "B1", "settlement_offer", f"2026-03-02T10:00:00{SH}", channel="sms",
              template_id="cn_settlement_offer_sms", language="zh-CN", offer_amount="4200.00")
    assert allowed(s2.decide("A1"))


def test_cn_cr_notice_bureau_report_needs_the_prereport_notice():
    """CN-CR-NOTICE: reporting negative information without telling the borrower first is blocked."""
    s = cn().action("A1", "B1", "bureau_report", f"2026-03-10T10:00:00{SH}", channel=None)
    assert blocked_by(s.decide("A1"), "CN-CR-NOTICE")
    s.flag("B1", "cn_prereport_notice_sent", "2026-03-01")
    assert allowed(s.decide("A1"))


# --------------------------------------------------------------------------- ARREARS-VISIT-MIN, ARREARS-SMS in CN


def test_arrears_visit_min_cny_threshold():
    """ARREARS-VISIT-MIN: nobody comes to the door for a thousand or two: CNY 2999.99 blocked,
    CNY 3000.00 allowed."""
    rec = "rec://v/1"
    low = cn(receivable="2999.99").action("A1", "B1", "field_visit", f"2026-03-02T10:00:00{SH}", recording_ref=rec)
    d = low.decide("A1")
    assert blocked_by(d, "ARREARS-VISIT-MIN") and rules_of(d) == {"ARREARS-VISIT-MIN"}
    ok = cn(receivable="3000.00").action("A1", "B1", "field_visit", f"2026-03-02T10:00:00{SH}", recording_ref=rec)
    assert allowed(ok.decide("A1"))


def sms(s: Scenario, action_id: str, at: str, action: str = "sms", **kw) -> Scenario:
    return s.action(action_id, "B1", action, at, template_id="cn_reminder_sms", language="zh-CN", **kw)


def test_arrears_sms_second_sms_same_local_day_blocked():
    """ARREARS-SMS: one SMS per local day: a second the same day is blocked, the next day allowed."""
    s = cn().contact("B1", "sms", f"2026-03-02T09:00:00{SH}", "delivered")
    sms(s, "A1", f"2026-03-02T18:00:00{SH}")
    sms(s, "A2", f"2026-03-03T09:30:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-SMS")
    assert allowed(out["A2"])


def test_arrears_sms_fourth_in_seven_days_blocked():
    """ARREARS-SMS: at most 3 SMS in 7 days: with SMS on 2, 4 and 6 March a fourth on 8 March is
    blocked; on 9 March (2 March is 7 days back) it is allowed."""
    s = cn()
    for dday in ("02", "04", "06"):
        s.contact("B1", "sms", f"2026-03-{dday}T10:00:00{SH}", "delivered")
    sms(s, "A1", f"2026-03-08T10:00:00{SH}")
    assert blocked_by(s.decide("A1"), "ARREARS-SMS")
    s2 = cn()
    for dday in ("02", "04", "06"):
        s2.contact("B1", "sms", f"2026-03-{dday}T10:00:00{SH}", "delivered")
    sms(s2, "A1", f"2026-03-09T10:00:00{SH}")
    assert allowed(s2.decide("A1"))


def test_arrears_sms_app_push_counts_as_sms():
    """ARREARS-SMS: an app push is an SMS (vocab.py): a push today blocks an SMS, an SMS today blocks
    a push."""
    s = cn().contact("B1", "app_push", f"2026-03-02T09:00:00{SH}", "delivered")
    sms(s, "A1", f"2026-03-02T12:00:00{SH}")
    assert blocked_by(s.decide("A1"), "ARREARS-SMS")
    s2 = cn().contact("B1", "sms", f"2026-03-02T09:00:00{SH}", "delivered")
    sms(s2, "A1", f"2026-03-02T12:00:00{SH}", action="app_push")
    assert blocked_by(s2.decide("A1"), "ARREARS-SMS")


def test_arrears_sms_app_push_batch_counts():
    """ARREARS-SMS: a push and an SMS planned in one batch the same day: the later one is blocked."""
    s = cn()
    sms(s, "A1", f"2026-03-02T09:00:00{SH}", action="app_push")
    sms(s, "A2", f"2026-03-02T12:00:00{SH}")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-SMS")


def test_cn_hours_stated_preference_narrows_but_never_widens():
    """CN-HOURS (stated preferences are reported under it): preferred_hours 10:00-20:00 narrows the
    window (09:30 blocked, window 10:00-20:00); a wider stated window 07:00-23:00 does not open 07:30."""
    s = cn().flag("B1", "preferred_hours", "2026-02-01", value="10:00-20:00")
    s.action("A1", "B1", "agent_call", f"2026-03-02T09:30:00{SH}")
    s.action("A2", "B1", "agent_call", f"2026-03-03T11:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-HOURS")
    assert out["A1"]["allowed_start"] == ts(f"2026-03-02T10:00:00{SH}")
    assert out["A1"]["allowed_end"] == ts(f"2026-03-02T20:00:00{SH}")
    assert allowed(out["A2"])
    wide = cn().flag("B1", "preferred_hours", "2026-02-01", value="07:00-23:00")
    wide.action("A1", "B1", "agent_call", f"2026-03-02T07:30:00{SH}")
    d = wide.decide("A1")
    assert blocked_by(d, "CN-HOURS")
    assert d["allowed_start"] == ts(f"2026-03-02T08:00:00{SH}")


def test_cn_hours_override_may_not_loosen_the_legal_floor():
    """CN-HOURS: 22:00 and 08:00 are legal floors: an override to 22:30 or from 07:00 is refused;
    21:30 (a platform default loosened within the floor) is the lender's call."""
    def ov(line: str):
        return parse_overrides(f'[override]\nportfolio = "p1"\n\n[rules.CN-HOURS]\n{line}\n', "test.toml")

    s = cn().action("A1", "B1", "agent_call", f"2026-03-02T21:15:00{SH}")
    for line in ('local_hours_until = "22:30"', 'local_hours_from = "07:00"'):
        try:
            s.decide("A1", overrides=ov(line))
        except BadInput as e:
            assert "CN-HOURS" in str(e)
        else:
            raise AssertionError(f"{line} was accepted")
    assert blocked_by(s.decide("A1"), "CN-HOURS")
    assert allowed(s.decide("A1", overrides=ov('local_hours_until = "21:30"')))


def test_arrears_sms_conflicting_zones_local_day():
    """ARREARS-SMS with zones Asia/Shanghai and Asia/Urumqi: an SMS at 23:30 Urumqi on 2 March is
    3 March in Shanghai, so a text at 11:00 Shanghai on 3 March is the second of that day: blocked."""
    s = cn(zones=["Asia/Shanghai", "Asia/Urumqi"]).contact("B1", "sms", f"2026-03-02T23:30:00{UR}", "delivered")
    sms(s, "A1", f"2026-03-03T11:00:00{SH}")
    assert blocked_by(s.decide("A1"), "ARREARS-SMS")
    s.actions.clear()
    sms(s, "A2", f"2026-03-04T11:00:00{SH}")
    assert allowed(s.decide("A2"))
