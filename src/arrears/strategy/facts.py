"""The facts a strategy's conditions compare: one row per borrower with something in arrears.

The plan is per borrower (INTERFACE.md ``actions``): a borrower with three loans is one row here,
judged by the worst loan (the *main* loan: highest dpd, then largest balance) and the sum of what
they owe in the main loan's currency. ``borrower_facts`` (``strategy/derive.py``) builds this frame
from the close's state and the contact history; every condition key of a strategy names one of
these columns (``conditions.CONDITIONS``), and loading a strategy fails for a key with no column.
"""

from __future__ import annotations

import polars as pl

FACTS = pl.Schema({
    "borrower_id": pl.String,
    "jurisdiction": pl.String,  # CN, GB, US-XX
    "language": pl.String,
    "loan_id": pl.String,  # the main loan
    "loan_ids": pl.List(pl.String),  # every loan in arrears, main first
    "currency": pl.String,  # the main loan's
    "dpd": pl.Int32,  # the main loan's (the highest)
    "bucket": pl.String,
    "status": pl.String,  # the main loan's
    "balance": pl.Int64,  # total outstanding of the borrower's loans in ``currency``, minor units
    "overdue": pl.Int64,  # past due of those loans, minor units
    "missed_instalments": pl.Int32,  # instalments past their due date and unpaid, all loans
    "episode_start": pl.Date,  # the earliest dofd: when this delinquency began
    "flags": pl.List(pl.String),  # flags in force today (contact holds from pauses included)
    "promise_status": pl.String,  # the latest promise: none, open, kept or broken
    "promise_date": pl.Date,
    "promise_decided_on": pl.Date,
    "promise_holds": pl.Boolean,  # an open or kept promise whose date has not passed
    "days_since_broken_promise": pl.Int32,  # null: no promise broken in this episode
    "arrangement_holds": pl.Boolean,  # a payment arrangement being kept
    "days_since_rpc": pl.Int32,  # since the last right-party contact, or since episode_start
    "refusals": pl.Int32,  # refusals in this episode (refused to pay, declined, cease, opt-out, complaint)
})
