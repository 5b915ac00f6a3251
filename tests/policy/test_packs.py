"""The shipped packs load, and a pack with anything unknown or unbacked is refused with its location."""

from datetime import time

import pytest

from arrears.policy.facts import FACTS
from arrears.policy.ids import RULE_IDS
from arrears.policy.load import PACK_FILES, load_pack, parse_pack
from arrears.problems import BadInput

GOOD = """
[pack]
id = "GB"
title = "test"
layer = "jurisdiction"

[rules.GB-FREQ]
title = "t"
citation = "c"
applies_to = { channels = ["call"], parties = ["consumer"], collector_roles = ["*"] }

[rules.GB-FREQ.params.contacts_in_7_days_at_most]
value = 3
kind = "default"
"""


def messages(e: pytest.ExceptionInfo[BadInput]) -> list[str]:
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize("pack_id", list(PACK_FILES))
def test_every_shipped_pack_loads(pack_id):
    pack = load_pack(pack_id)
    assert pack.id == pack_id
    assert pack.rules
    for rule in pack.rules:
        assert (rule.id in RULE_IDS) != (rule.new and bool(rule.reason)), rule.id
        assert rule.citation and rule.title
        assert isinstance(rule.params, tuple) and isinstance(rule.channels, tuple)


def test_the_packs_cover_every_listed_rule_id():
    rules = [r for pack_id in PACK_FILES for r in load_pack(pack_id).rules]
    assert {r.id for r in rules if not r.new} == set(RULE_IDS)
    # The platform's own additions, each with its reason (policy/packs/platform.toml).
    assert {r.id for r in rules if r.new} == {
        "ARREARS-OPTOUT", "ARREARS-TIMEBAR", "ARREARS-AMOUNT", "ARREARS-ADDRESS", "ARREARS-VULN",
        "ARREARS-TEMPLATE",
    }


def test_values_are_typed_by_their_key():
    platform = load_pack("PLATFORM")
    visit = platform.rule("ARREARS-VISIT-MIN").param("visit_min_balance")
    assert visit.value == (("CNY", 300000), ("GBP", 60000), ("USD", 75000))
    assert visit.kind == "default" and visit.floor is None and visit.fact == "balance_outstanding"
    hours = load_pack("US").rule("US-TIME")
    assert hours.param("local_hours_from").value == time(8, 0)
    assert hours.param("local_hours_until").kind == "floor"
    cn_until = load_pack("CN").rule("CN-HOURS").param("local_hours_until")
    assert (cn_until.value, cn_until.floor, cn_until.kind) == (time(21, 0), time(22, 0), "default")


def test_retention_minimums():
    assert load_pack("CN").retention.years_at_least == 5
    us = load_pack("US").retention
    assert (us.years_at_least, us.counted_from) == (3, "last_collection_activity")


def test_models_are_frozen():
    rule = load_pack("US").rule("US-FREQ")
    with pytest.raises(AttributeError):
        rule.id = "US-X"  # type: ignore[misc]


def test_a_good_pack_parses():
    assert parse_pack(GOOD, "t.toml").rule("GB-FREQ").param("contacts_in_7_days_at_most").value == 3


@pytest.mark.parametrize(
    "old, new, where",
    [
        ('layer = "jurisdiction"', 'layer = "jurisdiction"\nowner = "x"', "t.toml: pack.owner"),
        ('title = "t"', 'title = "t"\ntitel = "x"', "t.toml: rules.GB-FREQ.titel"),
        ('collector_roles = ["*"] }', 'collector_roles = ["*"], region = ["x"] }',
         "t.toml: rules.GB-FREQ.applies_to.region"),
        ('kind = "default"', 'kind = "default"\nunit = "calls"',
         "t.toml: rules.GB-FREQ.params.contacts_in_7_days_at_most.unit"),
        ("[pack]", 'version = 2\n[pack]', "t.toml: (top level).version"),
    ],
)
def test_an_unknown_key_anywhere_fails_with_its_location(old, new, where):
    with pytest.raises(BadInput) as e:
        parse_pack(GOOD.replace(old, new, 1), "t.toml")
    assert f"column {where}: unknown key" in messages(e)


def test_an_unknown_rule_id_fails():
    with pytest.raises(BadInput) as e:
        parse_pack(GOOD.replace("GB-FREQ", "GB-FREQUENCY"), "t.toml")
    assert any("rules.GB-FREQUENCY: unknown rule id" in m for m in messages(e))


def test_a_new_rule_id_needs_new_and_a_reason():
    text = GOOD.replace("GB-FREQ", "GB-FREQUENCY").replace('title = "t"', 'title = "t"\nnew = true', 1)
    with pytest.raises(BadInput) as e:
        parse_pack(text, "t.toml")
    assert any("a new rule id needs a reason" in m for m in messages(e))
    ok = text.replace("new = true", 'new = true\nreason = "not in FIELD-NOTES"')
    assert parse_pack(ok, "t.toml").rule("GB-FREQUENCY").new


def test_a_listed_id_marked_new_fails():
    text = GOOD.replace('title = "t"', 'title = "t"\nnew = true\nreason = "r"', 1)
    with pytest.raises(BadInput) as e:
        parse_pack(text, "t.toml")
    assert any("new is for unlisted rules only" in m for m in messages(e))


def test_a_parameter_without_a_fact_fails():
    text = GOOD.replace("contacts_in_7_days_at_most", "letters_in_7_days_at_most")
    with pytest.raises(BadInput) as e:
        parse_pack(text, "t.toml")
    assert any("letters_in_7_days_at_most: no fact behind" in m for m in messages(e))


def test_a_key_that_does_not_spell_out_its_comparison_fails():
    with pytest.raises(BadInput) as e:
        parse_pack(GOOD.replace("contacts_in_7_days_at_most", "contacts_in_7_days"), "t.toml")
    assert any("does not spell out its comparison" in m for m in messages(e))


def test_all_problems_are_reported_together():
    text = (GOOD.replace("value = 3", 'value = "three"').replace('kind = "default"', 'kind = "legal"')
            .replace('parties = ["consumer"]', 'parties = ["neighbour"]'))
    with pytest.raises(BadInput) as e:
        parse_pack(text, "t.toml")
    assert len(e.value.problems) == 3


def test_a_default_looser_than_its_floor_fails():
    text = GOOD.replace('kind = "default"', 'kind = "default"\nfloor = 2')
    with pytest.raises(BadInput) as e:
        parse_pack(text, "t.toml")
    assert any("must not be looser than its legal floor" in m for m in messages(e))


def test_every_fact_key_spells_out_its_comparison():
    from arrears.policy.tighten import comparison

    assert all(comparison(f.key) for f in FACTS)
    assert len({f.key for f in FACTS}) == len(FACTS)
