"""The view of one account as of a business date: INTERFACE.md's ``account`` object.

It is derived, never stored: the loan's facts replayed through the same step the close runs
(``replay``), to the end of ``as_of``, using every fact known now or only those recorded before
``known_at``. The close's stored state for a closed day is the same by construction (tested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from arrears.book import adjustments as adj_rules
from arrears.book import payments as pay
from arrears.book.balances import BALANCE_COLUMNS, balances, with_dues
from arrears.book.replay import replay
from arrears.money import format_plain


def _instalment_status(r: dict, as_of: dt.date) -> str:
    owed = r["principal"] + r["interest"] - r["interest_capped"] - r["waived_principal"] - r["waived_interest"]
    paid = r["paid_principal"] + r["paid_interest"]
    if owed <= paid:
        return "paid" if owed > 0 or paid > 0 else "cancelled"
    if r["adjusted_due_on"] < as_of:
        return "overdue"
    if r["due_on"] <= as_of:
        return "due"
    return "partially_paid" if paid > 0 else "scheduled"


def _loan_level_paid_by_instalment(inst: pl.DataFrame, allocations: pl.DataFrame) -> dict[tuple[int, str], int]:
    """Penalty and fees are held per loan; for the schedule, each payment of them is shown against
    the oldest instalment that was past due on its day (or the last one due)."""
    out: dict[tuple[int, str], int] = {}
    loan_level = allocations.filter(pl.col("component").is_in(["penalty", "fees"]))
    if loan_level.is_empty():
        return out
    rows = inst.sort("n").select("n", "adjusted_due_on", "due_on").rows()
    for day, comp, amount in loan_level.select("day", "component", "amount").iter_rows():
        late = [n for n, adj, _ in rows if adj < day]
        due = [n for n, _, due in rows if due <= day]
        n = late[0] if late else (due[-1] if due else rows[0][0])
        out[(n, comp)] = out.get((n, comp), 0) + amount
    return out


def account_view(
    loan: Mapping,
    terms: pl.DataFrame,
    schedule: pl.DataFrame,
    payments: pl.DataFrame,
    schemes: Mapping[str, tuple[int, ...]],
    as_of: dt.date,
    known_at: dt.datetime | None = None,
    *,
    flags: Sequence[Mapping] = (),
    contacts: Sequence[Mapping] = (),
    promises: Sequence[Mapping] = (),
    adjustments: pl.DataFrame | None = None,
) -> dict:
    cur = loan["currency"]
    money = lambda v: format_plain(int(v), cur)  # noqa: E731
    effective = pay.effective(payments, known_at)
    decisions = adjustments if adjustments is not None else pl.DataFrame(schema=adj_rules.ADJUSTMENTS)
    if known_at is not None and "recorded_at" in decisions.columns:
        decisions = decisions.filter(pl.col("recorded_at") < known_at)
    decisions = decisions.select(adj_rules.ADJUSTMENTS.names())
    hist = replay(terms, schedule, effective, as_of, schemes, decisions)
    loans, inst = hist.book.loans, hist.book.inst
    state = loans.row(0, named=True)
    bal = balances(loans, inst, as_of).row(0, named=True)
    by_inst = _loan_level_paid_by_instalment(inst, hist.allocations)
    sched = []
    for r in with_dues(inst, as_of).sort("n").iter_rows(named=True):
        sched.append({
            "n": r["n"],
            "due_on": r["due_on"].isoformat(),
            "adjusted_due_on": r["adjusted_due_on"].isoformat(),
            "principal": money(r["principal"]),
            "interest": money(r["interest"]),
            "interest_capped": money(r["interest_capped"]),
            "paid_principal": money(r["paid_principal"]),
            "paid_interest": money(r["paid_interest"]),
            "paid_penalty": money(by_inst.get((r["n"], "penalty"), 0)),
            "paid_fees": money(by_inst.get((r["n"], "fees"), 0)),
            "status": _instalment_status(r, as_of) if state["status"] != "pending" else "pending",
        })
    history = []
    since = loan["disbursed_on"]
    bucket = "current"
    for day, frm, to in hist.transitions.sort("day").select("day", "from_bucket", "to_bucket").iter_rows():
        history.append({"bucket": frm, "from": since.isoformat(), "to": (day - dt.timedelta(days=1)).isoformat()})
        since, bucket = day, to
    if state["status"] != "pending":
        history.append({"bucket": bucket, "from": since.isoformat(), "to": None})
    return {
        "loan_id": loan["loan_id"],
        "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat() if known_at else None,
        "borrower_id": loan["borrower_id"],
        "product": loan["product"],
        "currency": cur,
        "status": state["status"],
        "dpd": state["dpd"],
        "bucket": state["bucket"],
        "dofd": state["dofd"].isoformat() if state["dofd"] else None,
        "charged_off_on": state["charged_off_on"].isoformat() if state["charged_off_on"] else None,
        "closed_on": state["closed_on"].isoformat() if state["closed_on"] else None,
        "balances": {k: money(bal[k]) for k in BALANCE_COLUMNS},
        "capped": money((state["capped_micro"] + 500_000) // 1_000_000),
        "recovered": money(state["recovered"]),
        "written_off": money(state["written_off"]),
        "schedule": sched,
        "bucket_history": history,
        "pauses": [
            {"reason": p["reason"], "effects": [e for e in adj_rules.PAUSE_EFFECTS if p[e]],
             "from": p["start_on"].isoformat(),
             "to": (p["end_on"] - dt.timedelta(days=1)).isoformat() if p["end_on"] else None}
            for p in adj_rules.pauses(decisions).filter(pl.col("start_on") <= as_of).iter_rows(named=True)
        ],
        "restructured_on": state["restructured_on"].isoformat() if state["restructured_on"] else None,
        "probation_until": state["probation_until"].isoformat() if state["probation_until"] else None,
        "settlement": (
            {"amount": money(state["settlement_amount"]), "pay_by": state["settlement_pay_by"].isoformat(),
             "paid": money(state["settlement_paid"])}
            if state["settlement_amount"] is not None else None
        ),
        "forgiven": money(state["forgiven"]),
        "flags": [dict(f) for f in flags],
        "contacts": [dict(c) for c in contacts],
        "promises": [dict(p) for p in promises],
    }
