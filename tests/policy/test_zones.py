"""Candidate time zones (policy/zones.py): the order of evidence, the region table, the frame helper."""

from __future__ import annotations

import tomllib
import zoneinfo
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest

from arrears.policy.zones import (
    TABLE,
    candidate_zones,
    join_zones,
    jurisdiction_zones,
    parse_table,
    region_zones,
    split_zones,
    table,
    zones_column,
)
from arrears.problems import BadInput

EASTERN_CENTRAL = ("America/Chicago", "America/New_York")
STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
ZONE1970 = Path("/usr/share/zoneinfo/zone1970.tab")


# --------------------------------------------------------------------------- order of evidence


def test_an_explicit_zone_decides_alone():
    assert candidate_zones("Asia/Tokyo", "US", "FL", "+12125550123", "US-FL") == ("Asia/Tokyo",)


def test_florida_spans_two_zones():
    assert candidate_zones(None, "US", "FL", None) == EASTERN_CENTRAL
    assert candidate_zones(None, "US", "Florida", None) == EASTERN_CENTRAL
    assert candidate_zones(None, "us", " florida ", None) == EASTERN_CENTRAL
    assert candidate_zones(None, "US", "US-FL", None) == EASTERN_CENTRAL


def test_a_new_york_number_gives_new_york():
    assert candidate_zones(None, None, None, "+12125550123") == ("America/New_York",)


def test_a_chinese_number_gives_shanghai():
    assert candidate_zones(None, None, None, "+8613800138000") == ("Asia/Shanghai",)


def test_conflicting_address_and_phone_give_the_union():
    assert candidate_zones(None, "US", "CA", "+12125550123") == ("America/Los_Angeles", "America/New_York")
    assert candidate_zones(None, "US", "TX", "+12125550123", "US-TX") == (
        "America/Chicago", "America/Denver", "America/New_York"
    )


def test_nothing_known_falls_back_to_the_jurisdiction():
    assert candidate_zones(None, None, None, None, "US-TX") == ("America/Chicago", "America/Denver")
    assert candidate_zones(None, None, None, None, "US-MA") == ("America/New_York",)
    assert candidate_zones(None, None, None, None, "GB") == ("Europe/London",)
    assert candidate_zones(None, None, None, None, "CN") == ("Asia/Shanghai", "Asia/Urumqi")
    # An address in a country the table does not know, and no phone: the jurisdiction again.
    assert candidate_zones(None, "FR", "Bretagne", None, "GB") == ("Europe/London",)
    # A number phonenumbers cannot place (Etc/Unknown, here a reserved UK drama number) is no evidence.
    assert candidate_zones(None, None, None, "+447700900123", "GB") == ("Europe/London",)


def test_the_jurisdiction_completes_a_partial_address():
    assert candidate_zones(None, "US", None, None, "US-FL") == EASTERN_CENTRAL  # the region
    assert candidate_zones(None, None, "Florida", None, "US-FL") == EASTERN_CENTRAL  # the country
    # It is not evidence beside a phone when the address says nothing.
    assert candidate_zones(None, None, None, "+12125550123", "US-CA") == ("America/New_York",)


def test_unknown_is_empty():
    assert candidate_zones(None, None, None, None) == ()
    assert candidate_zones(" ", "", "", "", "") == ()
    assert candidate_zones(None, "FR", None, None) == ()
    assert candidate_zones(None, None, None, "not a number") == ()


def test_a_missing_or_unknown_region_means_every_zone_of_the_country():
    every_us = region_zones("US", None)
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "America/Adak", "Pacific/Honolulu"} == set(every_us)
    assert region_zones("US", "Atlantis") == every_us
    assert region_zones("CN", None) == ("Asia/Shanghai", "Asia/Urumqi")
    assert region_zones("GB", "Yorkshire") == ("Europe/London",)
    assert jurisdiction_zones("US-ZZ") == every_us


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("country", "region", "zones"),
    [
        ("US", "TX", ("America/Chicago", "America/Denver")),
        ("US", "california", ("America/Los_Angeles",)),
        ("US", "AZ", ("America/Denver", "America/Phoenix")),  # the Navajo Nation keeps DST
        ("US", "Alaska", ("America/Adak", "America/Anchorage")),
        ("US", "HI", ("Pacific/Honolulu",)),
        ("US", "Washington", ("America/Los_Angeles",)),
        ("US", "Washington, D.C.", ("America/New_York",)),
        ("US", "New York City", ("America/New_York",)),
        *[("US", s, ("America/Chicago", "America/Denver")) for s in ("KS", "NE", "ND", "SD")],
        *[("US", s, EASTERN_CENTRAL) for s in ("IN", "KY", "TN", "MI")],
        *[("US", s, ("America/Denver", "America/Los_Angeles")) for s in ("ID", "OR", "NV")],
        ("CN", "XJ", ("Asia/Shanghai", "Asia/Urumqi")),
        ("CN", "Xinjiang", ("Asia/Shanghai", "Asia/Urumqi")),
        ("CN", "新疆维吾尔自治区", ("Asia/Shanghai", "Asia/Urumqi")),
        ("CN", "65", ("Asia/Shanghai", "Asia/Urumqi")),
        ("CN", "浙江", ("Asia/Shanghai",)),
        ("CN", "四川省", ("Asia/Shanghai",)),
        ("CN", "Guangdong Province", ("Asia/Shanghai",)),
        ("CN", "Nei Mongol", ("Asia/Shanghai",)),
        ("CN", "CN-BJ", ("Asia/Shanghai",)),
        ("GB", None, ("Europe/London",)),
    ],
)
def test_region_table(country, region, zones):
    assert region_zones(country, region) == zones


