"""Composition, collector roles and lender overrides: tighten freely, never loosen a legal floor."""

from datetime import time

import pytest

from arrears.policy.compose import combine, compose, effective_pack
from arrears.policy.load import parse_pack
from arrears.policy.overrides import check_overrides, parse_overrides
from arrears.problems import BadInput


def overrides(body: str):
    return parse_overrides('[override]\nportfolio = "cards"\n' + body, "o.toml")


def test_us_ma_overlay_makes_us_freq_stricter():
    us = effective_pack("US", "third_party").rule("US-FREQ").param("placed_calls_in_7_days_at_most")
    assert (us.value, us.set_by) == (7, "US-FREQ")
    ma = effective_pack("US-MA", "third_party").rule("US-FREQ").param("placed_calls_in_7_days_at_most")
    assert (ma.value, ma.set_by, ma.floor) == (2, "US-MA", 7)


def test_first_party_drops_us_valid_and_third_parties_keep_it():
    assert "US-VALID" not in effective_pack("US", "first_party").rule_ids
    assert "US-VALID" in effective_pack("US", "third_party").rule_ids
    assert "US-VALID" in effective_pack("US", "debt_buyer").rule_ids
    # The Reg F contact baseline binds all three roles.
    assert "US-FREQ" in effective_pack("US", "first_party").rule_ids


def test_platform_rules_are_in_every_jurisdiction():
    for j in ("US", "US-MA", "CN", "GB"):
        assert "ARREARS-SMS" in effective_pack(j, "first_party").rule_ids


def test_unknown_collector_role_is_bad_input():
    with pytest.raises(BadInput):
        effective_pack("US", "collector")


def _pack(pack_id: str, rule_id: str, key: str, value: str, kind: str) -> str:
    return f"""
[pack]
id = "{pack_id}"
title = "t"
layer = "jurisdiction"
[rules.{rule_id}]
title = "t"
citation = "c"
applies_to = {{ channels = ["call"], parties = ["consumer"], collector_roles = ["*"] }}
[rules.{rule_id}.params.{key}]
value = {value}
kind = "{kind}"
"""


def test_strictest_wins_for_each_kind_of_key():
    cases = [
        ("placed_calls_in_7_days_at_most", "7", "3", 3),
        ("days_since_phone_conversation_at_least", "7", "10", 10),
        ("local_hours_from", '"08:00"', '"09:00"', time(9, 0)),
        ("local_hours_until", '"21:00"', '"20:00"', time(20, 0)),
    ]
    for key, a, b, expected in cases:
        one = parse_pack(_pack("US", "US-FREQ", key, a, "floor"), "a.toml")
        two = parse_pack(_pack("US", "US-TIME", key, b, "default"), "b.toml")
        both = compose(combine("US", (one, two)))
        for rule_id in ("US-FREQ", "US-TIME"):
            p = both.rule(rule_id).param(key)
            assert p.value == expected and p.set_by == "US-TIME", key
        assert both.rule("US-FREQ").param(key).floor == parse_pack(
            _pack("US", "US-FREQ", key, a, "floor"), "a.toml").rule("US-FREQ").param(key).value


def test_strictest_minimum_balance_is_per_currency():
    one = parse_pack(_pack("US", "US-FREQ", "visit_min_balance", '{ USD = "750", GBP = "600" }',
                           "default"), "a.toml")
    two = parse_pack(_pack("US", "US-TIME", "visit_min_balance", '{ USD = "1000", CNY = "3000" }',
                           "default"), "b.toml")
    p = compose(combine("US", (one, two))).rule("US-FREQ").param("visit_min_balance")
    assert p.value == (("CNY", 300000), ("GBP", 60000), ("USD", 100000))


