"""Facts from the contact history, and from the earlier allowed actions of the same batch.

Counting follows INTERFACE.md's outcome table (``book.outcomes.with_call_counts``): unanswered calls
are placed calls, calls that never connect are not, inbound calls are conversations but never placed
calls. A contact counts for an action only if its ``at`` is earlier than the action's instant
(events of the same business date included). Day-based windows use the borrower's local calendar
day in each candidate zone, and the zone giving the highest count decides.

Windows, with ``dd`` = action's local day - contact's local day:
- "per local day": ``dd == 0``; "in 7 days": ``0 <= dd <= 6``; "in 30 days": ``0 <= dd <= 29``.
- "days since" facts are the smallest ``dd`` (a conversation on day ``c`` blocks calls while
  ``dd < 7``: the conversation day is day 1, so the first call allowed is on day 8).

Earlier actions of a batch are counted as contacts that happened: a planned call as a placed and
connected call (so a fourth CN call to a debtor is blocked by the three before it), but not as a
conversation (nobody knows yet whether it will be one).
"""

from __future__ import annotations

import polars as pl

from arrears.book.outcomes import with_call_counts
from arrears.policy.check.prepare import by_zone
from arrears.policy.check.vocab import FAMILY, NOT_MADE, REACHED, REFUSALS

COUNTS = ("sms_day", "sms_7d", "email_day", "placed_7d", "connected_day", "conversations_day",
          "ma_personal_7d", "ma_other_30d", "visits_30d", "contacts_7d", "contacts_30d",
          "party_contacts", "replies_since_optout")
SINCE = ("days_since_conversation", "days_since_reached", "days_since_first_attempt",
         "days_since_first_contact", "days_since_pre_furnishing")
FLAGS = ("party_refused", "inbound_after_optout")

_EVENT_COLUMNS = ("ev_at", "ev_channel", "ev_family", "ev_direction", "ev_party", "ev_address",
                  "ev_loan_ids", "ev_outcome", "placed_call", "connected", "conversation", "made")


def history_events(contacts: pl.DataFrame) -> pl.DataFrame:
    """The stored contacts as event rows the counts read."""
    return (
        with_call_counts(contacts)
        .select(
            "borrower_id",
            pl.col("at").alias("ev_at"),
            pl.col("channel").alias("ev_channel"),
            pl.col("channel").replace_strict(FAMILY, default=None, return_dtype=pl.String).alias("ev_family"),
            pl.col("direction").alias("ev_direction"),
            pl.col("party").alias("ev_party"),
            pl.col("address").alias("ev_address"),
            pl.col("loan_ids").alias("ev_loan_ids"),
            pl.col("outcome").alias("ev_outcome"),
            "placed_call", "connected", "conversation",
            ((pl.col("direction") == "outbound") & ~pl.col("outcome").is_in(NOT_MADE)).alias("made"),
        )
    )


def planned_events(prepared: pl.DataFrame) -> pl.DataFrame:
    """The batch's contact actions as event rows (``j`` = their ``seq``)."""
    phone = pl.col("family") == "phone"
    return prepared.filter(pl.col("family").is_not_null()).select(
        "borrower_id",
        pl.col("seq").alias("j"),
        pl.col("start").alias("ev_at"),
        pl.col("channel").alias("ev_channel"),
        pl.col("family").alias("ev_family"),
        pl.lit("outbound").alias("ev_direction"),
        pl.col("party").alias("ev_party"),
        pl.col("address_used").alias("ev_address"),
        pl.col("loan_ids").alias("ev_loan_ids"),
        pl.lit(None, pl.String).alias("ev_outcome"),
        phone.alias("placed_call"),
        phone.alias("connected"),
        pl.lit(False).alias("conversation"),
        pl.lit(True).alias("made"),
    )


