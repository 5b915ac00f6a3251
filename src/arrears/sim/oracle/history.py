"""What already happened with one person, and counts over their local days.

Every event keeps its local day in each of the person's candidate zones. A count "in N days" takes
the contact's local day and the N-1 before it, zone by zone, and the zone with the highest count
decides (a cap must hold wherever the person may be).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from arrears.sim.oracle import read
from arrears.sim.oracle.params import (
    CONVERSATION,
    NEVER_CONNECTED,
    NOT_DELIVERED,
    STATEMENTS,
    TELEPHONE,
    UNANSWERED,
)


@dataclass(slots=True)
class Event:
    at: datetime
    days: tuple[date, ...]
    debts: frozenset[str]
    inbound: bool
    channel: str
    placed: bool  # a placed telephone call (US-FREQ)
    connected: bool
    conversation: bool
    reached: bool  # someone received it: a connected call, a voicemail, a delivered message
    freq_exempt: bool = False  # inside the consumer's 7 days of call consent
    number: str = ""  # US-MA: "personal" or "other"


def telephone(outcome: str | None, inbound: bool) -> tuple[bool, bool, bool]:
    """(placed, connected, conversation) of a call, from INTERFACE.md's outcome table."""
    if outcome in NEVER_CONNECTED:
        return False, False, False
    if inbound:
        return False, True, True  # someone called us: a conversation, not a placed call
    if outcome in UNANSWERED:
        return True, False, False
    if outcome == "wrong_party":
        return True, True, False
    if outcome in CONVERSATION or outcome in STATEMENTS:
        return True, True, True
    return True, False, False  # an unknown outcome: the call was placed, nobody known to answer


def event(c: read.Contact, days: tuple[date, ...], debts: frozenset[str]) -> Event:
    if c.channel in TELEPHONE:
        placed, connected, conversation = telephone(c.outcome, c.inbound)
        reached = connected or c.outcome == "voicemail"
    else:
        placed = connected = conversation = False
        reached = c.inbound or c.outcome not in NOT_DELIVERED
    return Event(c.at, days, debts, c.inbound, c.channel, placed, connected, conversation, reached)


def count(events: list[Event], days: tuple[date, ...], span: int,
          keep: Callable[[Event], bool]) -> int:
    """Events kept by ``keep`` on the local days ``day - span + 1 .. day``, highest over zones."""
    best = 0
    for i, today in enumerate(days):
        first = today - timedelta(days=span - 1)
        n = 0
        for e in reversed(events):
            if e.days[i] < first:
                break  # in time order, so local days only fall from here, zone by zone
            if e.days[i] <= today and keep(e):
                n += 1
        best = max(best, n)
    return best


def last(events: list[Event], keep: Callable[[Event], bool]) -> Event | None:
    for e in reversed(events):
        if keep(e):
            return e
    return None