def test_tightening_is_accepted():
    o = overrides("""
[rules.US-FREQ]
placed_calls_in_7_days_at_most = 5
[rules.US-TIME]
local_hours_from = "09:00"
local_hours_until = "20:00"
[rules.ARREARS-VISIT-MIN]
visit_min_balance = { USD = "1000.00" }
[retention]
years_at_least = 7
""")
    pack = effective_pack("US", "third_party", o)
    freq = pack.rule("US-FREQ").param("placed_calls_in_7_days_at_most")
    assert (freq.value, freq.floor, freq.overridden_by, freq.kind) == (5, 7, "cards", "default")
    assert pack.rule("US-TIME").param("local_hours_until").value == time(20, 0)
    visit = pack.rule("ARREARS-VISIT-MIN").param("visit_min_balance").value
    assert dict(visit) == {"CNY": 300000, "GBP": 60000, "USD": 100000}
    assert pack.retention.years_at_least == 7


def test_loosening_a_floor_is_refused_naming_rule_and_key():
    o = overrides("""
[rules.US-FREQ]
placed_calls_in_7_days_at_most = 8
[rules.US-TIME]
local_hours_until = "21:30"
[retention]
years_at_least = 2
""")
    with pytest.raises(BadInput) as e:
        effective_pack("US", "third_party", o)
    text = str(e.value)
    assert "rules.US-FREQ.placed_calls_in_7_days_at_most: 8 loosens the legal floor 7 of US-FREQ" in text
    assert "rules.US-TIME.local_hours_until: 21:30 loosens the legal floor 21:00" in text
    assert "retention.years_at_least: 2 loosens the legal floor 3" in text
    assert len(e.value.problems) == 3


def test_loosening_a_default_is_allowed_down_to_its_floor():
    o = overrides("[rules.ARREARS-SMS]\nsms_per_7_days_at_most = 5\n"
                  "[rules.CN-HOURS]\nlocal_hours_until = \"22:00\"\n")
    pack = effective_pack("CN", "first_party", o)
    assert pack.rule("ARREARS-SMS").param("sms_per_7_days_at_most").value == 5
    until = pack.rule("CN-HOURS").param("local_hours_until")
    assert (until.value, until.kind) == (time(22, 0), "floor")
    past = overrides("[rules.CN-HOURS]\nlocal_hours_until = \"22:30\"\n")
    with pytest.raises(BadInput, match="CN-HOURS.local_hours_until: 22:30 loosens the legal floor 22:00"):
        effective_pack("CN", "first_party", past)


def test_loosening_us_ma_default_leaves_the_law():
    o = overrides("[rules.US-MA]\nplaced_calls_in_7_days_at_most = 7\n")
    pack = effective_pack("US-MA", "third_party", o)
    assert pack.rule("US-FREQ").param("placed_calls_in_7_days_at_most").value == 7
    personal = "calls_texts_voicemails_to_personal_numbers_in_7_days_at_most"
    assert pack.rule("US-MA").param(personal).value == 2


def test_overrides_naming_unknown_rules_or_keys_fail():
    o = overrides("[rules.US-VALID]\nvalidation_period_days_at_least = 40\n"
                  "[rules.US-FREQ]\nsms_per_7_days_at_most = 1\n")
    with pytest.raises(BadInput) as e:
        effective_pack("US", "first_party", o)
    text = str(e.value)
    assert "pack US/first_party has no rule US-VALID" in text
    assert "US-FREQ has no parameter sms_per_7_days_at_most" in text


def test_override_file_refuses_unknown_keys_and_bad_values():
    with pytest.raises(BadInput) as e:
        parse_overrides('[override]\nportfolio = "p"\nlender = "x"\n[rules.US-FREQ]\n'
                        'placed_calls_in_7_days_at_most = "five"\n', "o.toml")
    text = str(e.value)
    assert "override.lender: unknown key" in text and "must be a non-negative integer" in text


def test_an_override_may_not_invert_the_hours():
    o = overrides('[rules.US-TIME]\nlocal_hours_from = "20:00"\nlocal_hours_until = "09:00"\n')
    with pytest.raises(BadInput, match="must be before"):
        effective_pack("US", "first_party", o)


def test_check_overrides_on_a_single_pack():
    from arrears.policy.load import load_pack

    pack = check_overrides(load_pack("GB"), overrides("[rules.GB-FREQ]\ncontacts_in_30_days_at_most = 8\n"))
    assert pack.rule("GB-FREQ").param("contacts_in_30_days_at_most").value == 8
