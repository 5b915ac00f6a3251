"""Products: INTERFACE.md defaults, bucket labels, and strict TOML parsing."""

from __future__ import annotations

import dataclasses

import pytest

from arrears.book.products import (
    DEFAULT,
    Fee,
    Product,
    bucket_labels,
    parse_products,
)
from arrears.problems import BadInput


def _columns(exc: BadInput) -> set[str | None]:
    return {p.column for p in exc.problems}


# --- the default product ----------------------------------------------------------------------


def test_default_product_has_exactly_the_interface_defaults():
    # Transcribed from INTERFACE.md, "products".
    assert DEFAULT.code == "default"
    assert DEFAULT.allocation == "oldest_first_penalty_fees_interest_principal"
    assert DEFAULT.business_day_rule == "none"
    assert DEFAULT.penalty_base == "overdue_principal"
    assert DEFAULT.grace_days == 0
    assert DEFAULT.arrears_tolerance == "0"
    assert DEFAULT.residual_writeoff_below == "0"
    assert DEFAULT.buckets == (1, 30, 60, 90, 120, 180)
    assert DEFAULT.charge_off_dpd == 120
    assert DEFAULT.prepayment == "hold_as_credit"
    assert DEFAULT.cap == "none"  # cn_licensed_24 is the default for CN only
    assert DEFAULT.fees == ()


def test_empty_product_table_gives_the_defaults():
    products = parse_products("[products.basic]\n")
    assert products == {"basic": dataclasses.replace(DEFAULT, code="basic")}


def test_default_bucket_labels():
    assert bucket_labels(DEFAULT.buckets) == (
        "current", "1-29", "30-59", "60-89", "90-119", "120-179", "180+",
    )


def test_other_bucket_labels():
    assert bucket_labels((1, 30, 60)) == ("current", "1-29", "30-59", "60+")
    assert bucket_labels((1,)) == ("current", "1+")
    assert bucket_labels((5, 6)) == ("current", "5-5", "6+")


def test_to_dict_from_dict_round_trip():
    p = Product(
        code="x", buckets=(1, 15), fees=(Fee("late", "50.00", 1, "200.00"),), cap="annual_rate:0.24"
    )
    assert Product.from_dict(p.to_dict()) == p
    assert Product.from_dict(DEFAULT.to_dict()) == DEFAULT


# --- parsing a full product -------------------------------------------------------------------

FULL = """
[products.cn_cash]
allocation = "component_major"
business_day_rule = "next_business_day"
calendar = "CN"
penalty_base = "overdue_principal_and_interest"
grace_days = 3
arrears_tolerance = "1.00"
residual_writeoff_below = "0.50"
buckets = [1, 8, 31, 61, 91]
charge_off_dpd = 180
prepayment = "reduce_term"
cap = "cn_private_4lpr"
fees = [
  {type = "late", amount = "50.00", max_per_period = 1, max_total = "200.00"},
  {type = "late", amount = "5"},
]

[products.us_card]
calendar = "US"
prepayment = "reduce_instalment"
allocation = "principal_first"
"""


def test_full_product_parses():
    products = parse_products(FULL)
    assert set(products) == {"cn_cash", "us_card"}
    p = products["cn_cash"]
    assert p == Product(
        code="cn_cash",
        allocation="component_major",
        business_day_rule="next_business_day",
        calendar="CN",
        penalty_base="overdue_principal_and_interest",
        grace_days=3,
        arrears_tolerance="1.00",
        residual_writeoff_below="0.50",
        buckets=(1, 8, 31, 61, 91),
        charge_off_dpd=180,
        prepayment="reduce_term",
        cap="cn_private_4lpr",  # explicit cap wins over the CN default
        fees=(
            Fee(type="late", amount="50.00", max_per_period=1, max_total="200.00"),
            Fee(type="late", amount="5", max_per_period=None, max_total=None),
        ),
    )
    assert bucket_labels(p.buckets) == ("current", "1-7", "8-30", "31-60", "61-90", "91+")
    us = products["us_card"]
    assert us.calendar == "US" and us.cap == "none"
    assert us.prepayment == "reduce_instalment" and us.allocation == "principal_first"
    assert us.buckets == DEFAULT.buckets and us.grace_days == 0


def test_cn_calendar_implies_cn_licensed_24_cap():
    p = parse_products('[products.cn]\ncalendar = "CN"\n')["cn"]
    assert p.cap == "cn_licensed_24"
    # ... but only for CN.
    assert parse_products('[products.gb]\ncalendar = "GB"\n')["gb"].cap == "none"
    # An explicit cap = "none" for CN is respected.
    assert parse_products('[products.cn]\ncalendar = "CN"\ncap = "none"\n')["cn"].cap == "none"


@pytest.mark.parametrize("cap", ["annual_rate:0.24", "annual_rate:0.36", "annual_rate:1", "cn_licensed_24"])
def test_caps_accepted(cap):
    assert parse_products(f'[products.p]\ncap = "{cap}"\n')["p"].cap == cap


