"""Contacts: what happened when someone was contacted, or contacted us. Facts, never edited.

A contact is stored with its time in UTC and the offset it was sent with (so its local time and
local date are recovered exactly), the loans it is about, and what its outcome establishes
(``book/outcomes.py``): flags, promises and payment arrangements, written in the same transaction.

Refused, besides malformed cells: a timestamp without an offset; a party that is neither
``borrower`` nor a reference registered for that borrower (address-book people are never stored,
so they are refused here too); a loan of another borrower; a promise without amount, date or loan,
or in a currency other than the loan's; ``preferred_hours`` without ``hours_from``/``hours_to``;
``undeliverable`` and ``wrong_party`` without the address they mark.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection, select

from arrears.book import outcomes as oc
from arrears.ingest import checks as ck
from arrears.ingest.existing import read_columns, split_new, unknown_borrowers
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_keys, read_table

REQUIRED = ("event_id", "borrower_id", "channel", "direction", "at", "party", "outcome")
OPTIONAL = (
    "loan_id", "loan_ids", "action_id", "address", "written", "promise_amount", "promise_date",
    "hours_from", "hours_to", "recording_ref", "agency_id",
)
MONEY = ("promise_amount",)
STORED = (
    "borrower_id", "loan_id", "loan_ids", "action_id", "channel", "direction", "at", "at_offset",
    "party", "address", "outcome", "written", "promise_amount_minor", "promise_date", "hours_from",
    "hours_to", "recording_ref", "agency_id",
)
FILE_COLUMN = {"at_offset": "at", "promise_amount_minor": "promise_amount"}

# ISO 8601: date, time to the minute or (fractional) second, and an offset (Z, +08:00 or +0800).
_TIMESTAMP = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,6})?)?(Z|[+-](?:0\d|1[0-4]):?[0-5]\d)?$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_PHONE_CHANNELS = ("sms", "robocall", "agent_call")


def _ts_part(i: int, column: str = "at") -> pl.Expr:
    return pl.col(column).str.strip_chars().str.extract(_TIMESTAMP, i)


def offset_expr(column: str = "at") -> pl.Expr:
    """The offset as ``+HH:MM`` (``Z`` is ``+00:00``); null without one."""
    raw = _ts_part(4, column)
    return pl.when(raw == "Z").then(pl.lit("+00:00")).otherwise(
        raw.str.replace(r"^([+-]\d{2}):?(\d{2})$", "${1}:${2}")
    )


def at_expr(column: str = "at") -> pl.Expr:
    """The instant in UTC; null when malformed or without an offset."""
    text = pl.concat_str(_ts_part(1, column), pl.lit("T"), _ts_part(2, column),
                         _ts_part(3, column).fill_null(":00"), offset_expr(column))
    return text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False)


def local_date_expr(at: str = "at", offset: str = "at_offset") -> pl.Expr:
    """The contact's calendar day where it happened: UTC plus the kept offset."""
    sign = pl.when(pl.col(offset).str.starts_with("-")).then(-1).otherwise(1)
    minutes = sign * (
        pl.col(offset).str.slice(1, 2).cast(pl.Int64) * 60 + pl.col(offset).str.slice(4, 2).cast(pl.Int64)
    )
    return (pl.col(at).dt.replace_time_zone(None) + pl.duration(minutes=minutes)).dt.date()


