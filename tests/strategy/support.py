"""Borrower facts built by hand, one dict per borrower, with the defaults of a quiet early case."""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.strategy.facts import FACTS

DAY = dt.date(2026, 3, 2)
NO_PLANS = pl.DataFrame(schema={"borrower_id": pl.String, "action": pl.String, "template_id": pl.String, "last_on": pl.Date})


def facts(*rows: dict) -> pl.DataFrame:
    base = {
        "borrower_id": "B1", "jurisdiction": "CN", "language": "zh-CN", "loan_id": "L1", "loan_ids": ["L1"],
        "currency": "CNY", "dpd": 10, "bucket": "1-29", "status": "delinquent", "balance": 200_000,
        "overdue": 50_000, "missed_instalments": 1, "episode_start": DAY - dt.timedelta(days=10), "flags": [],
        "promise_status": "none", "promise_date": None, "promise_decided_on": None, "promise_holds": False,
        "days_since_broken_promise": None, "arrangement_holds": False, "days_since_rpc": 2, "refusals": 0,
    }
    out = []
    for i, r in enumerate(rows):
        row = {**base, "borrower_id": f"B{i + 1}", **r}
        if r.get("currency") is None:
            row["currency"] = {"CN": "CNY", "GB": "GBP"}.get(row["jurisdiction"][:2], "USD")
        out.append(row)
    return pl.DataFrame(out, schema=FACTS)
