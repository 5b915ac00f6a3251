"""Strategy files load strictly: the shipped champions load, and every mistake is named by where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.problems import BadInput
from arrears.strategy.load import champions, parse_strategy, resolve

GOOD = """
[strategy]
name = "mine"
jurisdictions = ["CN"]
currency = "CNY"
[costs]
sms = "0.05"
[[states]]
name = "early"
when = { dpd_min = 1 }
actions = [{ action = "sms", template = "cn_reminder_sms", cadence_days = 3, uplift = "0.01" }]
"""


def test_the_shipped_champions_load_and_cover_cn_us_and_gb():
    names = {s.name: s for s in champions()}
    assert set(names) == {"cn-champion", "us-champion", "gb-champion"}
    assert names["cn-champion"].covers("CN") and names["us-champion"].covers("US-MA") and not names["us-champion"].covers("GB")
    # Statutory notices ship with each: CN pre-report, US validation (third parties), GB NOSIA and default.
    flags = {n.sets_flag for s in names.values() for n in s.notices}
    assert flags == {"cn_prereport_notice_sent", "validation_notice_sent", "gb_nosia_sent", "gb_default_notice_sent"}


def test_no_shipped_champion_visits_below_the_visit_minimum():
    # ARREARS-VISIT-MIN defaults: CNY 3,000, USD 750, GBP 600 (minor units here).
    minimum = {"CNY": 300_000, "USD": 75_000, "GBP": 60_000}
    for s in champions():
        for state in s.states:
            if any(a.action == "field_visit" for a in state.actions):
                when = dict(state.when)
                assert when.get("balance_min", 0) >= minimum[s.currency], (s.name, state.name)
                assert when.get("days_since_rpc_min", 0) >= 30, (s.name, state.name)


def test_a_good_file_loads():
    s = parse_strategy(GOOD, "mine.toml")
    assert s.states[0].when == (("dpd_min", 1),) and s.costs["sms"] == 5_000_000  # micro-minor: 0.05 CNY


@pytest.mark.parametrize(("change", "where", "words"), [
    ('when = { dpd_min = 1 }', "states[0].when.dpd_mn", "no fact behind it"),
    ('when = { dpd_min = 1 }', "states[0].when.dpd_min", "whole number"),
    ('template = "cn_reminder_sms", ', "states[0].actions[0].template", "needs a template"),
    ('uplift = "0.01"', "states[0].actions[0].uplift", "decimal fraction"),
    ('currency = "CNY"', "strategy.currency", "not a currency"),
])
def test_every_mistake_is_named_by_where_it_is(change: str, where: str, words: str):
    bad = {
        "states[0].when.dpd_mn": GOOD.replace(change, 'when = { dpd_mn = 1 }'),
        "states[0].when.dpd_min": GOOD.replace(change, 'when = { dpd_min = "1" }'),
        "states[0].actions[0].template": GOOD.replace(change, ""),
        "states[0].actions[0].uplift": GOOD.replace(change, 'uplift = 0.01'),
        "strategy.currency": GOOD.replace(change, 'currency = "CYN"'),
    }[where]
    with pytest.raises(BadInput) as e:
        parse_strategy(bad, "bad.toml")
    assert any(p.column == where and words in p.message for p in e.value.problems), e.value.problems


def test_a_settlement_discount_above_the_limit_is_refused():
    text = GOOD.replace('[costs]', '[limits]\nmax_settlement_discount = "0.20"\n[costs]').replace(
        'actions = [', 'actions = [{ action = "settlement_offer", channel = "sms", template = "cn_settlement_offer_sms", '
        'uplift = "0.02", offer = { type = "settlement", discount = "0.35" } }, ')
    with pytest.raises(BadInput) as e:
        parse_strategy(text, "x.toml")
    assert any("offer.discount" in (p.column or "") and "above the limit" in p.message for p in e.value.problems)


def test_none_plans_nothing_and_champion_and_files_resolve(tmp_path: Path):
    assert resolve("none") is None
    assert resolve("champion").arms[0].name == "champion"
    (tmp_path / "mine.toml").write_text(GOOD, encoding="utf-8")
    assert resolve(str(tmp_path / "mine.toml")).arms[0].strategies[0].name == "mine"
    with pytest.raises(BadInput):
        resolve(str(tmp_path / "missing.toml"))


def test_an_experiment_needs_shares_adding_up_to_one(tmp_path: Path):
    (tmp_path / "mine.toml").write_text(GOOD, encoding="utf-8")
    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "e1"\n[[arms]]\nname = "champion"\nstrategy = "champion"\nshare = "0.8"\n'
                   '[[arms]]\nname = "mine"\nstrategy = "mine.toml"\nshare = "0.3"\n', encoding="utf-8")
    with pytest.raises(BadInput) as e:
        resolve(str(exp))
    assert any("add up to 1" in p.message for p in e.value.problems)
    exp.write_text(exp.read_text().replace('"0.3"', '"0.2"'), encoding="utf-8")
    assert [a.share_ppm for a in resolve(str(exp)).arms] == [800_000, 200_000]