def test_every_state_and_dc_is_listed_and_china_is_on_beijing_time_but_xinjiang():
    raw = tomllib.loads(files("arrears.policy").joinpath(TABLE).read_text(encoding="utf-8"))
    assert sorted(raw["US"]["regions"]) == sorted(STATES)
    cn = raw["CN"]["regions"]
    assert len(cn) == 31  # the mainland's provinces, autonomous regions and municipalities
    assert {k for k, v in cn.items() if v["zones"] != ["Asia/Shanghai"]} == {"XJ"}


def test_every_zone_is_a_canonical_zone_of_its_country():
    """Known to the system's tz database, and listed for that country in zone1970.tab (no links)."""
    known = zoneinfo.available_timezones()
    # The system tz database is what zoneinfo reads too (Debian's tzdata): without it nothing here works.
    assert ZONE1970.exists(), f"{ZONE1970} not found: install the system tz database (tzdata)"
    countries_of = {
        fields[2]: set(fields[0].split(","))
        for line in ZONE1970.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
        for fields in [line.split("\t")]
    }
    for code, country in table().items():
        for zone in country.zones:
            assert zone in known, zone
            assert code in countries_of.get(zone, set()), f"{zone} is not a canonical zone of {code}"


def test_a_bad_table_reports_every_problem():
    text = """
[US.regions]
FL = { names = ["Florida"], zones = ["America/New_York", "America/Chicago"] }
GA = { names = ["florida"], zones = ["America/New_York"] }
[xx]
zones = ["Europe/London"]
[GB]
"""
    with pytest.raises(BadInput) as e:
        parse_table(text, "t.toml")
    columns = [p.column for p in e.value.problems]
    assert "t.toml: US.regions.FL.zones" in columns  # not sorted
    assert "t.toml: US.regions.GA.names" in columns  # "florida" names FL already
    assert "t.toml: xx" in columns
    assert "t.toml: GB" in columns  # neither zones nor regions


# --------------------------------------------------------------------------- stored form and frames


def test_stored_form_round_trips():
    assert join_zones(["America/New_York", "America/Chicago", "America/Chicago"]) == (
        "America/Chicago;America/New_York"
    )
    assert join_zones([]) is None
    assert split_zones("America/Chicago;America/New_York") == EASTERN_CENTRAL
    assert split_zones(None) == split_zones("") == ()


def test_zones_column_agrees_with_candidate_zones_row_by_row():
    rows = [
        ("Asia/Tokyo", "US", "FL", "+12125550123", "US-FL"),
        (None, "US", "FL", None, "US-FL"),
        (None, None, None, "+12125550123", "US-CA"),
        (None, None, None, "+12125550199", "US-CA"),
        (None, "US", "CA", "+12125550123", "US-CA"),
        (None, None, None, "+8613800138000", "CN"),
        (None, "CN", "新疆", "+8613800138000", "CN"),
        (None, None, None, None, "US-TX"),
        (None, None, None, "+447700900123", "GB"),
        (" ", None, None, None, None),
        (None, None, None, None, None),
        (None, "US", None, None, "US-FL"),
    ]
    frame = pl.DataFrame(
        rows, schema=["timezone", "country", "region", "phone", "jurisdiction"], orient="row"
    )
    got = zones_column(frame)
    assert got.name == "zones"
    assert got.dtype == pl.String
    assert got.to_list() == [join_zones(candidate_zones(*r)) for r in rows]


def test_zones_column_with_missing_evidence_columns():
    frame = pl.DataFrame({"phone": ["+12125550123", None], "jurisdiction": ["US-CA", "GB"]})
    got = zones_column(frame, timezone=None, country=None, region=None)
    assert got.to_list() == ["America/New_York", "Europe/London"]
    assert zones_column(frame.clear()).to_list() == []
