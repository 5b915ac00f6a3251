"""Scenario tests for the platform rules (FIELD-NOTES §4, platform-wide; platform.toml) in CN and GB,
and for how a batch is decided. Each test names the rule id it is about."""

from __future__ import annotations

from tests.policy.check.support import Scenario, allowed, blocked_by, rules_of

SH = "+08:00"
BST = "+01:00"
CN_PHONE = "+8613800138000"
CN_PHONE_2 = "+8613900139000"
GB_PHONE = "+447700900123"
GB_PHONE_2 = "+447700900456"


def cn(receivable: str = "5000.00", time_barred_on: str | None = None) -> Scenario:
    return Scenario().borrower("B1", "CN", phone=CN_PHONE, email="b1@example.cn").loan(
        "L1", "B1", "CNY", receivable=receivable, time_barred_on=time_barred_on)


def gb() -> Scenario:
    return Scenario().borrower("B1", "GB", phone=GB_PHONE, email="b1@example.co.uk").loan("L1", "B1", "GBP")


def by_id(s: Scenario, **kw) -> dict[str, dict]:
    return {r["action_id"]: r for r in s.check(**kw).iter_rows(named=True)}


def cn_sms(s: Scenario, action_id: str, at: str, **kw) -> Scenario:
    kw.setdefault("template_id", "cn_reminder_sms")
    kw.setdefault("language", "zh-CN")
    return s.action(action_id, "B1", kw.pop("action", "sms"), at, **kw)


def gb_sms(s: Scenario, action_id: str, at: str, **kw) -> Scenario:
    kw.setdefault("template_id", "gb_reminder_sms")
    kw.setdefault("language", "en")
    return s.action(action_id, "B1", kw.pop("action", "sms"), at, **kw)


# --------------------------------------------------------------------------- ARREARS-HOLD


def test_arrears_hold_contact_hold_pauses_contact():
    """ARREARS-HOLD: a contact_hold (a pause) blocks calls and texts while in force; lifted, they resume."""
    s = cn().flag("B1", "contact_hold", "2026-03-01", end_on="2026-03-10")
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-06T10:00:00{SH}")
    s.action("A3", "B1", "agent_call", f"2026-03-10T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-HOLD")
    assert "pause" in out["A1"]["explanation"]
    assert blocked_by(out["A2"], "ARREARS-HOLD")
    assert allowed(out["A3"])


def test_arrears_hold_written_dispute_letters_still_allowed():
    """ARREARS-HOLD: a written dispute pauses every non-letter contact; letters are still allowed."""
    s = cn().flag("B1", "dispute", "2026-03-01", written=True)
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-05T11:00:00{SH}")
    s.action("A3", "B1", "letter", f"2026-03-05T10:00:00{SH}", template_id="cn_demand_letter", language="zh-CN")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-HOLD")
    assert blocked_by(out["A2"], "ARREARS-HOLD")
    assert allowed(out["A3"])


def test_arrears_hold_oral_dispute_is_not_a_hold_in_cn():
    """ARREARS-HOLD: only a written dispute is a hold; an oral one in CN leaves calls allowed."""
    s = cn().flag("B1", "dispute", "2026-03-01", written=False)
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}")
    assert allowed(s.decide("A1"))


# --------------------------------------------------------------------------- ARREARS-OPTOUT


def test_arrears_optout_cn_number_closed_for_texts_and_pushes():
    """ARREARS-OPTOUT in CN: an SMS opt-out at a number closes texts and pushes to that number;
    a text to another number and a call to the same number stay open."""
    s = cn().flag("B1", "opt_out", "2026-03-01", value=f"sms:{CN_PHONE}")
    cn_sms(s, "A1", f"2026-03-05T10:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-06T10:00:00{SH}", action="app_push")
    cn_sms(s, "A3", f"2026-03-07T10:00:00{SH}", address=CN_PHONE_2)
    s.action("A4", "B1", "agent_call", f"2026-03-08T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-OPTOUT")
    assert blocked_by(out["A2"], "ARREARS-OPTOUT")
    assert allowed(out["A3"])
    assert allowed(out["A4"])


def test_arrears_optout_gb_stop_calling_covers_the_dialer():
    """ARREARS-OPTOUT in GB: an opt-out of calls closes agent calls and robocalls; texts stay open."""
    s = gb().flag("B1", "opt_out", "2026-07-01", value="agent_call")
    s.action("A1", "B1", "agent_call", f"2026-07-02T11:00:00{BST}")
    s.action("A2", "B1", "robocall", f"2026-07-03T11:00:00{BST}")
    gb_sms(s, "A3", f"2026-07-04T11:00:00{BST}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-OPTOUT")
    assert blocked_by(out["A2"], "ARREARS-OPTOUT")
    assert allowed(out["A3"])