def _loan_list() -> pl.Expr:
    """loan_id and loan_ids together: sorted, unique, blanks dropped."""
    parts = pl.col("loan_ids").fill_null("").str.split(";").list.eval(pl.element().str.strip_chars())
    return (
        pl.concat_list(parts, pl.col("loan_id").fill_null(""))
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique()
        .list.sort()
    )


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    outcome, text = pl.col("outcome"), pl.col("at").str.strip_chars()
    shaped = text.str.contains(_TIMESTAMP)
    promise = outcome == oc.PROMISE
    hours = outcome == oc.PREFERRED_HOURS
    return [
        *[ck.required(c) for c in REQUIRED],
        ck.one_of("channel", oc.CHANNELS),
        ck.one_of("direction", oc.DIRECTIONS),
        ck.one_of("outcome", oc.NAMES),
        ck.Check("at", text.is_not_null() & ~shaped, pl.format("'{}' is not an ISO 8601 timestamp with an offset "
                 "(2026-03-01T19:05:00+08:00)", pl.col("at"))),
        ck.Check("at", shaped & _ts_part(4).is_null(), pl.format("'{}' has no offset; a timestamp without an offset "
                 "is an error (write it as 2026-03-01T19:05:00+08:00)", pl.col("at"))),
        ck.Check("at", shaped & _ts_part(4).is_not_null() & at_expr().is_null(),
                 pl.format("'{}' is not a valid date and time", pl.col("at"))),
        ck.is_bool("written"),
        ck.Check("address", pl.col("address").is_not_null() & pl.col("channel").is_in(_PHONE_CHANNELS)
                 & ~pl.col("address").str.contains(ck.E164),
                 pl.format("'{}' is not an E.164 phone number (+8613800138000)", pl.col("address"))),
        ck.Check("address", pl.col("address").is_not_null() & (pl.col("channel") == "email")
                 & ~pl.col("address").str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                 pl.format("'{}' is not an e-mail address", pl.col("address"))),
        ck.Check("address", pl.col("address").is_null() & outcome.is_in(oc.NEEDS_ADDRESS),
                 pl.format("is required with {}: it marks that address", outcome)),
        ck.Check("loan_ids", pl.col("loan_ids").is_not_null()
                 & pl.col("loan_ids").str.split(";").list.eval(pl.element().str.strip_chars() == "").list.any(),
                 pl.format("'{}' has an empty loan id (semicolon-separated ids expected)", pl.col("loan_ids"))),
        # promise_to_pay: amount, date and the loan it is for.
        *[ck.Check(c, promise & pl.col(c).is_null(), pl.lit("is required with promise_to_pay"))
          for c in ("promise_amount", "promise_date", "loan_id")],
        *[ck.Check(c, ~promise & pl.col(c).is_not_null(), pl.lit("is only allowed with promise_to_pay"))
          for c in ("promise_amount", "promise_date")],
        ck.Check("promise_amount", pl.col("promise_amount").is_not_null()
                 & ~pl.col("promise_amount").str.strip_chars().str.contains(r"^\d+(\.\d+)?$"),
                 pl.format("'{}' is not a decimal amount", pl.col("promise_amount"))),
        ck.is_date("promise_date"),
        # preferred_hours: a local window.
        *[ck.Check(c, hours & pl.col(c).is_null(), pl.lit("is required with preferred_hours (local HH:MM)"))
          for c in ("hours_from", "hours_to")],
        *[ck.Check(c, ~hours & pl.col(c).is_not_null(), pl.lit("is only allowed with preferred_hours"))
          for c in ("hours_from", "hours_to")],
        ck.matches("hours_from", _HHMM, "a local time HH:MM"),
        ck.matches("hours_to", _HHMM, "a local time HH:MM"),
        ck.Check("hours_to", pl.col("hours_from").str.contains(_HHMM) & pl.col("hours_to").str.contains(_HHMM)
                 & (pl.col("hours_to") <= pl.col("hours_from")),
                 pl.format("'{}' is not after hours_from '{}'", pl.col("hours_to"), pl.col("hours_from"))),
    ]


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    out = frame.lazy().select(
        ROW, "event_id", "borrower_id", "loan_id", _loan_list().alias("loans"), "action_id", "channel",
        "direction", at_expr().alias("at"), offset_expr().alias("at_offset"), "party", "address", "outcome",
        pl.when(pl.col("written").is_null()).then(None).otherwise(ck.bool_expr("written")).alias("written"),
        "promise_amount", ck.date_expr("promise_date").alias("promise_date"), "hours_from", "hours_to",
        "recording_ref", "agency_id",
    )
    return out.with_columns(
        pl.when(pl.col("loans").list.len() > 0).then(pl.col("loans").list.join(";")).alias("loan_ids"),
        local_date_expr().alias("local_date"),
    ).collect()


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = normalise(frame)
    problems = unknown_borrowers(conn, frame) + _party_problems(conn, frame)
    loan_problems, loan_currency = _loan_problems(conn, frame)
    problems += loan_problems
    frame = frame.lazy().join(loan_currency.lazy(), on="loan_id", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("promise_amount").is_not_null()).then(pl.col("loan_currency")).alias("promise_currency")
    ).with_columns(
        pl.when(pl.col("promise_currency").is_not_null())
        .then(ck.minor_expr("promise_amount", "promise_currency")).alias("promise_amount_minor")
    ).collect()
    priced = frame.filter(pl.col("promise_currency").is_not_null())
    problems += ck.run_checks(priced, ck.money("promise_amount", "promise_currency", positive=True))
    stored = read_table(conn, t.contacts, key="event_id", keys=frame["event_id"].to_list())
    new, more = split_new(
        frame.select(ROW, "event_id", *STORED, "loans", "local_date", "promise_currency"), stored, "event_id", STORED,
        what="contact", how_to_correct="a contact is a fact; send a new event_id instead", file_columns=FILE_COLUMN,
    )
    problems += more
    flags = oc.flag_rows(new.with_columns(pl.col("loans").alias("loan_ids")))
    flags = pl.concat([flags, _notice_flags(conn, new)])
    problems += _flag_id_problems(conn, new, flags)
    if problems:
        return 0, problems
    stamp = pl.lit(now).alias("recorded_at")
    added = insert_frame(conn, t.contacts, new.lazy().drop(ROW, "loans").with_columns(stamp).collect())
    insert_frame(conn, t.contact_loans, new.lazy().select("event_id", pl.col("loans").alias("loan_id"))
                 .explode("loan_id").drop_nulls("loan_id").collect())
    insert_frame(conn, t.flags, flags.with_columns(stamp))
    made = new.rename({"promise_amount_minor": "amount_minor", "promise_currency": "currency", "at": "made_at"})
    insert_frame(conn, t.promises, oc.promise_rows(made).with_columns(stamp))
    insert_frame(conn, t.arrangements, oc.arrangement_rows(made).with_columns(stamp))
    return added, []



