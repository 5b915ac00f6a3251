"""A small builder for compliance scenarios: borrowers, loans, references, contacts, flags and
proposed actions, decided by the engine exactly as ``arrears policy check`` decides them.

    s = Scenario()
    s.borrower("B1", "CN")                      # zones default to the jurisdiction's
    s.loan("L1", "B1", "CNY", receivable="5000.00")
    s.contact("B1", "agent_call", "2026-03-02T10:00:00+08:00", "right_party_contact")
    s.action("A1", "B1", "agent_call", "2026-03-02T11:00:00+08:00")
    d = s.decide("A1")
    assert blocked_by(d, "CN-FREQ")
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from arrears.money import parse_amount
from arrears.policy.check.engine import evaluate
from arrears.policy.check.params import Packs
from arrears.policy.check.world import (
    BORROWERS,
    CONTACTS,
    FLAGS,
    LOANS,
    REFERENCES,
    World,
    actions_frame,
)
from arrears.policy.overrides import Overrides
from arrears.policy.zones import jurisdiction_zones


def default_zones(jurisdiction: str) -> list[str]:
    """A scenario borrower's zones unless given: the capital's for CN and GB (a CN address with no
    province would also span Asia/Urumqi), every zone of the state for US-XX."""
    return {"CN": ["Asia/Shanghai"], "GB": ["Europe/London"]}.get(jurisdiction) or list(jurisdiction_zones(jurisdiction))


def ts(text: str) -> dt.datetime:
    """An ISO timestamp with its offset, as a UTC instant."""
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None, "scenario timestamps carry an offset"
    return value.astimezone(dt.UTC)


def day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


@dataclass
class Scenario:
    borrowers: list[dict] = field(default_factory=list)
    loans: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)

    def borrower(self, borrower_id: str, jurisdiction: str, *, zones: list[str] | None = None,
                 phone: str | None = "+8613800138000", email: str | None = None, work_phone: str | None = None,
                 employer_email: bool | None = None) -> Scenario:
        self.borrowers.append({
            "borrower_id": borrower_id, "jurisdiction": jurisdiction,
            "zones": list(zones) if zones is not None else default_zones(jurisdiction),
            "phone": phone, "email": email, "work_phone": work_phone, "email_is_employer_provided": employer_email,
        })
        return self

    def loan(self, loan_id: str, borrower_id: str, currency: str, *, receivable: str | None = "5000.00",
             time_barred_on: str | None = None) -> Scenario:
        self.loans.append({
            "loan_id": loan_id, "borrower_id": borrower_id, "currency": currency,
            "receivable": None if receivable is None else parse_amount(receivable, currency),
            "time_barred_on": day(time_barred_on),
        })
        return self

    def reference(self, reference_id: str, borrower_id: str, relation: str, *, consented_on: str | None = None,
                  phone: str = "+8613700001111", source: str = "borrower_provided", zones: list[str] | None = None) -> Scenario:
        self.references.append({
            "reference_id": reference_id, "borrower_id": borrower_id, "relation": relation, "source": source,
            "consented_on": day(consented_on), "phone": phone, "zones": zones or [],
        })
        return self

    def contact(self, borrower_id: str, channel: str, at: str, outcome: str, *, direction: str = "outbound",
                party: str = "borrower", loans: list[str] | None = None, address: str | None = None,
                event_id: str | None = None) -> Scenario:
        self.contacts.append({
            "event_id": event_id or f"E{len(self.contacts) + 1}", "borrower_id": borrower_id,
            "loan_ids": loans or [], "channel": channel, "direction": direction, "at": ts(at), "party": party,
            "address": address, "outcome": outcome,
        })
        return self

    def flag(self, borrower_id: str, flag: str, start_on: str, *, end_on: str | None = None, loan_id: str | None = None,
             value: str | None = None, written: bool | None = None) -> Scenario:
        self.flags.append({
            "borrower_id": borrower_id, "loan_id": loan_id, "flag": flag, "value": value,
            "start_on": day(start_on), "end_on": day(end_on), "written": written,
        })
        return self

    def action(self, action_id: str, borrower_id: str, action: str, at: str | None = None, *, loan_id: str | None = None,
               channel: str | None = "same", party: str = "borrower", window: tuple[str, str] | None = None,
               template_id: str | None = None, language: str | None = None, offer_amount: str | None = None,
               pay_by: str | None = None, address: str | None = None, recording_ref: str | None = None,
               loans: list[str] | None = None) -> Scenario:
        if loan_id is None:
            loan_id = next(x["loan_id"] for x in self.loans if x["borrower_id"] == borrower_id)
        currency = next(x["currency"] for x in self.loans if x["loan_id"] == loan_id)
        start, end = (ts(at), ts(at)) if window is None else (ts(window[0]), ts(window[1]))
        self.actions.append({
            "action_id": action_id, "borrower_id": borrower_id, "loan_id": loan_id, "loan_ids": loans or [loan_id],
            "action": action, "channel": action if channel == "same" else channel, "party": party,
            "start": start, "end": end, "template_id": template_id, "language": language,
            "offer_amount": None if offer_amount is None else parse_amount(offer_amount, currency),
            "offer_pay_by": day(pay_by), "address": address, "recording_ref": recording_ref,
        })
        return self

    def world(self) -> World:
        def frame(rows: list[dict], schema: pl.Schema) -> pl.DataFrame:
            return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)

        return World(
            borrowers=frame(self.borrowers, BORROWERS), references=frame(self.references, REFERENCES),
            contacts=frame(self.contacts, CONTACTS), flags=frame(self.flags, FLAGS), loans=frame(self.loans, LOANS),
        )

    def check(self, collector_role: str = "first_party", overrides: Overrides | None = None,
              actions: list[str] | None = None) -> pl.DataFrame:
        rows = [a for a in self.actions if actions is None or a["action_id"] in actions]
        return evaluate(actions_frame(pl.DataFrame(rows, schema_overrides={"start": pl.Datetime("us", "UTC"),
                                                                          "end": pl.Datetime("us", "UTC")})),
                        self.world(), packs(collector_role, overrides))

    def decide(self, action_id: str, collector_role: str = "first_party", overrides: Overrides | None = None) -> dict:
        """One action's decision, in the batch of every action added so far."""
        out = self.check(collector_role, overrides)
        return out.filter(pl.col("action_id") == action_id).row(0, named=True)


_PACKS: dict[str, Packs] = {}


def packs(collector_role: str = "first_party", overrides: Overrides | None = None) -> Packs:
    if overrides is not None:
        return Packs.load(collector_role, overrides)
    if collector_role not in _PACKS:
        _PACKS[collector_role] = Packs.load(collector_role)
    return _PACKS[collector_role]


def rules_of(decision: dict) -> set[str]:
    return {r for r in (decision["rules"] or "").split(";") if r}


def allowed(decision: dict) -> bool:
    return decision["decision"] == "allow" and not rules_of(decision)


def blocked_by(decision: dict, rule: str) -> bool:
    return decision["decision"] == "block" and rule in rules_of(decision)
