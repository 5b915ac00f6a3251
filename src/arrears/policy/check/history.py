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


def _aggregations() -> list[pl.Expr]:
    dd = (pl.col("d") - pl.col("ev_day")).dt.total_days()
    out = pl.col("ev_direction") == "outbound"
    same_person = pl.col("ev_party") == pl.col("party")
    debtor = pl.col("ev_party") == "borrower"
    about_loan = (pl.col("ev_loan_ids").list.len() == 0) | pl.col("ev_loan_ids").list.contains(pl.col("loan_id"))
    fam = pl.col("ev_family")
    text_out = out & (fam == "text")
    day0, week, month = dd == 0, dd <= 6, dd <= 29  # every event here is before the action: dd >= 0
    work = pl.col("ev_address") == pl.col("work_phone")
    call_or_text = pl.col("placed_call") | text_out
    same_closed = (fam == pl.col("family")) & (
        pl.col("optout_on").is_not_null() & (pl.col("ev_day") >= pl.col("optout_on"))
    ) & (pl.col("ev_address").eq_missing(pl.col("address_used")) | pl.col("ev_address").is_null())

    def count(cond: pl.Expr, name: str) -> pl.Expr:
        return cond.fill_null(False).sum().alias(name)

    return [
        count(text_out & same_person & day0, "sms_day"),
        count(text_out & same_person & week, "sms_7d"),
        count(out & (fam == "email") & same_person & day0, "email_day"),
        count(pl.col("placed_call") & same_person & about_loan & week, "placed_7d"),
        count(pl.col("connected") & debtor & day0, "connected_day"),
        count(pl.col("conversation") & debtor & day0, "conversations_day"),
        count(call_or_text & same_person & about_loan & week & ~work.fill_null(False), "ma_personal_7d"),
        count(call_or_text & same_person & about_loan & month & work, "ma_other_30d"),
        count(pl.col("made") & (fam == "visit") & month, "visits_30d"),
        count(pl.col("made") & (fam != "letter") & same_person & week, "contacts_7d"),
        count(pl.col("made") & (fam != "letter") & same_person & month, "contacts_30d"),
        count(pl.col("made") & same_person, "party_contacts"),
        count(out & same_closed, "replies_since_optout"),
        dd.filter(pl.col("conversation") & same_person & about_loan).min().alias("days_since_conversation"),
        dd.filter(pl.col("ev_outcome").is_in(REACHED) & debtor).min().alias("days_since_reached"),
        # CN-3P's "unreachable": the oldest attempt on the debtor since they were last reached.
        dd.filter(out & debtor & ~(dd >= dd.filter(pl.col("ev_outcome").is_in(REACHED) & debtor).min()).fill_null(False))
        .max().alias("days_since_first_attempt"),
        dd.filter(out & debtor).max().alias("days_since_first_contact"),
        # US-PASSIVE: the oldest letter, e-mail or text to the debtor that did not come back.
        dd.filter(debtor & out & fam.is_in(["letter", "email", "text"])
                  & pl.col("ev_outcome").ne_missing("undeliverable")).max().alias("days_since_pre_furnishing"),
        (same_person & pl.col("ev_outcome").is_in(REFUSALS)).fill_null(False).any().alias("party_refused"),
        ((pl.col("ev_direction") == "inbound") & same_closed & ~pl.col("ev_outcome").is_in(["opt_out", "cease_request"]))
        .fill_null(False).any().alias("inbound_after_optout"),
    ]


_ACTION_SIDE = ("idx", "seq", "zone", "d", "borrower_id", "party", "loan_id", "address_used", "family",
                "work_phone", "optout_on", "start")


def _per_zone(pairs: pl.DataFrame) -> pl.DataFrame:
    pairs = by_zone(pairs, "ev_at", "ev_day")
    return pairs.group_by("idx", "zone").agg(_aggregations())


def history_facts(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per (action, zone): every count and "days since" fact from the stored contacts."""
    pairs = (
        zoned.select(_ACTION_SIDE).join(events, on="borrower_id", how="inner")
        .filter(pl.col("ev_at") < pl.col("start"))
    )
    return _per_zone(pairs)


def batch_pairs(zoned: pl.DataFrame, planned: pl.DataFrame) -> pl.DataFrame:
    """(action i, zone, earlier action j) pairs of one borrower, with j's event columns."""
    return (
        zoned.select(_ACTION_SIDE).join(planned, on="borrower_id", how="inner")
        .filter(pl.col("j") < pl.col("seq"))
        .pipe(by_zone, "ev_at", "ev_day")
    )


def batch_counts(pairs: pl.DataFrame, allowed: pl.DataFrame) -> pl.DataFrame:
    """Per (action, zone): the counts contributed by the earlier actions that are ``allowed``
    (``allowed`` has ``seq`` and the boolean ``allow``)."""
    live = pairs.join(allowed.select(pl.col("seq").alias("j"), "allow"), on="j", how="inner").filter("allow")
    return live.group_by("idx", "zone").agg(_aggregations()).select("idx", "zone", *COUNTS)


def combine(hist: pl.DataFrame, batch: pl.DataFrame | None, zoned: pl.DataFrame) -> pl.DataFrame:
    """Per action: counts summed over history and batch per zone, then the strictest zone (the
    highest count, the fewest days since)."""
    base = zoned.select("idx", "zone").join(hist, on=["idx", "zone"], how="left")
    if batch is not None and not batch.is_empty():
        base = base.join(batch, on=["idx", "zone"], how="left", suffix="_b").with_columns(
            (pl.col(c).fill_null(0) + pl.col(f"{c}_b").fill_null(0)).alias(c) for c in COUNTS
        ).drop(f"{c}_b" for c in COUNTS)
    return base.group_by("idx").agg(
        *[pl.col(c).fill_null(0).max().cast(pl.Int64) for c in COUNTS],
        *[pl.col(c).min() for c in SINCE],
        *[pl.col(c).fill_null(False).any() for c in FLAGS],
    )
