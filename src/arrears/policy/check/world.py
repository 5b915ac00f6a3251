"""The frames the engine reads: proposed actions, and the facts about the people they reach.

The shell (``arrears.comply``) fills these from the store; tests build them by hand. Timestamps are
UTC instants (``Datetime("us", "UTC")``); dates are the borrower's local calendar dates; money is
integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC = pl.Datetime("us", "UTC")

ACTIONS = pl.Schema({
    "action_id": pl.String,
    "borrower_id": pl.String,
    "loan_id": pl.String,
    "loan_ids": pl.List(pl.String),  # every loan the action is about, loan_id included
    "action": pl.String,  # INTERFACE.md actions, plus legal_action and bureau_report
    "channel": pl.String,  # contact channel; null for agency_placement, legal_action, bureau_report
    "party": pl.String,  # "borrower" or a reference_id
    "start": UTC,  # planned_at, or window_start
    "end": UTC,  # planned_at again, or window_end
    "template_id": pl.String,
    "language": pl.String,
    "offer_amount": pl.Int64,  # minor units of the loan's currency
    "offer_pay_by": pl.Date,
    "address": pl.String,  # the number or e-mail address to use; null: the party's own
    "recording_ref": pl.String,  # field visits: where the recording will be kept (CN)
})

BORROWERS = pl.Schema({
    "borrower_id": pl.String,
    "jurisdiction": pl.String,  # CN, GB, US-XX
    "zones": pl.List(pl.String),  # candidate IANA zones (policy.zones, resolved at import)
    "phone": pl.String,
    "email": pl.String,
    "work_phone": pl.String,
    "email_is_employer_provided": pl.Boolean,
})

REFERENCES = pl.Schema({
    "reference_id": pl.String,
    "borrower_id": pl.String,
    "relation": pl.String,
    "source": pl.String,
    "consented_on": pl.Date,
    "phone": pl.String,
    "zones": pl.List(pl.String),
})

CONTACTS = pl.Schema({
    "event_id": pl.String,
    "borrower_id": pl.String,
    "loan_ids": pl.List(pl.String),  # empty: about every loan of the borrower
    "channel": pl.String,
    "direction": pl.String,
    "at": UTC,
    "party": pl.String,
    "address": pl.String,
    "outcome": pl.String,
})

FLAGS = pl.Schema({
    "borrower_id": pl.String,
    "loan_id": pl.String,  # null: every loan of the borrower
    "flag": pl.String,  # INTERFACE.md flags and book.outcomes.EXTENSION_FLAGS, plus contact_hold
    "value": pl.String,
    "start_on": pl.Date,
    "end_on": pl.Date,  # the first day without it; null: in force
    "written": pl.Boolean,
})

LOANS = pl.Schema({
    "loan_id": pl.String,
    "borrower_id": pl.String,
    "currency": pl.String,
    "receivable": pl.Int64,  # what may lawfully be collected today (payoff; capped amounts excluded)
    "time_barred_on": pl.Date,
})


@dataclass(frozen=True)
class World:
    borrowers: pl.DataFrame
    references: pl.DataFrame
    contacts: pl.DataFrame
    flags: pl.DataFrame
    loans: pl.DataFrame

    @staticmethod
    def empty() -> World:
        return World(*(pl.DataFrame(schema=s) for s in (BORROWERS, REFERENCES, CONTACTS, FLAGS, LOANS)))

    def conformed(self) -> World:
        """The same frames with exactly the schema columns, in order and type."""
        return World(
            *(f.select(pl.col(c).cast(t) for c, t in s.items())
              for f, s in ((self.borrowers, BORROWERS), (self.references, REFERENCES),
                           (self.contacts, CONTACTS), (self.flags, FLAGS), (self.loans, LOANS)))
        )


def actions_frame(rows: list[dict] | pl.DataFrame) -> pl.DataFrame:
    """Proposed actions with every ``ACTIONS`` column (missing optional ones are null)."""
    if not isinstance(rows, pl.DataFrame):
        rows = pl.DataFrame([{c: r.get(c) for c in ACTIONS} for r in rows], schema=ACTIONS)
    frame = rows
    frame = frame.with_columns(pl.lit(None).cast(t).alias(c) for c, t in ACTIONS.items() if c not in frame.columns)
    frame = frame.with_columns(
        pl.when(pl.col("end").is_null()).then(pl.col("start")).otherwise(pl.col("end")).alias("end"),
        pl.when(pl.col("loan_ids").is_null() | (pl.col("loan_ids").list.len() == 0))
        .then(pl.concat_list(pl.col("loan_id"))).otherwise(pl.col("loan_ids")).alias("loan_ids"),
    )
    return frame.select(pl.col(c).cast(t) for c, t in ACTIONS.items())