# A notice that never arrived was not given.
_NOT_DELIVERED = ("undeliverable", "not_connected", "busy", "wrong_party")


def _notice_flags(conn: Connection, new: pl.DataFrame) -> pl.DataFrame:
    """A statutory notice the plan asked for (``plan_actions.sets_flag``) and this contact carried out
    sets its flag (``gb_nosia_sent``, ...) from the contact's local day, so the rules that count
    from the notice (GB-DEFAULT's 14 days, CN-CR-NOTICE) know it was given."""
    done = new.filter(pl.col("action_id").is_not_null() & ~pl.col("outcome").is_in(_NOT_DELIVERED))
    if done.is_empty():
        return pl.DataFrame(schema=oc.FLAG_ROWS)
    pa = t.plan_actions
    rows = conn.execute(select(pa.c.action_id, pa.c.sets_flag).where(
        pa.c.action_id.in_(done["action_id"].unique().to_list()), pa.c.sets_flag.is_not(None),
        pa.c.status == "planned").distinct()).all()
    if not rows:
        return pl.DataFrame(schema=oc.FLAG_ROWS)
    notices = pl.DataFrame(rows, orient="row", schema={"action_id": pl.String, "flag": pl.String})
    return done.join(notices, on="action_id").select(
        pl.concat_str(pl.lit("contact:"), pl.col("event_id"), pl.lit(":"), pl.col("flag")).alias("flag_id"),
        "borrower_id", pl.lit(None, pl.String).alias("loan_id"), "flag", pl.lit(None, pl.String).alias("value"),
        pl.col("local_date").alias("start_on"), pl.lit("contact").alias("source"), pl.lit(True).alias("written"),
        "event_id",
    ).cast(dict(oc.FLAG_ROWS))


