"""References: third parties the borrower registered. Address-book scrapes are refused outright."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.ingest import checks as ck
from arrears.ingest.existing import split_new, unknown_borrowers
from arrears.ingest.read import ROW
from arrears.policy.zones import zones_column
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("reference_id", "borrower_id", "name", "phone", "relation", "source")
OPTIONAL = ("consented_on",)
RELATIONS = (
    "spouse", "parent", "guardian", "attorney", "estate_representative", "guarantor", "friend",
    "colleague", "other",
)
FIELDS = ("borrower_id", "name", "phone", "relation", "source", "consented_on")


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    return [
        *[ck.required(c) for c in REQUIRED],
        ck.Check(
            "source",
            pl.col("source") == "address_book",
            pl.lit(
                "'address_book' references are refused: people taken from a phone's address book "
                "are never stored or contacted (ARREARS-3P-SOURCE; PIPL arts. 6, 10, 13)"
            ),
        ),
        ck.Check(
            "source",
            pl.col("source").is_not_null() & ~pl.col("source").is_in(["borrower_provided", "address_book"]),
            pl.format("'{}' is not one of borrower_provided", pl.col("source")),
        ),
        ck.one_of("relation", RELATIONS),
        ck.phone("phone"),
        ck.is_date("consented_on"),
    ]


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = frame.select(ROW, "reference_id", *FIELDS[:-1], ck.date_expr("consented_on").alias("consented_on"))
    problems = unknown_borrowers(conn, frame)
    stored = read_table(conn, t.references, key="reference_id", keys=frame["reference_id"].to_list())
    new, more = split_new(
        frame, stored, "reference_id", FIELDS, what="reference",
        how_to_correct="a reference is a fact; register a new reference_id instead",
    )
    problems += more
    if problems:
        return 0, problems
    new = new.drop(ROW).with_columns(pl.lit(now).alias("recorded_at"), _zones(conn, new))
    return insert_frame(conn, t.references, new), []


def _zones(conn: Connection, new: pl.DataFrame) -> pl.Series:
    """A new reference's candidate time zones: its phone's, else its borrower's jurisdiction's."""
    owners = read_table(conn, t.borrowers, key="borrower_id", keys=new["borrower_id"].to_list())
    with_jurisdiction = new.join(
        owners.select("borrower_id", "jurisdiction"), on="borrower_id", how="left", maintain_order="left"
    )
    return zones_column(with_jurisdiction, timezone=None, country=None, region=None)

