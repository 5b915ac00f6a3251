"""Business days per jurisdiction, from the ``holidays`` package.

China moves weekends around its Golden Weeks: some Saturdays and Sundays are official working
days ("make-up" days, 调休). ``holidays`` knows them, so a due date on such a Saturday is a
business day and is not moved.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

_SUBDIVISIONS = {"GB": "ENG"}
CALENDARS = ("CN", "US", "GB", "NONE")


@lru_cache(maxsize=None)
def _calendar(code: str) -> holidays.HolidayBase | None:
    if code == "NONE":
        return None
    try:
        return holidays.country_holidays(code, subdiv=_SUBDIVISIONS.get(code))
    except NotImplementedError:
        raise ValueError(f"unknown calendar {code!r}") from None


def is_business_day(day: dt.date, calendar: str) -> bool:
    cal = _calendar(calendar)
    if cal is None:
        return day.weekday() < 5
    return cal.is_working_day(day)


def next_business_day(day: dt.date, calendar: str) -> dt.date:
    """``day`` itself when it is a business day, otherwise the next one."""
    while not is_business_day(day, calendar):
        day += dt.timedelta(days=1)
    return day


@lru_cache(maxsize=65_536)
def roll(day: dt.date, rule: str, calendar: str) -> dt.date:
    """Apply a product's ``business_day_rule`` to a contractual due date."""
    if rule == "none":
        return day
    if rule == "next_business_day":
        return next_business_day(day, calendar)
    raise ValueError(f"unknown business_day_rule {rule!r}")
