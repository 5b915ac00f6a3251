"""Reads for one account (the agent's view); the close reads the whole book in bulk instead."""

from __future__ import annotations

from sqlalchemy import Connection, select

from arrears.book.schedule import Instalment
from arrears.store import tables as t


def loan(conn: Connection, loan_id: str) -> dict | None:
    row = conn.execute(select(t.loans).where(t.loans.c.loan_id == loan_id)).mappings().first()
    return dict(row) if row else None


def schedule(conn: Connection, loan_id: str) -> list[Instalment]:
    rows = conn.execute(
        select(t.schedule).where(t.schedule.c.loan_id == loan_id).order_by(t.schedule.c.n)
    ).mappings()
    return [
        Instalment(r["n"], r["due_on"], r["adjusted_due_on"], r["principal_minor"], r["interest_minor"])
        for r in rows
    ]
