"""Retention: which sealed segments may be purged. Pure.

Retention is a *minimum*: a segment is kept at least that long, and only whole sealed segments are
purged (their seal rows stay, so verification still knows what was there). The policy packs will set
the rules; until then they are a parameter, with these documented defaults:

- ``CN``: 5 years from the segment's day.
- ``US``: 3 years after the last collection activity. The log is partitioned by jurisdiction and day,
  not by borrower, so the clock runs from the later of the segment's day and the partition's last
  collection activity (the caller says when that was). That keeps every row at least as long as the
  per-borrower rule would; an unknown last activity keeps the segment.

A partition such as ``US-CA`` takes the rule for ``US`` unless it has its own. A partition with no
rule (``platform``, say) is never purged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RetentionRule:
    years: int
    since: Literal["day", "last_activity"] = "day"


DEFAULT_RETENTION: Mapping[str, RetentionRule] = {
    "CN": RetentionRule(5, "day"),
    "US": RetentionRule(3, "last_activity"),
}


def rule_for(partition: str, rules: Mapping[str, RetentionRule]) -> RetentionRule | None:
    if partition in rules:
        return rules[partition]
    return rules.get(partition.split("-", 1)[0])


def add_years(day: dt.date, years: int) -> dt.date:
    """The anniversary; 29 February goes to 1 March (the later day: retention is a minimum)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def retained_until(
    partition: str,
    day: dt.date,
    rules: Mapping[str, RetentionRule],
    last_activity: Mapping[str, dt.date] | None = None,
) -> dt.date | None:
    """The last day the segment must be kept; None when it must be kept indefinitely."""
    rule = rule_for(partition, rules)
    if rule is None:
        return None
    start = day
    if rule.since == "last_activity":
        last = (last_activity or {}).get(partition)
        if last is None:
            return None
        start = max(day, last)
    return add_years(start, rule.years)


def purgeable(
    sealed: Iterable[tuple[str, dt.date]],
    today: dt.date,
    rules: Mapping[str, RetentionRule] = DEFAULT_RETENTION,
    last_activity: Mapping[str, dt.date] | None = None,
) -> list[tuple[str, dt.date]]:
    """The sealed (partition, day) segments whose minimum retention has passed by ``today``."""
    out = []
    for partition, day in sealed:
        until = retained_until(partition, day, rules, last_activity)
        if until is not None and today > until:
            out.append((partition, day))
    return sorted(out)


def purged_too_early(
    partition: str, day: dt.date, purged_on: dt.date, rules: Mapping[str, RetentionRule]
) -> bool:
    """A purge that no rule allows even at the earliest (counting from the segment's own day)."""
    rule = rule_for(partition, rules)
    if rule is None:
        return True
    return purged_on <= add_years(day, rule.years)