def _pair_columns() -> list[pl.Expr]:
    """Per (action, contact) pair: what the contact contributes to each fact, as plain columns.

    Computed over the whole pairs frame at once, so that the group-by that follows only sums,
    takes minima and maxima of columns (Polars' fast path), never filters inside a group."""
    dd = (pl.col("d") - pl.col("ev_day")).dt.total_days()
    out = pl.col("ev_direction") == "outbound"
    same_person = pl.col("ev_party") == pl.col("party")
    debtor = pl.col("ev_party") == "borrower"
    about_loan = (pl.col("ev_loan_ids").list.len() == 0) | pl.col("ev_loan_ids").list.contains(pl.col("loan_id"))
    fam = pl.col("ev_family")
    text_out = out & (fam == "text")
    day0, week, month = dd == 0, dd <= 6, dd <= 29  # every event here is before the action: dd >= 0
    work = (pl.col("ev_address") == pl.col("work_phone")).fill_null(False)
    call_or_text = pl.col("placed_call") | text_out
    same_closed = (fam == pl.col("family")) & (
        pl.col("optout_on").is_not_null() & (pl.col("ev_day") >= pl.col("optout_on"))
    ) & (pl.col("ev_address").eq_missing(pl.col("address_used")) | pl.col("ev_address").is_null())
    reached = pl.col("ev_outcome").is_in(REACHED) & debtor

    def flag(cond: pl.Expr, name: str) -> pl.Expr:
        return cond.fill_null(False).cast(pl.Int32).alias(name)

    def days(cond: pl.Expr, name: str) -> pl.Expr:
        return pl.when(cond.fill_null(False)).then(dd).alias(name)

    return [
        flag(text_out & same_person & day0, "sms_day"),
        flag(text_out & same_person & week, "sms_7d"),
        flag(out & (fam == "email") & same_person & day0, "email_day"),
        flag(pl.col("placed_call") & same_person & about_loan & week, "placed_7d"),
        flag(pl.col("connected") & debtor & day0, "connected_day"),
        flag(pl.col("conversation") & debtor & day0, "conversations_day"),
        flag(call_or_text & same_person & about_loan & week & ~work, "ma_personal_7d"),
        flag(call_or_text & same_person & about_loan & month & work, "ma_other_30d"),
        flag(pl.col("made") & (fam == "visit") & month, "visits_30d"),
        flag(pl.col("made") & (fam != "letter") & same_person & week, "contacts_7d"),
        flag(pl.col("made") & (fam != "letter") & same_person & month, "contacts_30d"),
        flag(pl.col("made") & same_person, "party_contacts"),
        flag(out & same_closed, "replies_since_optout"),
        days(pl.col("conversation") & same_person & about_loan, "days_since_conversation"),
        days(reached, "days_since_reached"),
        days(out & debtor, "_attempt"),
        days(out & debtor, "days_since_first_contact"),
        # US-PASSIVE: the oldest letter, e-mail or text to the debtor that did not come back.
        days(debtor & out & fam.is_in(["letter", "email", "text"]) & pl.col("ev_outcome").ne_missing("undeliverable"),
             "days_since_pre_furnishing"),
        flag(same_person & pl.col("ev_outcome").is_in(REFUSALS), "party_refused"),
        flag((pl.col("ev_direction") == "inbound") & same_closed & ~pl.col("ev_outcome").is_in(["opt_out", "cease_request"]),
             "inbound_after_optout"),
    ]


def _aggregations() -> list[pl.Expr]:
    """Plain column aggregations only (Polars' fast group-by path)."""
    return [
        *[pl.col(c).sum() for c in COUNTS],
        pl.col("days_since_conversation").min(),
        pl.col("days_since_reached").min(),
        pl.col("days_since_first_contact").max(),
        pl.col("days_since_pre_furnishing").max(),
        pl.col("party_refused").max().cast(pl.Boolean),
        pl.col("inbound_after_optout").max().cast(pl.Boolean),
    ]


def _aggregate(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.with_columns(_pair_columns()).group_by("zrow").agg(_aggregations())


def _first_attempt(pairs: pl.DataFrame) -> pl.DataFrame:
    """CN-3P's "unreachable": the oldest attempt on the debtor since they were last reached. Only
    actions towards somebody other than the borrower need it."""
    p = pairs.filter(pl.col("party") != "borrower").with_columns(_pair_columns())
    return p.with_columns(pl.col("days_since_reached").min().over("zrow").alias("_last")).group_by("zrow").agg(
        pl.when(~(pl.col("_attempt") >= pl.col("_last")).fill_null(False)).then(pl.col("_attempt")).max()
        .alias("days_since_first_attempt"))


# The action's side of a pair; ``zrow`` numbers the (action, zone) rows.
_ACTION_SIDE = ("zrow", "idx", "seq", "zone", "d", "borrower_id", "party", "loan_id", "address_used", "family",
                "work_phone", "optout_on", "start")


def _zoned_events(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Each event once per candidate zone of its borrower's actions, with its local day there."""
    zones = zoned.select("borrower_id", "zone").unique()
    return by_zone(events.join(zones, on="borrower_id", how="inner"), "ev_at", "ev_day")


def history_facts(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per (action, zone) row (``zrow``): every count and "days since" fact from the stored contacts."""
    pairs = (
        zoned.select(_ACTION_SIDE).join(_zoned_events(zoned, events), on=["borrower_id", "zone"], how="inner")
        .filter(pl.col("ev_at") < pl.col("start"))
    )
    return _aggregate(pairs).join(_first_attempt(pairs), on="zrow", how="left")


def batch_pairs(zoned: pl.DataFrame, planned: pl.DataFrame) -> pl.DataFrame:
    """(action i, zone, earlier action j) pairs of one borrower, with j's event columns."""
    return (
        zoned.select(_ACTION_SIDE).join(_zoned_events(zoned, planned), on=["borrower_id", "zone"], how="inner")
        .filter(pl.col("j") < pl.col("seq"))
    )


def batch_counts(pairs: pl.DataFrame) -> pl.DataFrame:
    """Per (action, zone) row: the counts the earlier actions in ``pairs`` contribute."""
    return _aggregate(pairs).select("zrow", *COUNTS)


def combine(hist: pl.DataFrame, batch: pl.DataFrame | None, zoned: pl.DataFrame) -> pl.DataFrame:
    """Per action: counts summed over history and batch per zone, then the strictest zone (the
    highest count, the fewest days since)."""
    base = zoned.select("zrow", "idx").join(hist, on="zrow", how="left")
    if batch is not None and not batch.is_empty():
        base = base.join(batch, on="zrow", how="left", suffix="_b").with_columns(
            (pl.col(c).fill_null(0) + pl.col(f"{c}_b").fill_null(0)).alias(c) for c in COUNTS
        ).drop(f"{c}_b" for c in COUNTS)
    return base.group_by("idx").agg(
        *[pl.col(c).fill_null(0).max().cast(pl.Int64) for c in COUNTS],
        *[pl.col(c).min() for c in SINCE],
        *[pl.col(c).fill_null(False).any() for c in FLAGS],
    )
