"""Facts in force: flags from the ``flags`` frame and from contact outcomes, and closed channels.

A flags row is in force on the person's local days ``start_on <= d < end_on``; a fact set by a
contact binds every later contact, until a flags row of the same kind lifts it (its ``end_on``, on
or after the day the fact was set). A fact about one loan binds contacts about that loan and
contacts that name no loan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arrears.sim.oracle import read
from arrears.sim.oracle.params import FAMILY, GB_BREATHING_DAYS, OUTCOME_FACT, WRITTEN_CHANNELS


@dataclass(slots=True)
class Fact:
    kind: str  # dispute, cease, attorney, bankruptcy, deceased, vulnerable, breathing_space, …
    loans: frozenset[str] | None
    start_on: date  # for a contact's fact: its local day
    end_on: date | None
    written: bool = False
    after_seq: int | None = None  # set by a contact: binds only contacts after it

    def binds(self, seq: int, days: tuple[date, ...], loans: frozenset[str] | None) -> bool:
        if self.loans is not None and loans is not None and not (self.loans & loans):
            return False
        if self.after_seq is not None and seq <= self.after_seq:
            return False
        return any(
            (self.after_seq is not None or self.start_on <= d)
            and (self.end_on is None or d < self.end_on)
            for d in days
        )


@dataclass(slots=True)
class Closed:
    """A channel family closed for a party, at one address or (``address`` None) at all of them."""

    family: str
    party: str | None  # None: whoever is reached at that address
    address: str | None
    rule_kind: str  # "opt_out" or "oral_cease"
    since: date
    after_seq: int | None = None
    end_on: date | None = None
    replies: int = 0  # one reply is owed when the person writes through the closed address

    def covers(self, channel: str, party: str, address: str | None) -> bool:
        if FAMILY[channel] != self.family:
            return False
        if self.party is not None and self.party != party:
            return False
        return self.address is None or read.same_number(self.address, address) \
            or (self.address or "").casefold() == (address or "").casefold()

    def in_force(self, seq: int, days: tuple[date, ...]) -> bool:
        if self.after_seq is not None and seq <= self.after_seq:
            return False
        return any((self.after_seq is not None or self.since <= d)
                   and (self.end_on is None or d < self.end_on) for d in days)


def written(c: read.Contact) -> bool:
    """The ``written`` column decides; left empty, a letter, e-mail or text is in writing."""
    return c.written if c.written is not None else c.channel in WRITTEN_CHANNELS


@dataclass
class Book:
    """Every fact of every borrower, and the end dates flags rows give for lifting them."""

    facts: dict[str, list[Fact]] = field(default_factory=lambda: defaultdict(list))
    closed: dict[str, list[Closed]] = field(default_factory=lambda: defaultdict(list))
    lifts: dict[tuple[str, str], list[tuple[frozenset[str] | None, date]]] = field(
        default_factory=lambda: defaultdict(list))

    def load_flags(self, frame_rows: list[dict[str, Any]]) -> None:
        for r in frame_rows:
            b, kind = read.text(r.get("borrower_id")) or "", read.text(r.get("flag")) or ""
            loans = read.loan_set(r.get("loan_id"), None)
            start, end = read.day(r.get("start_on")), read.day(r.get("end_on"))
            w = read.flag(r.get("written"))
            value = read.text(r.get("value"))
            if end is not None:
                self.lifts[(b, kind)].append((loans, end))
            if kind == "opt_out" or (kind == "cease" and w is False):
                ch, _, addr = (value or ("agent_call" if kind == "cease" else "")).partition(":")
                family = FAMILY.get(ch.strip(), ch.strip() or "*")
                self.closed[b].append(Closed(
                    family, None if addr else "borrower", addr.strip() or None,
                    "opt_out" if kind == "opt_out" else "oral_cease", start, end_on=end))
                continue
            if kind == "cease":
                w = True  # a cease on file is a written one unless it says otherwise
            elif kind == "dispute":
                w = bool(w) or read.text(r.get("source")) == "letter"
            self.facts[b].append(Fact(kind, loans, start, _breathing_end(kind, start, end),
                                      bool(w)))

    def _lifted_on(self, b: str, kind: str, loans, since: date) -> date | None:
        ends = [end for scope, end in self.lifts.get((b, kind), ())
                if end >= since and (scope is None or loans is None or scope & loans)]
        return min(ends, default=None)

    def from_contact(self, c: read.Contact, local_day: date) -> None:
        """The fact an outcome sets, binding the contacts after this one."""
        b, outcome = c.borrower_id, c.outcome
        if outcome in OUTCOME_FACT:
            kind = OUTCOME_FACT[outcome]
            end = _breathing_end(kind, local_day, self._lifted_on(b, kind, c.loans, local_day))
            self.facts[b].append(Fact(kind, c.loans, local_day, end,
                                      written(c), after_seq=c.seq))
        elif outcome == "cease_request" and written(c):
            self.facts[b].append(Fact("cease", c.loans, local_day,
                                      self._lifted_on(b, "cease", c.loans, local_day),
                                      True, after_seq=c.seq))
        elif outcome in ("cease_request", "opt_out"):
            oral = outcome == "cease_request"
            self.closed[b].append(Closed(
                FAMILY[c.channel], c.party, None if oral else c.address,
                "oral_cease" if oral else "opt_out", local_day, after_seq=c.seq,
                end_on=self._lifted_on(b, "opt_out", None, local_day)))

    def in_force(self, c: read.Contact, days: tuple[date, ...]) -> dict[str, list[Fact]]:
        found: dict[str, list[Fact]] = defaultdict(list)
        for f in self.facts.get(c.borrower_id, ()):
            if f.binds(c.seq, days, c.loans):
                found[f.kind].append(f)
        return found

    def closing(self, c: read.Contact, days: tuple[date, ...]) -> list[Closed]:
        return [x for x in self.closed.get(c.borrower_id, ())
                if (x.family == "*" and c.channel != "letter" or x.covers(c.channel, c.party,
                                                                         c.address))
                and x.in_force(c.seq, days)]


def _breathing_end(kind: str, start: date, end: date | None) -> date | None:
    if kind != "breathing_space" or end is None:
        return end
    return max(end, start + timedelta(days=GB_BREATHING_DAYS))
