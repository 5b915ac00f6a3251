"""Templates: every shipped one loads, and the content rules refuse what the field notes forbid."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from arrears.problems import BadInput
from arrears.templates import default_templates, load_templates, render
from arrears.templates.content_rules import check_banned, normalise
from arrears.templates.loader import MESSAGES

D = dt.date(2026, 3, 31)


def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(MESSAGES / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _refused(exc: pytest.ExceptionInfo[BadInput]) -> str:
    return "\n".join(p.message for p in exc.value.problems)


def test_every_shipped_template_loads():
    ts = load_templates()
    keys = set(ts.templates)
    assert ("cn_reminder_sms", "zh-CN") in keys and ("cn_reminder_sms", "en") in keys
    purposes = {t.meta.purpose for t in ts.templates.values()}
    assert purposes >= {
        "reminder", "demand", "settlement_offer", "plan_offer", "location_enquiry", "voicemail",
        "validation_notice", "cn_prereport_notice", "gb_nosia", "gb_default_notice",
    }
    assert {j for t in ts.templates.values() for j in t.meta.jurisdictions} == {"CN", "US", "GB"}


@pytest.mark.parametrize(
    ("name", "opt_out", "rule"),
    [
        ("us_reminder_sms.en.j2", "Reply STOP to opt out.", "US-OPTOUT"),
        ("cn_reminder_sms.zh-CN.j2", "回复TD退订", "ARREARS-OPTOUT"),
        ("gb_reminder_email.en.j2",
         'To stop receiving emails from us, reply STOP or write "unsubscribe" in your reply.',
         "ARREARS-OPTOUT"),
    ],
)
def test_a_message_without_opt_out_text_fails_to_load(tmp_path, name, opt_out, rule):
    d = _copy(tmp_path, name)
    _edit(d / name, opt_out, "")
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    text = _refused(exc)
    assert f"{name}: {rule}: missing required opt-out" in text


def test_all_problems_are_reported_together(tmp_path):
    d = _copy(tmp_path, "us_reminder_sms.en.j2", "cn_reminder_sms.zh-CN.j2")
    _edit(d / "us_reminder_sms.en.j2", "Reply STOP to opt out.", "Or we call the police.")
    _edit(d / "cn_reminder_sms.zh-CN.j2", "如已还款请忽略", "否则通知您的通讯录")
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    text = _refused(exc)
    assert "us_reminder_sms.en.j2: US-OPTOUT" in text
    assert "us_reminder_sms.en.j2: US-FALSE: banned phrase 'police'" in text
    assert "cn_reminder_sms.zh-CN.j2: CN-BEHAV: banned phrase '通讯录'" in text


@pytest.mark.parametrize(
    ("name", "anchor", "threat", "rule"),
    [
        ("cn_reminder_sms.zh-CN.j2", "如已还款请忽略", "逾期不还将被拘留", "CN-BEHAV"),
        ("cn_reminder_sms.zh-CN.j2", "如已还款请忽略", "我们将告诉你的家人", "CN-BEHAV"),
        ("cn_reminder_sms.zh-CN.j2", "如已还款请忽略", "公 安 已 介 入", "CN-BEHAV"),
        ("us_reminder_sms.en.j2", "Reply or call", "You could go to JAIL.", "US-FALSE"),
        ("us_reminder_sms.en.j2", "Reply or call", "Ｗｅ ｗｉｌｌ  ａｒｒｅｓｔ you.", "US-FALSE"),
        ("us_reminder_sms.en.j2", "Reply or call", "We will tell your   family.", "US-HARASS"),
        ("gb_reminder_sms.en.j2", "If things", "Your contacts will be notified.", "GB-CONTACT"),
    ],
)
def test_a_banned_phrase_fails_to_load(tmp_path, name, anchor, threat, rule):
    d = _copy(tmp_path, name)
    _edit(d / name, anchor, threat + anchor)
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    assert f"{name}: {rule}: banned phrase" in _refused(exc)


def _cn_sms(**over):
    ctx = {"creditor_name": "好借", "borrower_name": "张三", "amount_due": 123450,
           "due_date": D, "currency": "CNY"}
    return ctx | over


def _us_sms(**over):
    ctx = {"creditor_name": "Acme Credit", "borrower_name": "Pat Lee", "amount_due": 123450,
           "due_date": D, "currency": "USD"}
    return ctx | over


@pytest.mark.parametrize(
    ("tid", "lang", "ctx", "rule"),
    [
        ("cn_reminder_sms", "zh-CN", _cn_sms(borrower_name="张三（已报警，警察将上门）"), "CN-BEHAV"),
        ("cn_reminder_sms", "zh-CN", _cn_sms(creditor_name="已通知你的通讯录"), "CN-BEHAV"),
        ("us_reminder_sms", "en", _us_sms(creditor_name="Pay or go to prison"), "US-FALSE"),
        ("us_reminder_sms", "en", _us_sms(borrower_name="<b>a</b>rrest"), "US-FALSE"),
    ],
)
def test_a_banned_phrase_smuggled_in_a_variable_is_refused_at_render(tid, lang, ctx, rule):
    with pytest.raises(BadInput) as exc:
        render(tid, lang, ctx, time_barred=False, audience="borrower")
    assert f"{tid}.{lang}: {rule}: banned phrase" in _refused(exc)


def test_normalisation_catches_simple_obfuscation():
    assert "jail" in normalise("Ｊ Ａ Ｉ Ｌ")
    assert check_banned("逮\u3000捕", ["CN"])
    assert not check_banned("We value your courtesy and our policies.", ["US"])


def test_third_party_template_with_a_debt_word_is_refused(tmp_path):
    name = "us_location_enquiry.en.j2"
    d = _copy(tmp_path, name)
    _edit(d / name, "Thank you for your time;", "It is about an overdue loan. Thank you;")
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    text = _refused(exc)
    assert f"{name}: US-LOC: debt word 'overdue'" in text
    assert f"{name}: US-LOC: debt word 'loan'" in text


def test_third_party_template_with_a_debt_variable_is_refused(tmp_path):
    name = "cn_contact_enquiry.zh-CN.j2"
    d = _copy(tmp_path, name)
    _edit(d / name, 'callback_number = "text"', 'callback_number = "text"\namount_due = "money"')
    _edit(d / name, "谢谢！", "{{ amount_due }}谢谢！")
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    assert f"{name}: CN-3P: debt variable 'amount_due'" in _refused(exc)


def test_a_debt_word_in_a_third_party_value_is_refused_at_render():
    ctx = {"agent_name": "Sam, from the debt recovery desk", "consumer_name": "Pat Lee",
           "callback_number": "555-0100"}
    with pytest.raises(BadInput) as exc:
        render("us_location_enquiry", "en", ctx, time_barred=False, audience="third_party")
    assert "US-LOC: debt word 'debt'" in _refused(exc)


def test_a_voicemail_is_limited_content_and_a_borrower_message_never_goes_to_a_third_party():
    text = render("us_voicemail", "en",
                  {"consumer_name": "Pat Lee", "agent_name": "Sam", "callback_number": "555-0100"},
                  time_barred=False, audience="borrower")
    assert "debt" not in text.lower()
    with pytest.raises(BadInput) as exc:
        render("us_reminder_sms", "en", _us_sms(), time_barred=False, audience="third_party")
    assert "US-3P" in _refused(exc)


def test_time_barred_render_with_court_wording_is_refused():
    gb = {"creditor_name": "Acme", "borrower_name": "Pat", "account_number": "A1",
          "arrears_amount": 9000, "sent_on": D, "remedy_by": D + dt.timedelta(days=14),
          "currency": "GBP"}
    assert "court" in render("gb_default_notice", "en", gb, time_barred=False, audience="borrower")
    with pytest.raises(BadInput) as exc:
        render("gb_default_notice", "en", gb, time_barred=True, audience="borrower")
    assert "ARREARS-TIMEBAR: court or suit wording 'court'" in _refused(exc)

    with pytest.raises(BadInput) as exc:
        render("us_reminder_sms", "en", _us_sms(creditor_name="Acme (we will sue you)"),
               time_barred=True, audience="borrower")
    assert "US-TIMEBAR: court or suit wording 'sue'" in _refused(exc)
    with pytest.raises(BadInput) as exc:
        render("cn_reminder_sms", "zh-CN", _cn_sms(creditor_name="好借（将向法院起诉）"),
               time_barred=True, audience="borrower")
    assert "ARREARS-TIMEBAR: court or suit wording '起诉'" in _refused(exc)
    # the same value on a debt that is not time-barred is not a banned phrase
    render("cn_reminder_sms", "zh-CN", _cn_sms(creditor_name="好借（将向法院起诉）"),
           time_barred=False, audience="borrower")


def test_a_statement_that_we_will_not_sue_is_allowed_on_time_barred_debt():
    text = render("us_reminder_sms", "en",
                  _us_sms(creditor_name="Acme (because of its age, we will not sue you)"),
                  time_barred=True, audience="borrower")
    assert "will not sue you" in text


def test_mini_miranda_is_required_for_us_debt_collector_letters(tmp_path):
    name = "us_demand_letter.en.j2"
    d = _copy(tmp_path, name)
    _edit(d / name, "This is a communication from a debt collector. ", "")
    with pytest.raises(BadInput) as exc:
        load_templates(d)
    assert f"{name}: US-FALSE: missing required mini-Miranda (debt collector)" in _refused(exc)


def test_mini_miranda_is_adapted_to_the_collector_role():
    ctx = {"sender_name": "Acme Credit", "creditor_name": "Acme Credit", "borrower_name": "Pat",
           "account_number": "1234", "amount_due": 50000, "pay_by": D,
           "service_phone": "555-0100", "currency": "USD"}
    third = render("us_demand_letter", "en", ctx, time_barred=False, audience="borrower")
    first = render("us_demand_letter", "en", ctx, time_barred=False, audience="borrower",
                   collector_role="first_party")
    assert "This is a communication from a debt collector." in third
    assert "debt collector" not in first
    assert "This is an attempt to collect a debt" in first
    # the validation notice is a third-party collector's document only
    with pytest.raises(BadInput) as exc:
        render("us_validation_notice", "en", {}, time_barred=False, audience="borrower",
               collector_role="first_party")
    assert "US-FALSE: not written for a first_party collector" in _refused(exc)


def test_rendering_formats_money_and_dates_per_language():
    zh = render("cn_reminder_sms", "zh-CN", _cn_sms(), time_barred=False, audience="borrower")
    en = render("cn_reminder_sms", "en", _cn_sms(), time_barred=False, audience="borrower")
    us = render("us_reminder_sms", "en", _us_sms(), time_barred=False, audience="borrower")
    assert "¥1,234.50" in zh and "2026年3月31日" in zh and "回复TD退订" in zh
    assert "CN¥1,234.50" in en and "March 31, 2026" in en
    assert "$1,234.50" in us and "This is a communication from a debt collector." in us


def test_the_context_is_checked_strictly():
    with pytest.raises(BadInput) as exc:
        render("us_reminder_sms", "en", _us_sms(amount_due="1234.50", extra=1) | {"due_date": None},
               time_barred=False, audience="borrower")
    text = _refused(exc)
    assert "'amount_due' must be integer minor units" in text
    assert "context has unexpected 'extra'" in text
    assert "'due_date' must be date" in text


def test_email_and_letters_are_autoescaped():
    ctx = {"creditor_name": "Acme", "borrower_name": "<script>x</script>", "amount_due": 100,
           "due_date": D, "service_phone": "1", "currency": "GBP"}
    text = render("gb_reminder_email", "en", ctx, time_barred=False, audience="borrower")
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_gb_default_notice_gives_at_least_14_days():
    gb = {"creditor_name": "Acme", "borrower_name": "Pat", "account_number": "A1",
          "arrears_amount": 9000, "sent_on": D, "remedy_by": D + dt.timedelta(days=13),
          "currency": "GBP"}
    with pytest.raises(BadInput) as exc:
        render("gb_default_notice", "en", gb, time_barred=False, audience="borrower")
    assert "GB-DEFAULT: remedy_by is 13 days after sent_on" in _refused(exc)


def test_front_matter_problems_are_all_reported(tmp_path):
    (tmp_path / "x.en.j2").write_text(
        '+++\nid = "x"\nchannel = "fax"\nlanguage = "fr"\npurpose = "reminder"\n'
        'audience = "borrower"\njurisdictions = ["US"]\ncolour = 1\n[variables]\n+++\nhi\n',
        encoding="utf-8",
    )
    with pytest.raises(BadInput) as exc:
        load_templates(tmp_path)
    text = _refused(exc)
    for part in ("channel 'fax'", "language 'fr'", "unknown front matter key 'colour'"):
        assert f"x.en.j2: ARREARS-TEMPLATE: {part}" in text


def test_default_templates_is_loaded_once():
    assert default_templates() is default_templates()
