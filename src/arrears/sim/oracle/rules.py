"""One function per rule: given an outbound contact and what came before it, the breaches it makes.

Each yields ``(rule id, explanation)``. They read the walk's state (``walk.Seen``) and never change
it: the walk records the contact only after every rule has looked at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time

from arrears.sim.oracle import history, read
from arrears.sim.oracle.facts import Fact
from arrears.sim.oracle.params import (
    CN_3P_UNREACHABLE_DAYS,
    CN_FREQ_CONNECTED,
    CN_FREQ_CONVERSATIONS,
    EMAIL_PER_DAY,
    GB_FREQ_MONTH,
    GB_FREQ_WEEK,
    HOURS,
    SMS_PER_DAY,
    SMS_PER_WEEK,
    TELEPHONE,
    TEXTS,
    US_CONSUMER_RELATIONS,
    US_FREQ_AFTER_CONVERSATION_DAYS,
    US_FREQ_CALLS,
    US_FREQ_DAYS,
    US_MA_OTHER,
    US_MA_PERSONAL,
    US_MA_VISITS,
)
from arrears.sim.oracle.people import Borrower, Reference

Breach = tuple[str, str]


@dataclass(slots=True)
class Subject:
    """One outbound contact in context."""

    c: read.Contact
    borrower: Borrower
    ref: Reference | None  # None: the borrower themself
    days: tuple[date, ...]  # the contact's local day in each of the party's candidate zones
    now: history.Event  # the contact itself, as it will be recorded
    past: list[history.Event]  # the same person, before it
    borrower_past: list[history.Event]  # the borrower, before it (for third-party rules)
    facts: dict[str, list[Fact]]
    preferred: tuple[time, time] | None
    borrower_days: tuple[date, ...]  # the contact's local day in each of the borrower's zones
    refused: bool  # this third party refused before
    country: str = ""  # the borrower's jurisdiction's country

    @property
    def to_borrower(self) -> bool:
        return self.ref is None

    @property
    def us_third_party(self) -> bool:
        return self.ref is not None and self.ref.relation not in US_CONSUMER_RELATIONS \
            and self.ref.relation != "attorney"


def _who(s: Subject) -> str:
    return "the borrower" if s.to_borrower else f"third party {s.c.party}"


def hours(s: Subject, zones) -> Iterator[Breach]:
    if s.country not in HOURS or s.c.channel == "letter":
        return
    start, until, rule = HOURS[s.country]
    for z in zones:
        t = s.c.at.astimezone(z).time().replace(tzinfo=None)
        if not start <= t < until:
            yield rule, f"{rule}: {t:%H:%M} in {z.key}, outside {start:%H:%M}-{until:%H:%M}"
            return
        if s.preferred and not _inside(t, *s.preferred):
            lo, hi = s.preferred
            yield rule, f"{rule}: {t:%H:%M} in {z.key}, outside the stated {lo:%H:%M}-{hi:%H:%M}"
            return


def _inside(t: time, lo: time, hi: time) -> bool:
    return lo <= t < hi if lo <= hi else (t >= lo or t < hi)


def facts(s: Subject) -> Iterator[Breach]:
    c, f, us, gb = s.c, s.facts, s.country == "US", s.country == "GB"
    letter = c.channel == "letter"
    if not letter and any(x.written for x in f.get("dispute", []) + f.get("cease", [])):
        yield "ARREARS-HOLD", "ARREARS-HOLD: a written dispute or cease is in force (letters only)"
    if us and not letter and f.get("cease"):
        yield "US-CEASE", "US-CEASE: the consumer refused further communication in writing"
    relation = s.ref.relation if s.ref else "borrower"
    if us and f.get("attorney") and relation != "attorney":
        yield "US-ATTY", f"US-ATTY: represented by an attorney; contacted {_who(s)}"
    if us and f.get("bankruptcy") and relation != "attorney":
        yield "US-BK", "US-BK: the bankruptcy stay ends all collection contact"
    if us and f.get("deceased") and relation != "estate_representative":
        yield "US-DECEASED", f"US-DECEASED: deceased; contacted {_who(s)}, not the estate"
    if gb and f.get("vulnerable") and c.channel in ("field_visit", "robocall"):
        yield "GB-VULN", f"GB-VULN: {c.channel} to a vulnerable customer"
    if gb and f.get("breathing_space") and not letter:
        yield "GB-BREATHING", "GB-BREATHING: contact during a breathing space"
    if gb and f.get("dispute") and not letter:
        yield "GB-DISPUTE", "GB-DISPUTE: recovery contact while the debt is disputed"
    b = s.borrower
    if us and s.to_borrower and f.get("no_calls_at_work") \
            and read.same_number(c.address, b.work_phone):
        yield "US-WORK", f"US-WORK: {c.channel} to the work number after 'not at work'"
    if us and s.to_borrower and c.channel == "email" and b.email_from_employer \
            and (c.address is None or c.address.casefold() == (b.email or "").casefold()):
        yield "US-WORK", "US-WORK: e-mail to an employer-provided address"


def third_party(s: Subject, borrower_dead: bool) -> Iterator[Breach]:
    if s.ref is None:
        return
    if s.ref.source == "address_book":
        yield "ARREARS-3P-SOURCE", f"ARREARS-3P-SOURCE: {s.c.party} came from an address book"
    before = [e for e in s.past if not e.inbound and e.reached]
    if s.country == "US" and s.us_third_party:
        if before:
            yield "US-LOC", f"US-LOC: third party {s.c.party} already contacted once"
        if history.last(s.borrower_past, _borrower_reached):
            yield "US-3P", (f"US-3P: third party {s.c.party} contacted after the consumer was "
                            "reached (location known)")
    if s.country == "CN":
        why = _cn_3p(s, before, borrower_dead)
        if why:
            yield "CN-3P", f"CN-3P: {s.c.party}: {why}"


def _borrower_reached(e: history.Event) -> bool:
    return e.conversation or (e.inbound and e.reached)


def _cn_3p(s: Subject, before, dead: bool) -> str | None:
    ref = s.ref
    if ref.consented_on is None or ref.consented_on > max(s.days):
        return "not a pre-agreed contact (no consent on file)"
    if s.refused:
        return "refused before"
    if before:
        return "already contacted once"
    if dead:
        return None
    reached = history.last(s.borrower_past, _borrower_reached)
    since = reached.at if reached else None
    first = next((e for e in s.borrower_past
                  if not e.inbound and (since is None or e.at > since)), None)
    if first is None:
        return "the debtor was not tried since last reached (not trying is not unreachable)"
    waited = min((today - then).days for today, then in zip(s.borrower_days, first.days))
    if waited < CN_3P_UNREACHABLE_DAYS:
        return (f"the debtor was tried only {waited} day(s) since last reached "
                f"(needs {CN_3P_UNREACHABLE_DAYS})")
    return None


def us_freq(s: Subject) -> Iterator[Breach]:
    if s.country != "US" or not s.now.placed or s.now.freq_exempt:
        return
    for debt in sorted(s.now.debts):
        placed = history.count(s.past, s.days, US_FREQ_DAYS,
                               lambda e, debt=debt: e.placed and not e.freq_exempt
                               and debt in e.debts) + 1
        if placed > US_FREQ_CALLS:
            yield "US-FREQ", (f"US-FREQ: placed call {placed} to {_who(s)} about {debt} in "
                              f"{US_FREQ_DAYS} days (more than {US_FREQ_CALLS})")
            return
        talk = history.count(s.past, s.days, US_FREQ_AFTER_CONVERSATION_DAYS,
                             lambda e, debt=debt: e.conversation and debt in e.debts)
        if talk:
            yield "US-FREQ", (f"US-FREQ: call to {_who(s)} about {debt} within "
                              f"{US_FREQ_AFTER_CONVERSATION_DAYS} days of a telephone conversation")
            return


def us_ma(s: Subject) -> Iterator[Breach]:
    if s.borrower.jurisdiction != "US-MA" or not s.to_borrower or not s.now.number:
        return
    kind = s.now.number
    most, span = {"personal": US_MA_PERSONAL, "other": US_MA_OTHER,
                  "visit": US_MA_VISITS}[kind]
    for debt in sorted(s.now.debts):
        n = history.count(s.past, s.days, span,
                          lambda e, debt=debt: e.number == kind and debt in e.debts
                          and not e.inbound) + 1
        if n > most:
            what = "household visit" if kind == "visit" else f"call/text to a {kind} number"
            yield "US-MA", f"US-MA: {what} {n} about {debt} in {span} days (at most {most})"
            return


def cn_freq(s: Subject) -> Iterator[Breach]:
    if s.country != "CN" or not s.to_borrower or not s.now.connected:
        return
    connected = history.count(s.past, s.days, 1, lambda e: e.connected and not e.inbound) + 1
    talks = history.count(s.past, s.days, 1, lambda e: e.conversation) + s.now.conversation
    if connected > CN_FREQ_CONNECTED:
        yield "CN-FREQ", f"CN-FREQ: connected call {connected} today (at most {CN_FREQ_CONNECTED})"
    elif s.now.conversation and talks > CN_FREQ_CONVERSATIONS:
        yield "CN-FREQ", f"CN-FREQ: conversation {talks} today (at most {CN_FREQ_CONVERSATIONS})"


def messages(s: Subject) -> Iterator[Breach]:
    ch = s.c.channel
    if ch in TEXTS:
        day = history.count(s.past, s.days, 1, lambda e: e.channel in TEXTS and not e.inbound) + 1
        week = history.count(s.past, s.days, 7,
                             lambda e: e.channel in TEXTS and not e.inbound) + 1
        if day > SMS_PER_DAY or week > SMS_PER_WEEK:
            yield "ARREARS-SMS", (f"ARREARS-SMS: text {day} today, {week} in 7 days to {_who(s)} "
                                  f"(at most {SMS_PER_DAY} and {SMS_PER_WEEK})")
    if ch == "email":
        day = history.count(s.past, s.days, 1, lambda e: e.channel == "email" and not e.inbound) + 1
        if day > EMAIL_PER_DAY:
            yield "ARREARS-EMAIL", f"ARREARS-EMAIL: e-mail {day} today (at most {EMAIL_PER_DAY})"


def gb_counts(e: history.Event) -> bool:
    """A GB-FREQ contact: something reached the customer. Letters and unreached calls do not."""
    return not e.inbound and e.channel != "letter" and e.reached


def gb_freq(s: Subject) -> Iterator[Breach]:
    if s.country != "GB" or not s.to_borrower or not gb_counts(s.now):
        return
    week = history.count(s.past, s.days, 7, gb_counts) + 1
    month = history.count(s.past, s.days, 30, gb_counts) + 1
    if week > GB_FREQ_WEEK or month > GB_FREQ_MONTH:
        yield "GB-FREQ", (f"GB-FREQ: contact {week} in 7 days, {month} in 30 days "
                          f"(at most {GB_FREQ_WEEK} and {GB_FREQ_MONTH})")


def number_kind(c: read.Contact, b: Borrower) -> str:
    """US-MA's classes: visits, and calls/texts/voicemails to the personal or another number."""
    if c.channel == "field_visit":
        return "visit"
    if c.channel == "sms" or (c.channel in TELEPHONE and c.outcome not in ("not_connected",
                                                                           "busy")):
        if c.address is None or read.same_number(c.address, b.phone):
            return "personal"
        return "other"
    return ""