def test_arrears_optout_gb_one_reply_after_the_person_writes():
    """ARREARS-OPTOUT: after opting out the person texts in: one reply is allowed, a second is not."""
    s = gb().flag("B1", "opt_out", "2026-07-01", value=f"sms:{GB_PHONE}")
    s.contact("B1", "sms", f"2026-07-03T10:00:00{BST}", "right_party_contact", direction="inbound", address=GB_PHONE)
    gb_sms(s, "A1", f"2026-07-03T12:00:00{BST}")
    assert allowed(s.decide("A1"))
    s.contact("B1", "sms", f"2026-07-03T12:00:00{BST}", "delivered", address=GB_PHONE)
    s.actions.clear()
    gb_sms(s, "A2", f"2026-07-06T12:00:00{BST}")
    assert blocked_by(s.decide("A2"), "ARREARS-OPTOUT")


def test_arrears_optout_cn_an_oral_stop_earns_no_reply_when_the_person_calls_in():
    """ARREARS-OPTOUT: "stop calling" said on a call closes the telephone (platform policy, read as a
    cease of that channel): when the person later calls in, the lender may talk on that call, but
    may not call back, unlike after a STOP written to an address."""
    s = cn().flag("B1", "opt_out", "2026-03-09", value="agent_call")
    s.contact("B1", "agent_call", f"2026-03-09T17:27:51{SH}", "cease_request", direction="inbound", address=CN_PHONE)
    s.contact("B1", "agent_call", f"2026-03-28T17:52:50{SH}", "promise_to_pay", direction="inbound", address=CN_PHONE)
    s.action("A1", "B1", "agent_call", f"2026-03-31T12:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-31T12:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-OPTOUT")
    assert allowed(out["A2"])


# --------------------------------------------------------------------------- ARREARS-ADDRESS


def test_arrears_address_wrong_number():
    """ARREARS-ADDRESS: a number marked wrong is never called or texted; another number is."""
    s = cn().flag("B1", "wrong_number", "2026-03-01", value=CN_PHONE)
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-05T11:00:00{SH}")
    s.action("A3", "B1", "agent_call", f"2026-03-06T10:00:00{SH}", address=CN_PHONE_2)
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-ADDRESS")
    assert blocked_by(out["A2"], "ARREARS-ADDRESS")
    assert allowed(out["A3"])


def test_arrears_address_undeliverable_email():
    """ARREARS-ADDRESS: an e-mail address marked undeliverable is not used; another one is."""
    s = gb().flag("B1", "undeliverable", "2026-07-01", value="email:b1@example.co.uk")
    s.action("A1", "B1", "email", f"2026-07-02T11:00:00{BST}", template_id="gb_reminder_email", language="en")
    s.action("A2", "B1", "email", f"2026-07-03T11:00:00{BST}", template_id="gb_reminder_email", language="en",
             address="b1.new@example.co.uk")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-ADDRESS")
    assert allowed(out["A2"])


# --------------------------------------------------------------------------- ARREARS-VULN


def test_arrears_vuln_in_cn_no_visits_no_robocalls():
    """ARREARS-VULN in CN: a vulnerable borrower gets no field visit and no robocall; an agent call
    is allowed."""
    s = cn().flag("B1", "vulnerable", "2026-03-01")
    s.action("A1", "B1", "field_visit", f"2026-03-05T10:00:00{SH}", recording_ref="rec://v/1")
    s.action("A2", "B1", "robocall", f"2026-03-06T10:00:00{SH}")
    s.action("A3", "B1", "agent_call", f"2026-03-07T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-VULN") and rules_of(out["A1"]) == {"ARREARS-VULN"}
    assert blocked_by(out["A2"], "ARREARS-VULN")
    assert allowed(out["A3"])


# --------------------------------------------------------------------------- ARREARS-TEMPLATE


def test_arrears_template_sms_without_template_blocked():
    """ARREARS-TEMPLATE: an SMS needs a shipped template; with cn_reminder_sms it is allowed."""
    s = cn().action("A1", "B1", "sms", f"2026-03-05T10:00:00{SH}")
    cn_sms(s, "A2", f"2026-03-06T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-TEMPLATE")
    assert allowed(out["A2"])


def test_arrears_template_wrong_channel_blocked():
    """ARREARS-TEMPLATE: an e-mail template sent as an SMS is blocked."""
    s = cn()
    cn_sms(s, "A1", f"2026-03-05T10:00:00{SH}", template_id="cn_reminder_email", language="zh-CN")
    assert blocked_by(s.decide("A1"), "ARREARS-TEMPLATE")


