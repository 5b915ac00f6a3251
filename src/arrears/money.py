"""Money: integer minor units inside, decimal text at the edges.

Every amount the platform holds is an ``int`` counting the currency's minor unit (fen, cent, penny;
yen and won have none). Decimal text is parsed strictly: an amount with more decimals than its
currency allows is an error, never silently rounded, because a rounding import is how a ledger
quietly stops balancing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from babel.numbers import format_currency

# ISO 4217 minor-unit exponents. Kept as our own table rather than read from Babel because CLDR's
# "digits" are display conventions (e.g. it shows HUF with 0 digits) and answer 2 for unknown codes,
# which would let a typo like "CYN" through.
EXPONENTS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BDT": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "GHS": 2, "HKD": 2, "HUF": 2, "IDR": 2,
    "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "LKR": 2,
    "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PKR": 2,
    "PLN": 2, "RON": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
    "TWD": 2, "TZS": 2, "UGX": 0, "USD": 2, "VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
}

_DECIMAL_TEXT = re.compile(r"^(?P<sign>-?)(?P<int>\d+)(?:\.(?P<frac>\d+))?$", re.ASCII)


class MoneyError(ValueError):
    """Raised for text that is not a valid amount in its currency."""


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r} (ISO 4217 code expected)") from None


def parse_amount(text: str, currency: str, *, allow_negative: bool = False) -> int:
    """Parse decimal text in major units (``"1234.50"``) into minor units (``123450``)."""
    exp = exponent(currency)
    m = _DECIMAL_TEXT.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise MoneyError(f"{text!r} is not a decimal amount")
    frac = m["frac"] or ""
    if len(frac) > exp:
        raise MoneyError(
            f"{text!r} has {len(frac)} decimals but {currency} allows {exp}"
        )
    if m["sign"] and not allow_negative:
        raise MoneyError(f"{text!r} is negative")
    value = int(m["int"]) * 10**exp + int(frac.ljust(exp, "0") or 0)
    return -value if m["sign"] else value


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units to an exact Decimal in major units (for display and files only)."""
    return Decimal(minor).scaleb(-exponent(currency))


def format_plain(minor: int, currency: str) -> str:
    """Decimal text in major units with exactly the currency's decimals, as files and JSON use."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def display(minor: int, currency: str, locale: str = "en") -> str:
    """A human display string, localised by Babel (``¥10,000.00`` in zh-CN, ``CN¥10,000.00`` in en)."""
    return format_currency(to_decimal(minor, currency), currency, locale=locale.replace("-", "_"))


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round an exact quantity of minor units half away from zero, as lenders' contracts do."""
    q = Fraction(value)
    n, d = q.numerator, q.denominator
    if n >= 0:
        return (2 * n + d) // (2 * d)
    return -((-2 * n + d) // (2 * d))
