"""Interest rates as exact fractions.

Rates arrive as decimal text (``"0.18"`` a year, ``"0.0005"`` a day). Inside they are integers in
billionths ("nano"), which keeps daily penalty arithmetic in int64 across millions of loans
(10^10 minor units x 10^9 stays below 2^63 once divided) while staying exact for every rate a
contract states.
"""

from __future__ import annotations

import re
from fractions import Fraction

NANO = 10**9
_RATE_TEXT = re.compile(r"^(?P<int>\d+)(?:\.(?P<frac>\d+))?$", re.ASCII)


class RateError(ValueError):
    pass


def parse_rate(text: str) -> int:
    """Decimal-fraction text to integer nano units: ``"0.18"`` -> 180_000_000."""
    m = _RATE_TEXT.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise RateError(f"{text!r} is not a non-negative decimal rate")
    frac = m["frac"] or ""
    if len(frac) > 9:
        raise RateError(f"{text!r} has more than 9 decimals")
    return int(m["int"]) * NANO + int(frac.ljust(9, "0") or 0)


def format_rate(nano: int) -> str:
    whole, frac = divmod(nano, NANO)
    text = f"{whole}.{frac:09d}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def as_fraction(nano: int) -> Fraction:
    return Fraction(nano, NANO)
