"""One import: read, check everything, then write in one transaction. A bad file changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import polars as pl
from sqlalchemy import Connection, Engine

from arrears.ingest import (
    adjustments,
    agents,
    borrowers,
    contacts,
    flags,
    loans,
    payments,
    products,
    references,
)
from arrears.ingest.checks import columns_problems, run_checks, unique_key
from arrears.ingest.read import ROW, read_rows
from arrears.problems import BadInput
from arrears.store import tables as t
from arrears.store.db import unit_of_work

TABULAR: dict[str, tuple[ModuleType, str]] = {
    "borrowers": (borrowers, "borrower_id"),
    "references": (references, "reference_id"),
    "loans": (loans, "loan_id"),
    "payments": (payments, "payment_id"),
    "adjustments": (adjustments, "adjustment_id"),
    "contacts": (contacts, "event_id"),
    "flags": (flags, "flag_id"),
    "agents": (agents, "agent_id"),
}
KINDS = ("products", *TABULAR)


@dataclass(frozen=True, slots=True)
class ImportResult:
    kind: str
    rows_in_file: int
    rows_added: int


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    business_date: dt.date,
    now: dt.datetime,
    allow_extra_columns: bool = False,
    after: Callable[[Connection], None] | None = None,
) -> ImportResult:
    """Import one file in one transaction. ``after`` runs inside that transaction once the rows are
    written (the CLI records executed contacts in the audit log there), so both land or neither."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""
    if kind == "products":
        with unit_of_work(engine) as conn:
            added = products.apply_file(conn, path, now)
            _log(conn, kind, path, digest, business_date, added, added, now)
        return ImportResult(kind, added, added)
    module, key = TABULAR[kind]
    frame = read_rows(path, money_columns=getattr(module, "MONEY", ()))
    problems = columns_problems(frame, module.REQUIRED, module.OPTIONAL, allow_extra_columns)
    if problems:
        raise BadInput(problems, source=str(path))
    frame = frame.select(
        ROW, *[c for c in frame.columns if c in module.REQUIRED or c in module.OPTIONAL],
        *[pl.lit(None, pl.String).alias(c) for c in module.OPTIONAL if c not in frame.columns],
    )
    problems = run_checks(frame, module.checks(frame)) + unique_key(frame, key)
    # Rows that failed a check still go through the checks against the database (unknown
    # borrowers, changed content, ...) minus the failing rows, so one run lists *every* problem.
    # With problems found the transaction is rolled back, so nothing of it lands.
    bad_rows = sorted({p.row for p in problems if p.row is not None})
    checked = frame.filter(~pl.col(ROW).is_in(bad_rows)) if bad_rows else frame
    with unit_of_work(engine) as conn:
        added, more = module.apply(conn, checked, business_date, now)
        problems += more
        if problems:
            raise BadInput(problems, source=str(path))  # leaving the block rolls back
        if after is not None and added:
            after(conn)
        _log(conn, kind, path, digest, business_date, frame.height, added, now)
    return ImportResult(kind, frame.height, added)


def _log(conn, kind, path, digest, business_date, rows, added, now) -> None:
    # A re-import that adds nothing leaves no trace: "the same file twice changes nothing".
    if added:
        conn.execute(
            t.imports.insert(),
            [{"kind": kind, "file_name": path.name, "sha256": digest, "business_date": business_date,
              "rows_in_file": rows, "rows_added": added, "recorded_at": now}],
        )
