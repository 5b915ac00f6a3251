"""Money: ISO exponents, strict parsing, plain formatting, Babel display, half-up rounding."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.money import (
    EXPONENTS,
    MoneyError,
    display,
    exponent,
    format_plain,
    parse_amount,
    round_half_up,
    to_decimal,
)

# --- ISO 4217 exponents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "exp"),
    [("CNY", 2), ("USD", 2), ("GBP", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3)],
)
def test_iso_exponents(currency, exp):
    assert exponent(currency) == exp


@pytest.mark.parametrize("code", ["CYN", "XXX", "usd", "", "US"])
def test_unknown_currency_refused(code):
    with pytest.raises(MoneyError):
        exponent(code)
    with pytest.raises(MoneyError):
        parse_amount("1", code)


# --- strict parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.50", "CNY", 123450),
        ("1234.5", "CNY", 123450),  # fewer decimals than allowed is fine
        ("1234", "USD", 123400),
        ("0.01", "GBP", 1),
        ("0", "USD", 0),
        ("10000", "JPY", 10000),
        ("10000", "KRW", 10000),
        ("1.234", "BHD", 1234),
        (" 7.00 ", "USD", 700),  # surrounding whitespace is tolerated
        ("007.10", "USD", 710),
    ],
)
def test_parse_amount_valid(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1234.501", "CNY"),  # three decimals in a two-decimal currency
        ("0.001", "USD"),
        ("1.0", "JPY"),  # JPY has no minor unit: even ".0" is one decimal too many
        ("100.5", "KRW"),
        ("1.2345", "BHD"),
    ],
)
def test_too_many_decimals_is_an_error_not_rounded(text, currency):
    with pytest.raises(MoneyError, match="decimals"):
        parse_amount(text, currency)


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "1,234.50", "1.2.3", "12a", ".5", "5.", "+5", "1e3", "NaN", "--1", "¥100", "1 000"],
)
def test_non_numeric_text_refused(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "CNY")


@pytest.mark.parametrize("value", [None, 12, 12.5, Decimal("12.5")])
def test_non_string_refused(value):
    with pytest.raises(MoneyError):
        parse_amount(value, "USD")


def test_negative_refused_unless_allowed():
    with pytest.raises(MoneyError, match="negative"):
        parse_amount("-12.34", "USD")
    assert parse_amount("-12.34", "USD", allow_negative=True) == -1234
    assert parse_amount("-5", "JPY", allow_negative=True) == -5


def test_unknown_currency_checked_before_text():
    # Even a perfectly valid amount is refused with an unknown currency.
    with pytest.raises(MoneyError, match="unknown currency"):
        parse_amount("1.00", "CYN")


# --- plain formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123450, "CNY", "1234.50"),
        (1, "USD", "0.01"),
        (-1, "USD", "-0.01"),
        (0, "GBP", "0.00"),
        (10000, "JPY", "10000"),
        (-7, "KRW", "-7"),
        (1234, "BHD", "1.234"),
        (5, "KWD", "0.005"),
    ],
)
def test_format_plain_examples(minor, currency, text):
    assert format_plain(minor, currency) == text


@given(
    currency=st.sampled_from(sorted(EXPONENTS)),
    minor=st.integers(min_value=-(10**15), max_value=10**15),
)
def test_format_plain_round_trip(currency, minor):
    text = format_plain(minor, currency)
    assert parse_amount(text, currency, allow_negative=True) == minor
    # Exactly the currency's number of decimals, never more, never fewer.
    exp = EXPONENTS[currency]
    if exp:
        assert len(text.split(".")[1]) == exp
    else:
        assert "." not in text
    # And it agrees with the exact Decimal conversion.
    assert Decimal(text) == to_decimal(minor, currency)


# --- Babel display ----------------------------------------------------------------------------


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


@pytest.mark.parametrize("locale", ["en", "zh-CN", "zh_CN", "en-US"])
def test_display_cny(locale):
    s = display(1_000_000, "CNY", locale)  # 10,000.00 yuan
    assert _digits(s) == "1000000"
    assert "10,000.00" in s or "10000.00" in s
    assert any(m in s for m in ("¥", "￥", "CNY", "元"))


def test_display_en_usd_gbp_jpy():
    usd = display(123456, "USD", "en")
    assert _digits(usd) == "123456" and "1,234.56" in usd and "$" in usd
    gbp = display(5, "GBP", "en")
    assert _digits(gbp) == "005" and "0.05" in gbp and ("£" in gbp or "GBP" in gbp)
    jpy = display(123456, "JPY", "en")  # no minor unit: 123,456 yen, no decimals
    assert _digits(jpy) == "123456" and "." not in jpy and ("¥" in jpy or "JPY" in jpy)


def test_display_negative_keeps_sign():
    s = display(-1050, "USD", "en")
    assert _digits(s) == "1050"
    assert "-" in s or "−" in s or "(" in s


# --- round_half_up ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),  # banker's rounding would give 2
        (Fraction(-1, 2), -1),
        (Fraction(-5, 2), -3),  # half away from zero
        (Fraction(7, 3), 2),
        (Fraction(8, 3), 3),
        (Fraction(-7, 3), -2),
        (Fraction(-8, 3), -3),
        (Fraction(49999, 100000), 0),
        (Fraction(-49999, 100000), 0),
        (Fraction(0), 0),
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("0.4999"), 0),
        (7, 7),
        (-7, -7),
        # 1_000_000 x 0.18 x 45 / 365 = 22191.78...
        (Fraction(1_000_000 * 18 * 45, 100 * 365), 22192),
    ],
)
def test_round_half_up_examples(value, expected):
    assert round_half_up(value) == expected


@given(
    st.integers(min_value=-(10**18), max_value=10**18),
    st.integers(min_value=1, max_value=10**12),
)
def test_round_half_up_property(n, d):
    q = Fraction(n, d)
    r = round_half_up(q)
    assert isinstance(r, int)
    # Nearest integer ...
    assert abs(q - r) <= Fraction(1, 2)
    # ... and on an exact tie, the one farther from zero.
    if abs(q - r) == Fraction(1, 2):
        assert abs(r) > abs(q)
    # Symmetric about zero.
    assert round_half_up(-q) == -r
