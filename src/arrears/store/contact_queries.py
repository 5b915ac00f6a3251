"""Reads for one account's contact side: its flags, its last contacts and its promises.

Each takes the account's ``as_of`` and, optionally, ``known_at`` (only what had been recorded by
then, as ``arrears account --known-at`` means). Rows come back ready for INTERFACE.md's account
object: dates as ISO text, money as decimal strings in major units, timestamps with the offset they
were sent with.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, exists, or_, select

from arrears.money import format_plain
from arrears.store import tables as t

LAST_CONTACTS = 50


def flags(conn: Connection, borrower_id: str, loan_id: str, as_of: dt.date,
          known_at: dt.datetime | None = None) -> list[dict]:
    """Flags in force on ``as_of`` for the loan: the borrower's flags naming this loan or no loan,
    started on or before ``as_of`` and not lifted by then (``end_on`` is the first day without it).

    ``until`` is the lift date when it is known (an ``as_of`` before a recorded lift), else null.
    With ``known_at``, flags and lifts recorded later are ignored.
    """
    f = t.flags
    query = select(f).where(
        f.c.borrower_id == borrower_id,
        or_(f.c.loan_id.is_(None), f.c.loan_id == loan_id),
        f.c.start_on <= as_of,
    ).order_by(f.c.start_on, f.c.flag_id)
    if known_at is not None:
        query = query.where(f.c.recorded_at < _utc(known_at))
    out = []
    for r in conn.execute(query).mappings():
        end = r["end_on"]
        if end is not None and known_at is not None and r["lifted_at"] is not None and _utc(r["lifted_at"]) >= known_at:
            end = None  # the lift was not known yet
        if end is not None and _date(end) <= as_of:
            continue
        out.append({
            "flag": r["flag"],
            "value": r["value"],
            "since": _date(r["start_on"]).isoformat(),
            "until": _date(end).isoformat() if end is not None else None,
            "source": r["source"],
            "written": r["written"],
            "loan_id": r["loan_id"],
            "flag_id": r["flag_id"],
        })
    return out


def contacts(conn: Connection, borrower_id: str, loan_id: str, as_of: dt.date,
             known_at: dt.datetime | None = None, limit: int = LAST_CONTACTS) -> list[dict]:
    """The last ``limit`` contacts about the loan (naming it, or naming no loan), newest first, up to
    the end of ``as_of`` in each contact's own local time."""
    c, cl = t.contacts, t.contact_loans
    names_loan = exists().where(and_(cl.c.event_id == c.c.event_id, cl.c.loan_id == loan_id))
    names_none = c.c.loan_ids.is_(None)
    query = (
        select(c)
        .where(c.c.borrower_id == borrower_id, or_(names_loan, names_none), c.c.local_date <= as_of)
        .order_by(c.c.at.desc(), c.c.event_id.desc())
        .limit(limit)
    )
    if known_at is not None:
        query = query.where(c.c.recorded_at < _utc(known_at))
    return [
        {
            "event_id": r["event_id"],
            "at": local_timestamp(r["at"], r["at_offset"]),
            "channel": r["channel"],
            "direction": r["direction"],
            "party": r["party"],
            "outcome": r["outcome"],
            "address": r["address"],
        }
        for r in conn.execute(query).mappings()
    ]


def promises(conn: Connection, loan_id: str, as_of: dt.date, known_at: dt.datetime | None = None) -> list[dict]:
    """Promises to pay on the loan made by the end of ``as_of`` (the contact's local day), oldest first."""
    p, c = t.promises, t.contacts
    query = (
        select(p)
        .join(c, c.c.event_id == p.c.promise_id)
        .where(p.c.loan_id == loan_id, c.c.local_date <= as_of)
        .order_by(p.c.made_at, p.c.promise_id)
    )
    if known_at is not None:
        query = query.where(p.c.recorded_at < _utc(known_at))
    return [
        {
            "amount": format_plain(r["amount_minor"], r["currency"]),
            "date": _date(r["promise_date"]).isoformat(),
            "status": r["status"],
            "promise_id": r["promise_id"],
            "made_at": _utc(r["made_at"]).isoformat(),
        }
        for r in conn.execute(query).mappings()
    ]


def local_timestamp(at: dt.datetime | str, offset: str) -> str:
    """The stored UTC instant shown in the offset it was sent with: ``2026-03-01T19:05:00+08:00``."""
    sign = -1 if offset.startswith("-") else 1
    zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return _utc(at).astimezone(zone).isoformat()


def _utc(value: dt.datetime | str) -> dt.datetime:
    # SQLite hands timestamps back naive (they were written in UTC); PostgreSQL with a zone.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
