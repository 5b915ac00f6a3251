"""The walk: every executed contact in time order, checked against what came before it."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import date, time
from decimal import Decimal

import polars as pl

from arrears.sim.oracle import history, people, read, rules
from arrears.sim.oracle.facts import Book
from arrears.sim.oracle.params import (
    COLLECTOR_ROLES,
    THIRD_PARTY_REFUSAL,
    US_CONSENT_DAYS,
    VISIT_MINIMUM,
)

OUTPUT = {"event_id": pl.String, "borrower_id": pl.String, "rule": pl.String,
          "explanation": pl.String}


class Balances:
    """Each loan's total outstanding by day; a visit on day D is judged on the latest day before D
    (the state the plan saw), or on D itself when nothing earlier is known."""

    def __init__(self, frame: pl.DataFrame | None) -> None:
        by_loan: dict[str, list[tuple[date, str, Decimal]]] = defaultdict(list)
        for r in read.rows(frame):
            currency = read.text(r.get("currency")) or ""
            by_loan[read.text(r.get("loan_id")) or ""].append(
                (read.day(r.get("date")), currency,
                 read.major_amount(r.get("total_outstanding"), currency)))
        self.by_loan = {k: sorted(v) for k, v in by_loan.items()}
        self.given = frame is not None

    def on(self, loan: str, day: date) -> tuple[str, Decimal] | None:
        rows = self.by_loan.get(loan, [])
        i = bisect_left(rows, (day,))
        if i == 0:
            return (rows[0][1], rows[0][2]) if rows and rows[0][0] == day else None
        return rows[i - 1][1], rows[i - 1][2]


def _visit_minimum(c: read.Contact, debts: frozenset[str], day: date, balances: Balances):
    if c.channel != "field_visit" or not balances.given:
        return
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for loan in debts:
        found = balances.on(loan, day)
        if found is None:
            return  # nothing known about this debt: the oracle does not guess
        totals[found[0]] += found[1]
    if not totals:
        return
    if all(cur in VISIT_MINIMUM and amount >= VISIT_MINIMUM[cur] for cur, amount in totals.items()):
        return
    owed = ", ".join(f"{cur} {amount}" for cur, amount in sorted(totals.items()))
    mins = ", ".join(f"{cur} {VISIT_MINIMUM.get(cur, 'none set')}" for cur in sorted(totals))
    yield "ARREARS-VISIT-MIN", f"ARREARS-VISIT-MIN: visit about {owed} (minimum {mins})"


def violations(
    contacts: pl.DataFrame,
    borrowers: pl.DataFrame,
    references: pl.DataFrame | None,
    flags: pl.DataFrame | None,
    loans: pl.DataFrame | None,
    balances: pl.DataFrame | None = None,
    *,
    collector_role: str = "first_party",
) -> pl.DataFrame:
    """One row per (executed contact, rule it breaks): ``event_id, borrower_id, rule, explanation``.

    ``collector_role`` is checked but changes nothing here: the Reg F contact baseline applies to all
    three roles, and the rules that differ by role (US-VALID, US-DISPUTE) are not re-checked.
    """
    if collector_role not in COLLECTOR_ROLES:
        raise ValueError(f"collector_role must be one of {sorted(COLLECTOR_ROLES)}")
    who = people.borrowers(borrowers)
    refs = people.references(references, who)
    debts_of = people.loans_by_borrower(loans)
    money = Balances(balances)
    book = Book()
    book.load_flags(read.rows(flags))

    past: dict[tuple[str, str], list[history.Event]] = defaultdict(list)
    preferred: dict[tuple[str, str], tuple[time, time]] = {}
    consent: dict[tuple[str, str], tuple[date, ...]] = {}
    refused: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str, str]] = []

    for c in read.contacts(contacts):
        b = who.get(c.borrower_id, people.UNKNOWN_BORROWER)
        ref = None if c.party == "borrower" else refs.get(
            c.party, people.Reference("other", "borrower_provided", None, b.zones))
        zones = ref.zones if ref else b.zones
        days = tuple(c.at.astimezone(z).date() for z in zones) or (c.at.date(),)
        b_days = tuple(c.at.astimezone(z).date() for z in b.zones) or (c.at.date(),)
        key = (c.borrower_id, c.party)
        debts = c.loans or debts_of.get(c.borrower_id) or frozenset({"*"})
        now = history.event(c, days, debts)
        now.number = rules.number_kind(c, b) if not c.inbound else ""
        given = consent.get(key)
        now.freq_exempt = given is not None and all(
            (d - g).days < US_CONSENT_DAYS for d, g in zip(days, given))

        if not c.inbound:
            in_force = book.in_force(c, days)
            s = rules.Subject(c, b, ref, days, now, past[key], past[(c.borrower_id, "borrower")],
                              in_force, preferred.get(key), b_days, key in refused, b.country)
            found = [
                *rules.hours(s, zones),
                *rules.third_party(s, bool(in_force.get("deceased"))),
                *rules.facts(s),
                *_closed(c, b, days, book),
                *rules.us_freq(s),
                *rules.us_ma(s),
                *rules.cn_freq(s),
                *rules.messages(s),
                *rules.gb_freq(s),
                *_visit_minimum(c, debts, c.at.date(), money),
            ]
            seen = set()
            for rule, why in found:
                if rule not in seen:
                    seen.add(rule)
                    out.append((c.event_id, c.borrower_id, rule, why))
        else:
            _reply_owed(c, days, book)

        past[key].append(now)
        book.from_contact(c, days[0])
        if c.outcome == "preferred_hours" and c.hours_from and c.hours_to:
            preferred[key] = (c.hours_from, c.hours_to)
        if c.outcome == "call_consent":
            consent[key] = days
        if ref is not None and c.outcome in THIRD_PARTY_REFUSAL:
            refused.add(key)

    return pl.DataFrame(out, schema=OUTPUT, orient="row")


def _closed(c: read.Contact, b: people.Borrower, days, book: Book):
    us = b.country == "US"
    for x in book.closing(c, days):
        if x.rule_kind == "opt_out" and x.replies:
            x.replies -= 1  # the one reply owed after the person wrote through it
            continue
        if x.rule_kind == "oral_cease":
            rule = "US-CEASE" if us else "ARREARS-OPTOUT"
            yield rule, f"{rule}: {c.channel} after an oral request to stop ({x.family} closed)"
        else:
            rule = "US-OPTOUT" if us else "ARREARS-OPTOUT"
            at = f" at {x.address}" if x.address else ""
            yield rule, f"{rule}: {c.channel} after an opt-out of {x.family}{at}"
        return


def _reply_owed(c: read.Contact, days, book: Book) -> None:
    """An inbound message through an opted-out address earns the person exactly one reply."""
    for x in book.closing(c, days):
        if x.rule_kind == "opt_out":
            x.replies = 1
