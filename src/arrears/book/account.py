"""The view of one account as of a business date, built from the loan, its schedule and product.

Foundation I knows no payments yet, so a disbursed loan is ``current``; Foundation II's day step
replaces the balances with the state the close computes, through the same functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from arrears.book.schedule import Instalment
from arrears.money import format_plain
from arrears.rates import format_rate


def status(loan: Mapping, as_of: dt.date) -> str:
    return "pending" if as_of < loan["disbursed_on"] else "current"


def account_view(loan: Mapping, schedule: Sequence[Instalment], as_of: dt.date) -> dict:
    cur = loan["currency"]
    st = status(loan, as_of)
    return {
        "loan_id": loan["loan_id"],
        "as_of": as_of.isoformat(),
        "borrower_id": loan["borrower_id"],
        "product": loan["product"],
        "currency": cur,
        "principal": format_plain(loan["principal_minor"], cur),
        "annual_rate": format_rate(loan["annual_rate_nano"]),
        "method": loan["method"],
        "disbursed_on": loan["disbursed_on"].isoformat(),
        "status": st,
        "schedule": [
            {
                "n": i.n,
                "due_on": i.due_on.isoformat(),
                "adjusted_due_on": i.adjusted_due_on.isoformat(),
                "principal": format_plain(i.principal, cur),
                "interest": format_plain(i.interest, cur),
                "amount": format_plain(i.amount, cur),
                "status": "pending" if st == "pending" else ("due" if i.adjusted_due_on <= as_of else "scheduled"),
            }
            for i in schedule
        ],
    }
