"""Legal cost caps (FIELD-NOTES §4 CN-CAP), resolved per loan to annual rates in nano units.

A cap is applied day by day: interest + penalty + fees accrued for day d must not exceed
cap_rate / 365 x principal outstanding on d. What exceeds it is recorded as ``capped`` and never
becomes receivable (CN-AMOUNT: it must not even be collected).

Resolution, and why:
- ``cn_licensed_24``: licensed lenders (microcredit companies, other financial institutions) are
  held to a comprehensive annual cost of 24% by regulatory practice, whatever the contract date.
- ``cn_private_4lpr``: private lending contracted on or after 2020-08-20 is capped at 4 x the
  one-year LPR at the contract date. Contracts before that date: 24% was enforceable (24-36% not
  enforceable, above 36% void: we cap what is collectable at 24%); interest accruing from
  2020-08-20 follows the new standard, 4 x the LPR of 2020-08-20 (15.4%). The cap therefore changes
  on one day, which the day step treats as an event day.
- ``annual_rate:<x>``: a lender's or jurisdiction's own cap.
- A loan's ``lender_type`` (licensed / private) picks the CN rule; otherwise the product's ``cap``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from arrears.rates import parse_rate

NEW_STANDARD_FROM = dt.date(2020, 8, 20)
LICENSED_24 = parse_rate("0.24")


@dataclass(frozen=True, slots=True)
class LprTable:
    fixings: tuple[tuple[dt.date, int], ...]
    valid_through: dt.date

    def rate_on(self, day: dt.date) -> int:
        if day > self.valid_through:
            raise CapError(
                f"the LPR table ends {self.valid_through}; {day} is later (extend "
                "src/arrears/book/data/lpr_1y.toml, the last value is never reused)"
            )
        if day < self.fixings[0][0]:
            raise CapError(f"no LPR before {self.fixings[0][0]}; {day} is earlier")
        rate = self.fixings[0][1]
        for start, r in self.fixings:
            if start <= day:
                rate = r
        return rate


class CapError(ValueError):
    pass


@lru_cache(maxsize=1)
def lpr_table() -> LprTable:
    doc = tomllib.loads(files("arrears.book").joinpath("data/lpr_1y.toml").read_text(encoding="utf-8"))
    fixings = tuple(
        (dt.date.fromisoformat(f["from"]), parse_rate(f["rate"])) for f in doc["fixings"]
    )
    return LprTable(fixings, dt.date.fromisoformat(doc["valid_through"]))


@dataclass(frozen=True, slots=True)
class CapRule:
    """The annual cap before ``switch_on`` (or always, when it is None) and from it on. None: no cap."""

    rate_nano: int | None
    switch_on: dt.date | None = None
    rate_after_nano: int | None = None

    def rate_on(self, day: dt.date) -> int | None:
        if self.switch_on is not None and day >= self.switch_on:
            return self.rate_after_nano
        return self.rate_nano


def resolve(product_cap: str, lender_type: str | None, contract_date: dt.date) -> CapRule:
    kind = {"licensed": "cn_licensed_24", "private": "cn_private_4lpr"}.get(lender_type or "", product_cap)
    if kind == "none":
        return CapRule(None)
    if kind == "cn_licensed_24":
        return CapRule(LICENSED_24)
    if kind == "cn_private_4lpr":
        table = lpr_table()
        if contract_date >= NEW_STANDARD_FROM:
            return CapRule(4 * table.rate_on(contract_date))
        return CapRule(LICENSED_24, NEW_STANDARD_FROM, 4 * table.rate_on(NEW_STANDARD_FROM))
    if kind.startswith("annual_rate:"):
        return CapRule(parse_rate(kind.removeprefix("annual_rate:")))
    raise CapError(f"unknown cap {kind!r}")
