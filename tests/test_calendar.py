"""Business-day calendars (CN make-up days, US observed holidays, GB England) and roll()."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from arrears.calendar import is_business_day, next_business_day, roll

D = dt.date.fromisoformat


# --- CN: Golden Week 2025 and its make-up working weekend days (调休) -----------------------------


def test_cn_makeup_working_weekend_days_are_business_days():
    assert D("2025-10-11").weekday() == 5  # a Saturday ...
    assert is_business_day(D("2025-10-11"), "CN")  # ... that is a working day in China
    assert D("2025-09-28").weekday() == 6  # a Sunday ...
    assert is_business_day(D("2025-09-28"), "CN")  # ... also a working day


def test_cn_national_day_and_golden_week_are_not_business_days():
    for day in range(1, 9):  # 1-8 October 2025 (National Day + Mid-Autumn, merged)
        assert not is_business_day(dt.date(2025, 10, day), "CN"), day
    assert is_business_day(D("2025-10-09"), "CN")


def test_cn_ordinary_weekend_is_not_a_business_day():
    assert not is_business_day(D("2025-10-18"), "CN")  # ordinary Saturday
    assert not is_business_day(D("2025-10-19"), "CN")  # ordinary Sunday
    assert is_business_day(D("2025-10-20"), "CN")  # Monday


def test_cn_roll():
    assert roll(D("2025-10-11"), "next_business_day", "CN") == D("2025-10-11")
    assert roll(D("2025-10-18"), "next_business_day", "CN") == D("2025-10-20")
    assert roll(D("2025-10-01"), "next_business_day", "CN") == D("2025-10-09")
    assert next_business_day(D("2025-10-04"), "CN") == D("2025-10-09")


# --- US: federal holidays, observed ------------------------------------------------------------


def test_us_observed_independence_day():
    # 4 July 2026 is a Saturday, so the holiday is observed on Friday 3 July.
    assert D("2026-07-04").weekday() == 5
    assert D("2026-07-03") in holidays.country_holidays("US")
    assert not is_business_day(D("2026-07-03"), "US")
    assert roll(D("2026-07-03"), "next_business_day", "US") == D("2026-07-06")
    assert is_business_day(D("2026-07-02"), "US")


def test_us_thanksgiving():
    assert not is_business_day(D("2025-11-27"), "US")
    assert is_business_day(D("2025-11-28"), "US")  # the Friday after is not a federal holiday


# --- GB: England and Wales bank holidays (subdivision ENG) -------------------------------------


def test_gb_england_bank_holidays():
    # Summer bank holiday in England: last Monday in August.
    assert not is_business_day(D("2025-08-25"), "GB")
    # Scotland's summer bank holiday (first Monday in August) is not an English one.
    assert D("2025-08-04") in holidays.country_holidays("GB", subdiv="SCT")
    assert is_business_day(D("2025-08-04"), "GB")
    # Early May bank holiday.
    assert not is_business_day(D("2025-05-05"), "GB")


def test_gb_christmas_substitute_day():
    # 2026: Christmas Friday, Boxing Day Saturday, substitute bank holiday Monday 28 December.
    assert not is_business_day(D("2026-12-28"), "GB")
    assert roll(D("2026-12-25"), "next_business_day", "GB") == D("2026-12-29")


# --- roll() rules and the NONE calendar --------------------------------------------------------


@pytest.mark.parametrize("calendar", ["CN", "US", "GB", "NONE"])
@pytest.mark.parametrize("day", ["2025-10-01", "2025-10-18", "2026-07-03", "2025-08-25", "2025-10-15"])
def test_roll_none_never_moves(calendar, day):
    assert roll(D(day), "none", calendar) == D(day)


@pytest.mark.parametrize("calendar", ["CN", "US", "GB", "NONE"])
def test_roll_next_business_day_keeps_business_days(calendar):
    # Wednesday 15 October 2025 is an ordinary working day everywhere.
    assert roll(D("2025-10-15"), "next_business_day", calendar) == D("2025-10-15")


def test_roll_unknown_rule():
    with pytest.raises(ValueError):
        roll(D("2025-10-15"), "previous_business_day", "NONE")


def test_none_calendar_is_weekends_only():
    # Holidays elsewhere are ordinary weekdays in NONE ...
    for day in ("2025-10-01", "2026-07-03", "2025-08-25", "2025-12-25"):
        assert is_business_day(D(day), "NONE"), day
    # ... and every Saturday and Sunday is a day off, make-up days included.
    for day in ("2025-10-11", "2025-09-28", "2025-10-18", "2025-10-19"):
        assert not is_business_day(D(day), "NONE"), day
    assert roll(D("2025-10-11"), "next_business_day", "NONE") == D("2025-10-13")
    assert roll(D("2025-10-12"), "next_business_day", "NONE") == D("2025-10-13")


def test_none_calendar_a_whole_year():
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert is_business_day(day, "NONE") == (day.weekday() < 5)
        day += dt.timedelta(days=1)


def test_unknown_calendar_refused():
    with pytest.raises(ValueError):
        is_business_day(D("2025-10-15"), "XX")
