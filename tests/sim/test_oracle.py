"""The oracle (arrears.sim.oracle): each contact rule flags a hand-built breaching log, and the main
caps leave a just-inside log alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from arrears.sim.oracle import violations

CN, NY, MA, GB, SPLIT = "b-cn", "b-us", "b-ma", "b-gb", "b-split"

BORROWERS = pl.DataFrame([
    {"borrower_id": CN, "name": "王芳", "phone": "+8613800138000", "email": None,
     "language": "zh-CN", "jurisdiction": "CN", "timezone": None, "region": None,
     "work_phone": None, "email_is_employer_provided": None},
    {"borrower_id": NY, "name": "Ann Lee", "phone": "+12125550100", "email": "ann@work.example",
     "language": "en-US", "jurisdiction": "US-NY", "timezone": "America/New_York", "region": None,
     "work_phone": "+12125550199", "email_is_employer_provided": "true"},
    {"borrower_id": MA, "name": "Bo Kim", "phone": "+16175550100", "email": None,
     "language": "en-US", "jurisdiction": "US-MA", "timezone": None, "region": None,
     "work_phone": None, "email_is_employer_provided": None},
    {"borrower_id": GB, "name": "Cy Day", "phone": "+447700900123", "email": "cy@example.org",
     "language": "en-GB", "jurisdiction": "GB", "timezone": None, "region": None,
     "work_phone": None, "email_is_employer_provided": None},
    # A Californian number with a New York address: both zones are candidates.
    {"borrower_id": SPLIT, "name": "Di Fox", "phone": "+14155550100", "email": None,
     "language": "en-US", "jurisdiction": "US-NY", "timezone": None, "region": "NY",
     "work_phone": None, "email_is_employer_provided": None},
])

REFERENCES = pl.DataFrame([
    {"reference_id": "r-friend", "borrower_id": NY, "name": "F", "phone": "+12125550111",
     "relation": "friend", "source": "borrower_provided", "consented_on": None},
    {"reference_id": "r-atty", "borrower_id": NY, "name": "A", "phone": "+12125550112",
     "relation": "attorney", "source": "borrower_provided", "consented_on": None},
    {"reference_id": "r-estate", "borrower_id": NY, "name": "E", "phone": "+12125550113",
     "relation": "estate_representative", "source": "borrower_provided", "consented_on": None},
    {"reference_id": "r-spouse", "borrower_id": NY, "name": "S", "phone": "+12125550114",
     "relation": "spouse", "source": "borrower_provided", "consented_on": None},
    {"reference_id": "r-cn", "borrower_id": CN, "name": "李", "phone": "+8613900139000",
     "relation": "friend", "source": "borrower_provided", "consented_on": "2026-01-01"},
    {"reference_id": "r-cn-noconsent", "borrower_id": CN, "name": "张", "phone": "+8613900139001",
     "relation": "colleague", "source": "borrower_provided", "consented_on": None},
    {"reference_id": "r-book", "borrower_id": CN, "name": "赵", "phone": "+8613900139002",
     "relation": "other", "source": "address_book", "consented_on": None},
])

LOANS = pl.DataFrame({"loan_id": ["L-cn", "L-us", "L-ma", "L-gb", "L-split"],
                      "borrower_id": [CN, NY, MA, GB, SPLIT]})

ZONE = {CN: "Asia/Shanghai", NY: "America/New_York", MA: "America/New_York", GB: "Europe/London",
        SPLIT: "America/New_York"}
COLUMNS = ("event_id", "borrower_id", "loan_id", "channel", "direction", "at", "party", "address",
           "outcome", "written", "hours_from", "hours_to")
_n = iter(range(1, 10_000))


def ev(who: str, day: int, hhmm: str = "10:00", channel: str = "agent_call",
       outcome: str = "no_answer", **kw) -> dict:
    """One contact ``day - 1`` days after 2026-03-01 at ``hhmm`` on the wall clock of the person."""
    wall = datetime.fromisoformat(f"2026-03-01T{hhmm}") + timedelta(days=day - 1)
    at = wall.replace(tzinfo=ZoneInfo(ZONE[who]))
    row = dict.fromkeys(COLUMNS)
    row.update(event_id=kw.pop("event_id", f"e{next(_n)}"), borrower_id=who,
               loan_id=f"L-{who[2:]}", channel=channel, direction="outbound",
               at=at.isoformat(), party="borrower", outcome=outcome)
    row.update(kw)
    return row


def check(log: list[dict], flags=None, balances=None) -> list[tuple[str, str]]:
    frame = pl.DataFrame(log, schema=dict.fromkeys(COLUMNS, pl.String))
    found = violations(frame, BORROWERS, REFERENCES, flags, LOANS, balances)
    return list(zip(found["event_id"], found["rule"]))


def rules_of(log, **kw) -> set[str]:
    return {rule for _, rule in check(log, **kw)}


def flags(*rows: dict) -> pl.DataFrame:
    base = dict.fromkeys(("flag_id", "borrower_id", "loan_id", "flag", "value", "start_on",
                          "end_on", "source", "written"))
    return pl.DataFrame([{**base, "flag_id": f"f{i}", "source": "import", **r}
                         for i, r in enumerate(rows)], schema=dict.fromkeys(base, pl.String))


# --------------------------------------------------------------------------- hours


def test_hours_per_jurisdiction_and_21_00_is_too_late():
    assert check([ev(CN, 1, "21:00", event_id="late")]) == [("late", "CN-HOURS")]
    assert check([ev(NY, 1, "07:59", event_id="early")]) == [("early", "US-TIME")]
    assert check([ev(GB, 1, "07:30", channel="sms", outcome="delivered", event_id="g")]) == [
        ("g", "GB-CONTACT")]
    assert check([ev(CN, 1, "08:00"), ev(NY, 2, "20:59"), ev(GB, 3, "12:00")]) == []


def test_us_time_must_hold_in_every_candidate_zone():
    # 09:00 in New York is 06:00 on the Californian number.
    assert rules_of([ev(SPLIT, 1, "09:00")]) == {"US-TIME"}
    assert rules_of([ev(SPLIT, 1, "11:00")]) == set()
    # 20:30 in California is 23:30 in New York.
    assert rules_of([ev(SPLIT, 1, "23:30")]) == {"US-TIME"}


def test_stated_hours_narrow_the_window():
    said = ev(NY, 1, "10:00", direction="inbound", outcome="preferred_hours",
              hours_from="18:00", hours_to="20:00")
    assert rules_of([said, ev(NY, 2, "10:00", channel="sms", outcome="delivered")]) == {"US-TIME"}
    assert rules_of([said, ev(NY, 2, "18:30", channel="sms", outcome="delivered")]) == set()


def test_letters_are_not_bound_by_hours_and_inbound_never_breaches():
    assert check([ev(CN, 1, "03:00", channel="letter", outcome="delivered"),
                  ev(CN, 1, "23:00", direction="inbound", outcome="right_party_contact")]) == []


# --------------------------------------------------------------------------- US-FREQ, US-MA


def test_us_freq_eighth_placed_call_in_seven_days():
    calls = [ev(NY, d, "10:00") for d in range(1, 8)]  # 7 unanswered calls, days 1..7
    never = [ev(NY, d, "11:00", outcome="not_connected") for d in range(1, 8)]
    assert check(calls + never) == []  # calls that never connect do not count
    assert check(calls + [ev(NY, 8, "10:00")]) == []  # days 2..8 hold 7
    assert check(calls + [ev(NY, 7, "12:00", event_id="8th")]) == [("8th", "US-FREQ")]


def test_us_freq_no_call_within_seven_days_of_a_conversation():
    talk = ev(NY, 1, "10:00", outcome="promise_to_pay")
    assert check([talk, ev(NY, 7, "10:00", event_id="day7")]) == [("day7", "US-FREQ")]
    assert check([talk, ev(NY, 8, "10:00")]) == []
    inbound = ev(NY, 1, "10:00", direction="inbound", outcome="right_party_contact")
    assert check([inbound, ev(NY, 3, "10:00", event_id="x")]) == [("x", "US-FREQ")]
    # Texts are outside the count.
    assert check([talk, ev(NY, 3, channel="sms", outcome="delivered")]) == []


def test_us_freq_is_per_debt_and_call_consent_suspends_it():
    other_debt = ev(NY, 1, "10:00", outcome="promise_to_pay", loan_id="L-other")
    assert check([other_debt, ev(NY, 2, "10:00")]) == []
    consent = ev(NY, 1, "09:00", direction="inbound", outcome="call_consent")
    assert check([consent] + [ev(NY, 2, f"{h:02d}:00") for h in range(9, 18)]) == []


def test_us_ma_two_calls_or_texts_a_week_and_one_visit_a_month():
    two = [ev(MA, 1, "10:00"), ev(MA, 4, "10:00", channel="sms", outcome="delivered")]
    assert check(two) == []
    assert check(two + [ev(MA, 7, "10:00", outcome="voicemail", event_id="3rd")]) == [
        ("3rd", "US-MA")]
    assert check(two + [ev(MA, 8, "10:00")]) == []
    visits = [ev(MA, 1, channel="field_visit", outcome="right_party_contact"),
              ev(MA, 25, channel="field_visit", outcome="no_answer", event_id="v2")]
    assert check(visits) == [("v2", "US-MA")]


# --------------------------------------------------------------------------- CN-FREQ


def test_cn_freq_fourth_connected_call_of_the_local_day():
    three = [ev(CN, 1, f"{h}:00", outcome="refused_to_pay") for h in ("09", 11, 13)]
    unanswered = [ev(CN, 1, f"{h}:00") for h in (14, 15, 16, 17)]
    assert check(three + unanswered) == []
    assert check(three + [ev(CN, 2, "09:00", outcome="promise_to_pay")]) == []  # a new day
    assert check(three + [ev(CN, 1, "20:00", outcome="wrong_party", event_id="4th")]) == [
        ("4th", "CN-FREQ")]


def test_cn_freq_counts_inbound_conversations_but_only_flags_outbound():
    inbound = [ev(CN, 1, f"{h}:00", direction="inbound", outcome="right_party_contact")
               for h in ("09", 10, 11)]
    assert check(inbound) == []
    assert check(inbound + [ev(CN, 1, "12:00", outcome="promise_to_pay", event_id="x")]) == [
        ("x", "CN-FREQ")]


# --------------------------------------------------------------------------- SMS, e-mail, GB-FREQ


def test_arrears_sms_one_a_day_three_a_week_push_included():
    week = [ev(CN, d, channel="sms", outcome="delivered") for d in (1, 3, 5)]
    assert check(week + [ev(CN, 8, channel="sms", outcome="delivered")]) == []
    assert check(week + [ev(CN, 7, channel="app_push", outcome="delivered", event_id="4th")]) == [
        ("4th", "ARREARS-SMS")]
    same_day = [ev(GB, 1, "10:00", channel="sms", outcome="delivered"),
                ev(GB, 1, "15:00", channel="sms", outcome="undeliverable", event_id="2nd")]
    assert check(same_day) == [("2nd", "ARREARS-SMS")]


def test_arrears_email_one_a_day():
    one = ev(CN, 1, "10:00", channel="email", outcome="delivered", address="w@example.cn")
    assert check([one, ev(CN, 2, "09:00", channel="email", outcome="delivered")]) == []
    assert check([one, ev(CN, 1, "11:00", channel="email", outcome="delivered",
                          event_id="2nd")]) == [("2nd", "ARREARS-EMAIL")]


def test_gb_freq_three_a_week_ten_in_thirty_days():
    week = [ev(GB, d, outcome="right_party_contact") for d in (1, 2, 3)]
    not_reached = [ev(GB, 4), ev(GB, 5, channel="letter", outcome="delivered")]
    assert check(week + not_reached) == []
    assert check(week + [ev(GB, 7, channel="email", outcome="delivered", event_id="4th")]) == [
        ("4th", "GB-FREQ")]
    month = [ev(GB, d, channel="email" if d % 2 else "sms", outcome="delivered",
                event_id=f"d{d}") for w in (0, 7, 14, 21) for d in (1 + w, 2 + w, 3 + w)]
    # Emails and texts alternate so ARREARS-SMS stays quiet; the 11th in 30 days breaches.
    found = check(month)
    assert [e for e, r in found if r == "GB-FREQ"] == ["d23", "d24"]
    assert not [r for _, r in found if r not in ("GB-FREQ",)]


# --------------------------------------------------------------------------- holds and flags


def test_arrears_hold_written_dispute_letters_still_go_until_lifted():
    dispute = ev(CN, 1, "10:00", channel="letter", direction="inbound", outcome="dispute")
    assert check([dispute, ev(CN, 2, "10:00", event_id="call"),
                  ev(CN, 2, "11:00", channel="letter", outcome="delivered")]) == [
        ("call", "ARREARS-HOLD")]
    lifted = flags({"borrower_id": CN, "flag": "dispute", "start_on": "2026-03-01",
                    "end_on": "2026-03-05", "written": "true"})
    assert check([dispute, ev(CN, 6, "10:00")], flags=lifted) == []
    assert check([ev(CN, 3, "10:00", event_id="in")], flags=lifted) == [("in", "ARREARS-HOLD")]


def test_us_cease_written_and_oral():
    written = ev(NY, 1, channel="letter", direction="inbound", outcome="cease_request")
    assert rules_of([written, ev(NY, 3, channel="sms", outcome="delivered")]) == {
        "ARREARS-HOLD", "US-CEASE"}
    oral = ev(NY, 1, outcome="cease_request", written="false")
    assert check([oral, ev(NY, 9, channel="robocall", event_id="call")]) == [("call", "US-CEASE")]
    assert check([oral, ev(NY, 9, channel="sms", outcome="delivered")]) == []


def test_us_atty_contact_only_the_attorney():
    said = ev(NY, 1, channel="letter", direction="inbound", outcome="attorney_represented")
    assert check([said, ev(NY, 9, channel="email", outcome="delivered", address="a@b.example",
                           event_id="x")]) == [("x", "US-ATTY")]
    assert check([said, ev(NY, 9, party="r-atty", outcome="right_party_contact")]) == []


def test_us_bk_stops_all_collection_even_letters():
    bk = flags({"borrower_id": NY, "flag": "bankruptcy", "value": "7", "start_on": "2026-03-01",
                "source": "court"})
    assert check([ev(NY, 2, channel="letter", outcome="delivered", event_id="x")], flags=bk) == [
        ("x", "US-BK")]


def test_us_deceased_only_the_estate_representative():
    died = ev(NY, 1, party="r-spouse", outcome="deceased")
    assert check([died, ev(NY, 10, party="r-spouse", event_id="x")]) == [("x", "US-DECEASED")]
    assert check([died, ev(NY, 10, party="r-estate", outcome="right_party_contact")]) == []


def test_us_work_number_and_employer_email():
    said = ev(NY, 1, direction="inbound", outcome="no_calls_at_work")
    assert check([said, ev(NY, 9, address="+12125550199", event_id="w")]) == [("w", "US-WORK")]
    assert check([said, ev(NY, 9, address="+12125550100")]) == []
    assert check([ev(NY, 1, channel="email", outcome="delivered", address="ann@work.example",
                     event_id="m")]) == [("m", "US-WORK")]


def test_gb_vulnerable_no_visit_or_robocall():
    vuln = flags({"borrower_id": GB, "flag": "vulnerable", "start_on": "2026-02-01"})
    assert check([ev(GB, 2, channel="field_visit", outcome="no_answer", event_id="v"),
                  ev(GB, 12, channel="robocall", event_id="r"),
                  ev(GB, 22, channel="agent_call")], flags=vuln) == [
        ("v", "GB-VULN"), ("r", "GB-VULN")]


def test_gb_breathing_space_holds_sixty_days_even_if_lifted_early():
    space = flags({"borrower_id": GB, "flag": "breathing_space", "start_on": "2026-03-01",
                   "end_on": "2026-03-10"})
    assert check([ev(GB, 20, event_id="x")], flags=space) == [("x", "GB-BREATHING")]
    assert check([ev(GB, 20, channel="letter", outcome="delivered"), ev(GB, 61)],
                 flags=space) == []


def test_gb_dispute_oral_is_enough():
    oral = ev(GB, 1, outcome="dispute", written="false")
    assert check([oral, ev(GB, 5, event_id="x")]) == [("x", "GB-DISPUTE")]


# --------------------------------------------------------------------------- opt-out


def test_opt_out_closes_the_channel_at_that_address_one_reply_after_the_person_writes():
    stop = ev(NY, 1, channel="sms", direction="inbound", outcome="opt_out",
              address="+12125550100")
    sms = dict(channel="sms", outcome="delivered", address="+12125550100")
    assert check([stop, ev(NY, 3, event_id="x", **sms)]) == [("x", "US-OPTOUT")]
    assert check([stop, ev(NY, 3, channel="sms", outcome="delivered", address="+1212555")]) == []
    wrote = ev(NY, 5, channel="sms", direction="inbound", outcome="delivered",
               address="+12125550100")
    assert check([stop, wrote, ev(NY, 5, "11:00", **sms),
                  ev(NY, 9, event_id="again", **sms)]) == [("again", "US-OPTOUT")]
    cn = flags({"borrower_id": CN, "flag": "opt_out", "value": "email", "start_on": "2026-03-01"})
    assert check([ev(CN, 2, channel="email", outcome="delivered", event_id="m")], flags=cn) == [
        ("m", "ARREARS-OPTOUT")]


# --------------------------------------------------------------------------- third parties


def test_us_loc_once_and_us_3p_after_the_consumer_was_reached():
    first = ev(NY, 1, party="r-friend", outcome="right_party_contact")
    assert check([first]) == []
    assert check([first, ev(NY, 15, party="r-friend", event_id="2nd")]) == [("2nd", "US-LOC")]
    reached = ev(NY, 1, outcome="promise_to_pay")
    assert check([reached, ev(NY, 15, party="r-friend", event_id="x")]) == [("x", "US-3P")]
    assert check([reached, ev(NY, 15, party="r-spouse")]) == []  # a spouse is the consumer


def test_cn_3p_after_seven_days_unreachable_once_never_after_refusal():
    tries = [ev(CN, d, "10:00") for d in range(1, 9)]
    assert check(tries + [ev(CN, 8, "12:00", party="r-cn", outcome="right_party_contact")]) == []
    assert check(tries[:5] + [ev(CN, 5, "12:00", party="r-cn", event_id="early")]) == [
        ("early", "CN-3P")]
    assert check([ev(CN, 3, party="r-cn", event_id="untried")]) == [("untried", "CN-3P")]
    once = tries + [ev(CN, 8, "12:00", party="r-cn", outcome="right_party_contact"),
                    ev(CN, 9, "12:00", party="r-cn", event_id="twice")]
    assert check(once) == [("twice", "CN-3P")]
    refused = tries + [ev(CN, 8, "12:00", party="r-cn", outcome="refused_to_pay"),
                       ev(CN, 9, "12:00", party="r-cn", outcome="no_answer", event_id="after")]
    assert check(refused) == [("after", "CN-3P")]
    assert ("nc", "CN-3P") in check(tries + [ev(CN, 8, "12:00", party="r-cn-noconsent",
                                                  event_id="nc")])


def test_arrears_3p_source_address_book_never():
    assert ("x", "ARREARS-3P-SOURCE") in check([ev(CN, 1, party="r-book", event_id="x")])


# --------------------------------------------------------------------------- visit minimum


def test_arrears_visit_min_on_the_balance_before_the_visit():
    bal = pl.DataFrame({"loan_id": ["L-cn", "L-cn"], "date": ["2026-03-01", "2026-03-02"],
                        "total_outstanding": ["2999.99", "5000.00"], "currency": ["CNY", "CNY"]})
    visit = ev(CN, 2, channel="field_visit", outcome="right_party_contact", event_id="v")
    assert check([visit], balances=bal) == [("v", "ARREARS-VISIT-MIN")]
    assert check([ev(CN, 3, channel="field_visit", outcome="no_answer")], balances=bal) == []
    minor = pl.DataFrame({"loan_id": ["L-us"], "date": ["2026-03-01"],
                          "total_outstanding": [75_000], "currency": ["USD"]})
    assert check([ev(NY, 2, channel="field_visit", outcome="no_answer")], balances=minor) == []
    assert check([ev(NY, 2, channel="field_visit", outcome="no_answer", event_id="v")],
                 balances=minor.with_columns(total_outstanding=pl.lit(74_999))) == [
        ("v", "ARREARS-VISIT-MIN")]


# --------------------------------------------------------------------------- the whole log


def test_a_clean_realistic_fortnight_has_no_violations():
    log = []
    for who in (CN, NY, GB):
        log += [ev(who, 1, "09:30", channel="sms", outcome="delivered"),
                ev(who, 2, "10:15", outcome="no_answer"),
                ev(who, 2, "18:40", outcome="not_connected"),
                ev(who, 3, "11:05", outcome="promise_to_pay"),
                ev(who, 4, "12:00", channel="letter", outcome="delivered"),
                ev(who, 11, "19:30", channel="sms", outcome="delivered"),
                ev(who, 12, "14:00", direction="inbound", channel="agent_call",
                   outcome="right_party_contact"),
                ev(who, 13, "20:00", channel="email", outcome="delivered", address="x@y.example")]
    log += [ev(CN, d, "16:00", outcome="voicemail") for d in range(5, 9)]
    log += [ev(NY, d, "16:00", outcome="busy") for d in range(5, 9)]
    # Massachusetts: two calls or texts a week at most.
    log += [ev(MA, 1, channel="sms", outcome="delivered"), ev(MA, 5, outcome="promise_to_pay"),
            ev(MA, 6, channel="letter", outcome="delivered"), ev(MA, 12, outcome="voicemail")]
    log.reverse()  # the oracle orders by time itself
    assert check(log) == []


def test_native_types_accepted_and_offsets_required():
    at = datetime(2026, 3, 1, 13, 30, tzinfo=timezone.utc)  # 21:30 in Shanghai
    frame = pl.DataFrame({"event_id": ["x"], "borrower_id": [CN], "channel": ["agent_call"],
                          "direction": ["outbound"], "at": [at], "party": ["borrower"],
                          "outcome": ["no_answer"], "written": [False]})
    found = violations(frame, BORROWERS, None, None, None)
    assert found.columns == ["event_id", "borrower_id", "rule", "explanation"]
    assert found.row(0)[:3] == ("x", CN, "CN-HOURS")
    assert found["explanation"][0].startswith("CN-HOURS: 21:30 in Asia/Shanghai")
    naive = frame.with_columns(at=pl.lit("2026-03-01T10:00:00"))
    with pytest.raises(ValueError, match="offset"):
        violations(naive, BORROWERS, None, None, None)
    empty = violations(frame.clear(), BORROWERS, None, None, None)
    assert empty.height == 0 and empty.schema["rule"] == pl.String
