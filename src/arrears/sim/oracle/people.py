"""Borrowers and references as the rules need them: jurisdiction, zones, numbers, relation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import polars as pl

from arrears.sim.oracle import read, zones


@dataclass(frozen=True, slots=True)
class Borrower:
    jurisdiction: str  # "CN", "US-MA", "GB", or "" when unknown
    zones: tuple[ZoneInfo, ...]
    phone: str | None = None
    work_phone: str | None = None
    email: str | None = None
    email_from_employer: bool = False
    country: str = ""  # the jurisdiction's country: "US" for "US-MA"


@dataclass(frozen=True, slots=True)
class Reference:
    relation: str
    source: str
    consented_on: date | None
    zones: tuple[ZoneInfo, ...]


UNKNOWN_BORROWER = Borrower("", ())


def borrowers(frame: pl.DataFrame | None) -> dict[str, Borrower]:
    found = {}
    for r in read.rows(frame):
        j = (read.text(r.get("jurisdiction")) or "").upper()
        has_address = any(read.text(r.get(k)) for k in ("address", "city", "postal_code"))
        found[read.text(r.get("borrower_id")) or ""] = Borrower(
            jurisdiction=j,
            zones=zones.candidate_zones(
                j, read.text(r.get("timezone")), read.text(r.get("phone")),
                read.text(r.get("country")), read.text(r.get("region")), has_address),
            phone=read.text(r.get("phone")),
            work_phone=read.text(r.get("work_phone")),
            email=read.text(r.get("email")),
            email_from_employer=bool(read.flag(r.get("email_is_employer_provided"))),
            country=j.partition("-")[0],
        )
    return found


def references(frame: pl.DataFrame | None, owners: dict[str, Borrower]) -> dict[str, Reference]:
    found = {}
    for r in read.rows(frame):
        owner = owners.get(read.text(r.get("borrower_id")) or "", UNKNOWN_BORROWER)
        # A reference's only evidence is their phone; without it, their borrower's jurisdiction.
        zs = zones.candidate_zones(owner.jurisdiction, phone=read.text(r.get("phone")))
        found[read.text(r.get("reference_id")) or ""] = Reference(
            relation=read.text(r.get("relation")) or "other",
            source=read.text(r.get("source")) or "borrower_provided",
            consented_on=read.day(r.get("consented_on")),
            zones=zs,
        )
    return found


def loans_by_borrower(frame: pl.DataFrame | None) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for r in read.rows(frame):
        found.setdefault(read.text(r.get("borrower_id")) or "", set()).add(
            read.text(r.get("loan_id")) or "")
    return {b: frozenset(ls) for b, ls in found.items()}