def test_arrears_template_wrong_jurisdiction_blocked():
    """ARREARS-TEMPLATE: a GB or US template to a CN borrower is blocked (and a CN one to GB)."""
    s = cn()
    cn_sms(s, "A1", f"2026-03-05T10:00:00{SH}", template_id="gb_reminder_sms", language="en")
    cn_sms(s, "A2", f"2026-03-06T10:00:00{SH}", template_id="us_reminder_sms", language="en")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-TEMPLATE")
    assert blocked_by(out["A2"], "ARREARS-TEMPLATE")
    g = gb()
    gb_sms(g, "A1", f"2026-07-02T11:00:00{BST}", template_id="cn_reminder_sms", language="en")
    assert blocked_by(g.decide("A1"), "ARREARS-TEMPLATE")


# --------------------------------------------------------------------------- ARREARS-TIMEBAR


def test_arrears_timebar_no_legal_action_on_a_time_barred_cn_loan():
    """ARREARS-TIMEBAR: no suit on a CN debt barred since 1 March; a loan barred only from 1 April
    may still be sued on 5 March."""
    s = cn(time_barred_on="2026-03-01").action("A1", "B1", "legal_action", f"2026-03-05T10:00:00{SH}", channel=None)
    assert blocked_by(s.decide("A1"), "ARREARS-TIMEBAR")
    s2 = cn(time_barred_on="2026-04-01").action("A1", "B1", "legal_action", f"2026-03-05T10:00:00{SH}", channel=None)
    assert allowed(s2.decide("A1"))


def test_arrears_timebar_barred_from_its_first_day():
    """ARREARS-TIMEBAR: on the day the debt becomes time-barred, suit is already barred."""
    s = cn(time_barred_on="2026-03-05").action("A1", "B1", "legal_action", f"2026-03-05T10:00:00{SH}", channel=None)
    assert blocked_by(s.decide("A1"), "ARREARS-TIMEBAR")


# --------------------------------------------------------------------------- ARREARS-EMAIL


def test_arrears_email_one_a_day():
    """ARREARS-EMAIL: at most one e-mail a local day per person: a second today is blocked,
    tomorrow allowed."""
    s = cn().contact("B1", "email", f"2026-03-05T09:00:00{SH}", "delivered")
    for aid, at in (("A1", f"2026-03-05T15:00:00{SH}"), ("A2", f"2026-03-06T09:00:00{SH}")):
        s.action(aid, "B1", "email", at, template_id="cn_reminder_email", language="zh-CN")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-EMAIL")
    assert allowed(out["A2"])


def test_arrears_email_batch_second_email_blocked():
    """ARREARS-EMAIL: two e-mails planned the same day in one batch: the second is blocked."""
    s = gb()
    for aid, h in (("A1", "10"), ("A2", "15")):
        s.action(aid, "B1", "email", f"2026-07-02T{h}:00:00{BST}", template_id="gb_reminder_email", language="en")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-EMAIL")


# --------------------------------------------------------------------------- several numbers, batches


def test_arrears_sms_cap_is_per_person_across_numbers():
    """ARREARS-SMS: the cap is per person: an SMS to the second number today is blocked by the one
    sent to the first number."""
    s = cn().contact("B1", "sms", f"2026-03-05T09:00:00{SH}", "delivered", address=CN_PHONE)
    cn_sms(s, "A1", f"2026-03-05T12:00:00{SH}", address=CN_PHONE_2)
    assert blocked_by(s.decide("A1"), "ARREARS-SMS")


def test_arrears_sms_cap_per_person_across_numbers_in_a_batch():
    """ARREARS-SMS: a batch with texts to two numbers of one person on one day: the second is blocked."""
    s = gb()
    gb_sms(s, "A1", f"2026-07-02T10:00:00{BST}")
    gb_sms(s, "A2", f"2026-07-02T11:00:00{BST}", address=GB_PHONE_2)
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-SMS")


