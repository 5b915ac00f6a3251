"""Borrowers: identity is fixed once stored; contact details are versioned by business date."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.ingest import checks as ck
from arrears.ingest.existing import split_new
from arrears.ingest.read import ROW
from arrears.policy.zones import zones_column
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("borrower_id", "name", "language", "jurisdiction")
OPTIONAL = (
    "phone", "email", "timezone", "address", "city", "region", "postal_code", "country",
    "date_of_birth", "monthly_income", "monthly_income_currency", "work_phone",
    "email_is_employer_provided", "servicemember",
)
IDENTITY = (
    "name", "language", "jurisdiction", "date_of_birth", "monthly_income_minor",
    "monthly_income_currency", "email_is_employer_provided", "servicemember",
)
CONTACT = ("phone", "email", "work_phone", "timezone", "address", "city", "region", "postal_code", "country")
JURISDICTION = r"^(CN|GB|US-[A-Z]{2})$"


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    out = [ck.required(c) for c in REQUIRED]
    out += [
        ck.Check(
            "phone",
            pl.col("phone").is_null() & pl.col("email").is_null(),
            pl.lit("a phone is required when no email is given"),
        ),
        ck.phone("phone"),
        ck.phone("work_phone"),
        ck.matches("email", r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an e-mail address"),
        ck.matches("language", r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "a BCP 47 language tag"),
        ck.matches("jurisdiction", JURISDICTION, "a jurisdiction (CN, GB, or US-<state>)"),
        ck.timezone("timezone"),
        ck.matches("country", r"^[A-Z]{2}$", "an ISO 3166 country code"),
        ck.is_date("date_of_birth"),
        ck.is_bool("email_is_employer_provided"),
        ck.is_bool("servicemember"),
        ck.known_currency("monthly_income_currency"),
        ck.Check(
            "monthly_income_currency",
            pl.col("monthly_income").is_not_null() & pl.col("monthly_income_currency").is_null(),
            pl.lit("is required with monthly_income"),
        ),
        *ck.money("monthly_income", "monthly_income_currency"),
    ]
    return out


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        ROW,
        "borrower_id", "name", "language", "jurisdiction",
        ck.date_expr("date_of_birth").alias("date_of_birth"),
        ck.minor_expr("monthly_income", "monthly_income_currency").alias("monthly_income_minor"),
        "monthly_income_currency",
        pl.when(pl.col("email_is_employer_provided").is_null()).then(None)
        .otherwise(ck.bool_expr("email_is_employer_provided")).alias("email_is_employer_provided"),
        pl.when(pl.col("servicemember").is_null()).then(None)
        .otherwise(ck.bool_expr("servicemember")).alias("servicemember"),
        *CONTACT,
    )


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = normalise(frame.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns))
    ids = frame["borrower_id"].to_list()
    stored = read_table(conn, t.borrowers, key="borrower_id", keys=ids)
    new, problems = split_new(
        frame.select(ROW, "borrower_id", *IDENTITY),
        stored,
        "borrower_id",
        IDENTITY,
        what="borrower",
        how_to_correct="identity fields are fixed once imported",
        file_columns={"monthly_income_minor": "monthly_income"},
    )
    contacts_in_force = _contacts_as_of(conn, ids, business_date)
    incoming = frame.select(ROW, "borrower_id", *CONTACT).unique(
        subset=["borrower_id", *CONTACT], keep="first", maintain_order=True
    )
    cmp = incoming.join(contacts_in_force, on="borrower_id", how="left", suffix="__old")
    has_old = pl.col("valid_from").is_not_null()
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}__old")) for c in CONTACT)
    changed = cmp.filter(~has_old | ~same)
    clash = changed.filter(pl.col("valid_from") == business_date)
    problems += [
        Problem(r, "borrower_id", f"contact details of '{b}' already changed on {business_date}; "
                "import a further change with a later --date")
        for r, b in clash.select(ROW, "borrower_id").iter_rows()
    ]
    if problems:
        return 0, problems
    versions = changed.select("borrower_id", *CONTACT).with_columns(
        pl.lit(business_date).alias("valid_from"), pl.lit(now).alias("recorded_at")
    )
    versions = versions.with_columns(_zones(versions, frame))
    insert_frame(conn, t.borrowers, new.drop(ROW).with_columns(pl.lit(now).alias("recorded_at")))
    insert_frame(conn, t.borrower_contacts, versions)
    # Borrowers added plus existing borrowers whose contact details changed (a new borrower's first
    # contact version is part of adding it, not a second change).
    changed = versions.filter(~pl.col("borrower_id").is_in(new["borrower_id"].implode())).height
    return new.height + changed, []


def _zones(versions: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
    """Each new version's candidate time zones, from its contact details and the jurisdiction.

    Only new versions are resolved, so re-importing a file does no lookups and changes nothing. The
    file's jurisdiction is the stored one: a borrower whose identity differs was refused above.
    """
    jurisdictions = frame.select("borrower_id", "jurisdiction").unique("borrower_id", keep="first")
    return zones_column(versions.join(jurisdictions, on="borrower_id", how="left", maintain_order="left"))


def _contacts_as_of(conn: Connection, ids: list[str], day: dt.date) -> pl.DataFrame:
    versions = read_table(conn, t.borrower_contacts, key="borrower_id", keys=ids)
    return (
        versions.filter(pl.col("valid_from") <= day)
        .sort("valid_from")
        .group_by("borrower_id")
        .last()
        .select("borrower_id", "valid_from", *[pl.col(c).alias(f"{c}__old") for c in CONTACT])
    )