@pytest.mark.parametrize(
    "cap", ["annual_rate:", "annual_rate:abc", "annual_rate:-0.1", "annual_rate:0.1234567891", "24%", "cn_licensed_36"]
)
def test_bad_caps_refused(cap):
    with pytest.raises(BadInput) as e:
        parse_products(f'[products.p]\ncap = "{cap}"\n')
    assert _columns(e.value) == {"p.cap"}


# --- every problem, reported together ---------------------------------------------------------

BAD = """
[products.a]
grace_day = 3
allocation = "fifo"
business_day_rule = "previous_business_day"
calendar = "XX"
penalty_base = "everything"
prepayment = "refund"
buckets = [30, 1]
charge_off_dpd = -1
grace_days = true
arrears_tolerance = 1.5
residual_writeoff_below = "0.0001"
cap = "cn_licensed_36"
fees = [
  {type = "early", amount = "50.00"},
  {type = "late", amount = "-5"},
  {type = "late"},
  {type = "late", amount = "5", max_per_period = -1, max_total = "x", colour = "red"},
  "late",
]

[products.b]
buckets = []

[products.c]
fees = "late"

[products.d]
restructure_probation_months = "twelve"
"""


def test_all_problems_reported_together():
    with pytest.raises(BadInput) as e:
        parse_products(BAD)
    cols = _columns(e.value)
    expected = {
        "a.grace_day",
        "a.allocation",
        "a.business_day_rule",
        "a.calendar",
        "a.penalty_base",
        "a.prepayment",
        "a.buckets",
        "a.charge_off_dpd",
        "a.grace_days",
        "a.arrears_tolerance",
        "a.residual_writeoff_below",
        "a.cap",
        "a.fees[0].type",
        "a.fees[1].amount",
        "a.fees[2].amount",
        "a.fees[3].max_per_period",
        "a.fees[3].max_total",
        "a.fees[3].colour",
        "a.fees[4]",
        "b.buckets",
        "c.fees",
        "d.restructure_probation_months",
    }
    assert expected <= cols, expected - cols
    assert len(e.value.problems) >= len(expected)
    # The unknown key is called out as such, and every problem is located (no row in TOML).
    assert any(p.column == "a.grace_day" and "unknown key" in p.message for p in e.value.problems)
    assert all(p.row is None for p in e.value.problems)
    # The exception text lists every problem, one per line.
    assert len(str(e.value).splitlines()) == len(e.value.problems)


@pytest.mark.parametrize(
    "buckets",
    ["[]", "[0, 30]", "[-1, 30]", "[1, 30, 30]", "[30, 1]", "[1.5, 30]", '["1", "30"]', "[true, 30]", "30"],
)
def test_bad_bucket_lists(buckets):
    with pytest.raises(BadInput) as e:
        parse_products(f"[products.p]\nbuckets = {buckets}\n")
    assert _columns(e.value) == {"p.buckets"}


@pytest.mark.parametrize(
    ("fees", "column"),
    [
        ('"late"', "p.fees"),
        ("[1]", "p.fees[0]"),
        ('[{type = "late", amount = 50}]', "p.fees[0].amount"),  # not a quoted decimal
        ('[{type = "late", amount = "50.0001"}]', "p.fees[0].amount"),  # too many decimals
        ('[{type = "late", amount = "abc"}]', "p.fees[0].amount"),
        ('[{type = "late"}]', "p.fees[0].amount"),
        ('[{amount = "5"}]', "p.fees[0].type"),
        ('[{type = "late", amount = "5", max_per_period = 1.5}]', "p.fees[0].max_per_period"),
        ('[{type = "late", amount = "5", max_total = "-1"}]', "p.fees[0].max_total"),
        ('[{type = "late", amount = "5", per = "day"}]', "p.fees[0].per"),
    ],
)
def test_bad_fee_tables(fees, column):
    with pytest.raises(BadInput) as e:
        parse_products(f"[products.p]\nfees = {fees}\n")
    assert column in _columns(e.value)


def test_bad_document_shapes():
    with pytest.raises(BadInput):
        parse_products("this is = = not toml")
    with pytest.raises(BadInput) as e:
        parse_products('[product.x]\ngrace_days = 1\n')  # misspelt top-level table
    assert "product" in _columns(e.value)
    with pytest.raises(BadInput):
        parse_products("")  # no products at all
    with pytest.raises(BadInput) as e:
        parse_products("[products]\nx = 1\n")  # a product that is not a table
    assert "x" in _columns(e.value)


def test_good_products_are_not_returned_when_another_is_bad():
    with pytest.raises(BadInput) as e:
        parse_products('[products.ok]\ngrace_days = 1\n[products.bad]\ngrace_days = -1\n')
    assert _columns(e.value) == {"bad.grace_days"}