def test_arrears_sms_earlier_blocked_action_does_not_count():
    """ARREARS-SMS in a batch: an earlier SMS blocked (by CN-HOURS at 07:00, or by ARREARS-TEMPLATE)
    is not sent and does not count against a later one."""
    s = cn()
    cn_sms(s, "A1", f"2026-03-05T07:00:00{SH}")
    s.action("A2", "B1", "sms", f"2026-03-05T08:30:00{SH}")
    cn_sms(s, "A3", f"2026-03-05T10:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "CN-HOURS")
    assert blocked_by(out["A2"], "ARREARS-TEMPLATE")
    assert allowed(out["A3"])


def test_cn_freq_earlier_blocked_call_does_not_count():
    """CN-FREQ in a batch: two connected calls today; a planned call blocked by
    ARREARS-ADDRESS (a wrong number) does not use up the third call."""
    s = cn().flag("B1", "wrong_number", "2026-03-01", value=CN_PHONE_2)
    s.contact("B1", "agent_call", f"2026-03-05T08:30:00{SH}", "right_party_contact")
    s.contact("B1", "agent_call", f"2026-03-05T09:00:00{SH}", "right_party_contact")
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}", address=CN_PHONE_2)
    s.action("A2", "B1", "agent_call", f"2026-03-05T11:00:00{SH}")
    s.action("A3", "B1", "agent_call", f"2026-03-05T12:00:00{SH}")
    out = by_id(s)
    assert blocked_by(out["A1"], "ARREARS-ADDRESS")
    assert allowed(out["A2"])
    assert blocked_by(out["A3"], "CN-FREQ")


def test_strictest_rule_wins_both_ids_named():
    """ARREARS-SMS and GB-FREQ: when both block, the action is blocked and both ids are named with
    their reasons."""
    s = gb()
    s.contact("B1", "agent_call", f"2026-07-06T10:00:00{BST}", "right_party_contact")
    s.contact("B1", "email", f"2026-07-08T10:00:00{BST}", "delivered")
    s.contact("B1", "sms", f"2026-07-10T09:00:00{BST}", "delivered")
    gb_sms(s, "A1", f"2026-07-10T12:00:00{BST}")
    d = s.decide("A1")
    assert d["decision"] == "block"
    assert {"ARREARS-SMS", "GB-FREQ"} <= rules_of(d)
    assert "ARREARS-SMS:" in d["explanation"] and "GB-FREQ:" in d["explanation"]
    assert d["allowed_start"] is None


def test_strictest_rule_wins_one_blocking_rule_is_enough():
    """ARREARS-VULN with GB-VULN, and the hours: a robocall to a vulnerable GB customer at 22:00 names
    GB-CONTACT, GB-VULN and ARREARS-VULN, and no window is offered (moving it would not help)."""
    s = gb().flag("B1", "vulnerable", "2026-07-01").action("A1", "B1", "robocall", f"2026-07-02T22:00:00{BST}")
    d = s.decide("A1")
    assert d["decision"] == "block"
    assert {"GB-CONTACT", "GB-VULN", "ARREARS-VULN"} <= rules_of(d)
    assert d["allowed_start"] is None and d["allowed_end"] is None


def test_arrears_timebar_conflicting_zones_barred_in_any_candidate_zone():
    """ARREARS-TIMEBAR with zones Asia/Shanghai and Asia/Urumqi: a suit planned at 01:00 Shanghai on
    the day the debt becomes barred (still the day before in Urumqi) is blocked: with conflicting
    zones the strictest candidate binds (flag_facts, history: the strictest zone decides)."""
    s = Scenario().borrower("B1", "CN", zones=["Asia/Shanghai", "Asia/Urumqi"]).loan(
        "L1", "B1", "CNY", time_barred_on="2026-03-03")
    s.action("A1", "B1", "legal_action", f"2026-03-03T01:00:00{SH}", channel=None)
    assert blocked_by(s.decide("A1"), "ARREARS-TIMEBAR")


def test_arrears_hold_binds_only_the_disputed_loan():
    """ARREARS-HOLD: a written dispute about loan L2 pauses contact about L2, not about L1."""
    s = cn().loan("L2", "B1", "CNY").flag("B1", "dispute", "2026-03-01", written=True, loan_id="L2")
    s.action("A1", "B1", "agent_call", f"2026-03-05T10:00:00{SH}", loan_id="L1")
    s.action("A2", "B1", "agent_call", f"2026-03-05T11:00:00{SH}", loan_id="L2")
    out = by_id(s)
    assert allowed(out["A1"])
    assert blocked_by(out["A2"], "ARREARS-HOLD")


def test_an_oral_stop_said_at_a_visit_closes_visits():
    # "Stop coming to my door", said to the visitor, is an opt-out of the whole channel (book.outcomes):
    # the next visit is blocked by ARREARS-OPTOUT; a call is not.
    s = cn().flag("B1", "opt_out", "2026-03-01", value="field_visit")
    s.action("A1", "B1", "field_visit", "2026-03-05T10:00:00+08:00", recording_ref="recordings/A1")
    s.action("A2", "B1", "agent_call", "2026-03-05T10:00:00+08:00")
    assert "ARREARS-OPTOUT" in s.decide("A1")["rules"].split(";")
    assert "ARREARS-OPTOUT" not in s.decide("A2")["rules"].split(";")
