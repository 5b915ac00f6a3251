"""How long the audit log keeps what it recorded: the packs' retention minimums (a lender's
overrides may lengthen them), and each jurisdiction's last collection activity, from the store."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from arrears.audit.retention import RetentionRule
from arrears.policy.check.params import Packs
from arrears.store import tables as t
from arrears.store.bulk import read_table

_SINCE = {"last_collection_activity": "last_activity", "bad_event_end": "last_activity"}


def retention_rules(packs: Packs) -> dict[str, RetentionRule]:
    """Per partition prefix (``US``, ``CN``; ``US-MA`` has its own when its pack differs): the
    minimum years and the clock. A jurisdiction without a retention minimum (GB) is never purged."""
    out: dict[str, RetentionRule] = {}
    for key, pack in packs.packs.items():
        if pack.retention is not None:
            out[key] = RetentionRule(pack.retention.years_at_least, _SINCE.get(pack.retention.counted_from, "day"))  # type: ignore[arg-type]
    return out


def last_activity(conn: Connection) -> dict[str, dt.date]:
    """Per jurisdiction (the audit partition): the local date of the last outbound contact."""
    contacts = read_table(conn, t.contacts).filter(pl.col("direction") == "outbound").select("borrower_id", "local_date")
    if contacts.is_empty():
        return {}
    borrowers = read_table(conn, t.borrowers).select("borrower_id", "jurisdiction")
    last = contacts.join(borrowers, on="borrower_id").group_by("jurisdiction").agg(pl.col("local_date").max())
    return dict(zip(last["jurisdiction"], last["local_date"]))