def _party_problems(conn: Connection, frame: pl.DataFrame) -> list[Problem]:
    others = frame.filter(pl.col("party") != "borrower")
    refs = read_columns(conn, t.references, "reference_id", others["party"].to_list(),
                        ("reference_id", "borrower_id")).select(
        pl.col("reference_id").alias("party"), pl.col("borrower_id").alias("ref_borrower"))
    # Only the rows that are wrong are looked at twice (usually none).
    j = others.lazy().join(refs.lazy(), on="party", how="left", maintain_order="left").filter(
        pl.col("ref_borrower").is_null() | (pl.col("ref_borrower") != pl.col("borrower_id"))).collect()
    if j.is_empty():
        return []
    out = [
        Problem(r, "party", f"'{p}' is neither 'borrower' nor a known reference; people from a phone's "
                "address book are never stored or contacted (ARREARS-3P-SOURCE)")
        for r, p in j.filter(pl.col("ref_borrower").is_null()).select(ROW, "party").iter_rows()
    ]
    out += [
        Problem(r, "party", f"reference '{p}' belongs to borrower '{rb}', not '{b}'")
        for r, p, rb, b in j.filter(pl.col("ref_borrower").is_not_null() & (pl.col("ref_borrower") != pl.col("borrower_id")))
        .select(ROW, "party", "ref_borrower", "borrower_id").iter_rows()
    ]
    return out


def _loan_problems(conn: Connection, frame: pl.DataFrame) -> tuple[list[Problem], pl.DataFrame]:
    named = (frame.lazy().select(ROW, "borrower_id", "loan_id", pl.col("loans").alias("one"))
             .explode("one").drop_nulls("one").collect())
    loans = read_columns(conn, t.loans, "loan_id", named["one"].unique().to_list(),
                         ("loan_id", "borrower_id", "currency")).select(
        pl.col("loan_id").alias("one"), pl.col("borrower_id").alias("loan_borrower"), pl.col("currency").alias("loan_currency"))
    currency = loans.select(pl.col("one").alias("loan_id"), "loan_currency")
    # Only the rows that are wrong are looked at twice (usually none).
    j = named.lazy().join(loans.lazy(), on="one", how="left", maintain_order="left").filter(
        pl.col("loan_borrower").is_null() | (pl.col("loan_borrower") != pl.col("borrower_id"))).collect()
    if j.is_empty():
        return [], currency
    j = j.with_columns(
        pl.when(pl.col("one") == pl.col("loan_id")).then(pl.lit("loan_id")).otherwise(pl.lit("loan_ids")).alias("col"))
    out = [
        Problem(r, c, f"loan '{lid}' is not known")
        for r, c, lid in j.filter(pl.col("loan_borrower").is_null()).select(ROW, "col", "one").iter_rows()
    ]
    out += [
        Problem(r, c, f"loan '{lid}' belongs to borrower '{lb}', not '{b}'")
        for r, c, lid, lb, b in j.filter(pl.col("loan_borrower").is_not_null() & (pl.col("loan_borrower") != pl.col("borrower_id")))
        .select(ROW, "col", "one", "loan_borrower", "borrower_id").iter_rows()
    ]
    return out, currency


def _flag_id_problems(conn: Connection, new: pl.DataFrame, flags: pl.DataFrame) -> list[Problem]:
    """A contact's flag ids (``contact:<event_id>...``) must not already name another flag."""
    if flags.is_empty():
        return []
    taken = read_keys(conn, t.flags, "flag_id", flags["flag_id"].to_list())
    if taken.is_empty():
        return []
    clash = flags.filter(pl.col("flag_id").is_in(taken.implode())).join(
        new.select(ROW, "event_id"), on="event_id")
    return [
        Problem(r, "event_id", f"the flag id '{f}' this contact would set is already used by another flag")
        for r, f in clash.select(ROW, "flag_id").iter_rows()
    ]
