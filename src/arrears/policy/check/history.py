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

How it is computed: each event is paired with every (action, zone) row of its borrower in that zone
(``bz``, an integer key per (borrower, zone) row set by the engine). What an event *is* (an outbound
text, a reach of the debtor, ...) is worked out once per event (``e_*`` kinds, packed as the bits
of ``ev_kinds``), so that each pair only compares what depends on both sides: the days between
them, the person, the loan, the address. The pairs' contributions are then summed, and their
minima and maxima taken, per ``zrow`` in NumPy.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from arrears.book.outcomes import with_call_counts
from arrears.policy.check.prepare import by_zone
from arrears.policy.check.vocab import FAMILY, NOT_MADE, REACHED, REFUSALS

COUNTS = ("sms_day", "sms_7d", "email_day", "placed_7d", "connected_day", "conversations_day",
          "ma_personal_7d", "ma_other_30d", "visits_30d", "contacts_7d", "contacts_30d",
          "party_contacts", "replies_since_optout")
SINCE = ("days_since_conversation", "days_since_reached", "days_since_first_attempt",
         "days_since_first_contact", "days_since_pre_furnishing")
FLAGS = ("party_refused", "inbound_after_optout", "oral_stop_since_optout")


def history_events(contacts: pl.DataFrame) -> pl.DataFrame:
    """The stored contacts as event rows the counts read."""
    # Lazily, so that only the columns read go through ``with_call_counts``' join (not ``event_id``).
    return (
        with_call_counts(contacts.lazy())
        .select(
            "borrower_id",
            pl.col("at").alias("ev_at"),
            pl.col("channel").replace_strict(FAMILY, default=None, return_dtype=pl.String).alias("ev_family"),
            pl.col("direction").alias("ev_direction"),
            pl.col("party").alias("ev_party"),
            pl.col("address").alias("ev_address"),
            pl.col("loan_ids").alias("ev_loan_ids"),
            pl.col("outcome").alias("ev_outcome"),
            "placed_call", "connected", "conversation",
            ((pl.col("direction") == "outbound") & ~pl.col("outcome").is_in(NOT_MADE)).alias("made"),
        )
        .collect(engine="in-memory")
    )


def planned_events(prepared: pl.DataFrame) -> pl.DataFrame:
    """The batch's contact actions as event rows (``j`` = their ``seq``)."""
    phone = pl.col("family") == "phone"
    # Lazily, so that the filter copies only the columns kept (``prepared`` may be wide).
    return prepared.lazy().filter(pl.col("family").is_not_null()).select(
        "borrower_id",
        pl.col("seq").alias("j"),
        pl.col("start").alias("ev_at"),
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
    ).collect()


def _event_kinds() -> list[pl.Expr]:
    """What each event is, on its own side of a pair (``e_*``, never null).

    Every pair fact is a conjunction that ends in ``fill_null(False)``, so a null here may be read
    as False before the pair is formed without changing any count."""
    out = pl.col("ev_direction") == "outbound"
    debtor = pl.col("ev_party") == "borrower"
    fam = pl.col("ev_family")
    text_out = out & (fam == "text")

    def kind(cond: pl.Expr, name: str) -> pl.Expr:
        return cond.fill_null(False).alias(name)

    return [
        kind(text_out, "e_text_out"),
        kind(out & (fam == "email"), "e_email_out"),
        kind(pl.col("placed_call"), "e_placed"),
        kind(pl.col("connected") & debtor, "e_connected_debtor"),
        kind(pl.col("conversation") & debtor, "e_conversation_debtor"),
        kind(pl.col("conversation"), "e_conversation"),
        kind(pl.col("placed_call").fill_null(False) | text_out.fill_null(False), "e_call_or_text"),
        kind(pl.col("made") & (fam == "visit"), "e_visit"),
        kind(pl.col("made") & (fam != "letter"), "e_contact"),
        kind(pl.col("made"), "e_made"),
        kind(out, "e_out"),
        kind(pl.col("ev_outcome").is_in(REACHED) & debtor, "e_reached"),
        kind(out & debtor, "e_attempt"),
        # US-PASSIVE: a letter, e-mail or text to the debtor that did not come back.
        kind(debtor & out & fam.is_in(["letter", "email", "text"]) & pl.col("ev_outcome").ne_missing("undeliverable"),
             "e_pre_furnishing"),
        kind(pl.col("ev_outcome").is_in(REFUSALS), "e_refusal"),
        kind((pl.col("ev_direction") == "inbound") & ~pl.col("ev_outcome").is_in(["opt_out", "cease_request"]),
             "e_inbound_reply"),
        kind(pl.col("ev_outcome") == "cease_request", "e_oral_stop"),
        kind(pl.col("ev_loan_ids").list.len() == 0, "e_all_loans"),
        pl.when(pl.col("ev_loan_ids").list.len() == 1).then(pl.col("ev_loan_ids").list.first()).alias("ev_loan"),
    ]


def _kind_names() -> list[str]:
    return [e.meta.output_name() for e in _event_kinds() if e.meta.output_name().startswith("e_")]


_KINDS = _kind_names()


def _packed_kinds() -> pl.Expr:
    """The ``e_*`` kinds as the bits of one integer: the joins that make the pairs copy one
    column instead of seventeen booleans (0.08 s against 0.14 s for 600,000 contacts)."""
    return pl.sum_horizontal(*[pl.col(k).cast(pl.UInt32) * (1 << i) for i, k in enumerate(_KINDS)]).alias("ev_kinds")


def _kind(name: str) -> pl.Expr:
    """Whether the pair's event is of kind ``name`` (``e_*``), from ``ev_kinds``."""
    return (pl.col("ev_kinds") & (1 << _KINDS.index(name))) != 0


def _about_loan(loan_lists: bool, action_lists: bool = False) -> pl.Expr:
    """The event is about one of the action's loans: it names no loan, or names one of them (a call
    about three loans is about each: a conversation about any of them counts against it). Events
    naming one loan compare a string; the lists are only carried into the pairs when some event or
    some action names several."""
    if not action_lists:
        one = _kind("e_all_loans") | (pl.col("ev_loan") == pl.col("loan_id"))
        return one | pl.col("ev_loan_ids").list.contains(pl.col("loan_id")) if loan_lists else one
    one = _kind("e_all_loans") | pl.col("loan_ids").list.contains(pl.col("ev_loan")).fill_null(False)
    if not loan_lists:
        return one
    return one | (pl.col("ev_loan_ids").list.set_intersection(pl.col("loan_ids")).list.len() > 0)


def _pair_columns(loan_lists: bool, only: tuple[str, ...] | None = None, action_lists: bool = False) -> list[pl.Expr]:
    """Per (action, contact) pair: what the contact contributes to each fact, as plain columns.

    Computed over the whole pairs frame at once, so that the group-by that follows only sums,
    takes minima and maxima of columns (Polars' fast path), never filters inside a group."""
    dd = (pl.col("d") - pl.col("ev_day")).dt.total_days()
    same_person = pl.col("ev_party") == pl.col("party")
    about_loan = _about_loan(loan_lists, action_lists)
    day0, week, month = dd == 0, dd <= 6, dd <= 29  # every event here is before the action: dd >= 0
    work = (pl.col("ev_address") == pl.col("work_phone")).fill_null(False)
    same_closed = (pl.col("ev_family") == pl.col("family")) & (
        pl.col("optout_on").is_not_null() & (pl.col("ev_day") >= pl.col("optout_on"))
    ) & (pl.col("ev_address").eq_missing(pl.col("address_used")) | pl.col("ev_address").is_null())
    e = _kind

    def flag(cond: pl.Expr, name: str) -> pl.Expr:
        return cond.fill_null(False).cast(pl.Int32).alias(name)

    def days(cond: pl.Expr, name: str) -> pl.Expr:
        return pl.when(cond.fill_null(False)).then(dd).alias(name)

    columns = [
        flag(e("e_text_out") & same_person & day0, "sms_day"),
        flag(e("e_text_out") & same_person & week, "sms_7d"),
        flag(e("e_email_out") & same_person & day0, "email_day"),
        flag(e("e_placed") & same_person & about_loan & week, "placed_7d"),
        flag(e("e_connected_debtor") & day0, "connected_day"),
        flag(e("e_conversation_debtor") & day0, "conversations_day"),
        flag(e("e_call_or_text") & same_person & about_loan & week & ~work, "ma_personal_7d"),
        flag(e("e_call_or_text") & same_person & about_loan & month & work, "ma_other_30d"),
        flag(e("e_visit") & month, "visits_30d"),
        flag(e("e_contact") & same_person & week, "contacts_7d"),
        flag(e("e_contact") & same_person & month, "contacts_30d"),
        flag(e("e_made") & same_person, "party_contacts"),
        flag(e("e_out") & same_closed, "replies_since_optout"),
        days(e("e_conversation") & same_person & about_loan, "days_since_conversation"),
        days(e("e_reached"), "days_since_reached"),
        days(e("e_attempt"), "_attempt"),
        days(e("e_attempt"), "days_since_first_contact"),
        days(e("e_pre_furnishing"), "days_since_pre_furnishing"),
        flag(same_person & e("e_refusal"), "party_refused"),
        flag(e("e_inbound_reply") & same_closed, "inbound_after_optout"),
        # "Stop calling" said on the closed family: a cease of that family (FIELD-NOTES §4, US-CEASE's
        # platform policy), which earns no reply, unlike a STOP written to an address.
        flag(e("e_oral_stop") & same_closed, "oral_stop_since_optout"),
    ]
    return columns if only is None else [c for c in columns if c.meta.output_name() in only]


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
        pl.col("oral_stop_since_optout").max().cast(pl.Boolean),
    ]


def _first_attempt(pairs: pl.LazyFrame, loan_lists: bool) -> pl.LazyFrame:
    """CN-3P's "unreachable": the oldest attempt on the debtor since they were last reached. Only
    actions towards somebody other than the borrower need it."""
    p = pairs.filter(pl.col("party") != "borrower").with_columns(
        _pair_columns(loan_lists, only=("days_since_reached", "_attempt")))
    return p.with_columns(pl.col("days_since_reached").min().over("zrow").alias("_last")).group_by("zrow").agg(
        pl.when(~(pl.col("_attempt") >= pl.col("_last")).fill_null(False)).then(pl.col("_attempt")).max()
        .alias("days_since_first_attempt"))


# The action's side of a pair; ``zrow`` numbers the (action, zone) rows, ``bz`` their (borrower, zone).
_ACTION_SIDE = ("zrow", "bz", "seq", "d", "party", "loan_id", "address_used", "family", "work_phone", "optout_on",
                "start")


def _zoned_events(zoned: pl.DataFrame, events: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Each event once per candidate zone of its borrower's actions (``bz``), with its local day
    there and its ``e_*`` kinds; and whether some event names several loans."""
    loan_lists = bool(events.height) and bool((events["ev_loan_ids"].list.len() > 1).any())
    zones = zoned.select("borrower_id", "zone", "bz").unique()
    keep = ["ev_at", "ev_family", "ev_party", "ev_address", *(["ev_loan_ids"] if loan_lists else []), "ev_loan",
            "ev_kinds", *(["j"] if "j" in events.columns else [])]
    # Only the columns the pairs read go through the join (it copies every column it carries).
    narrow = events.with_columns(_event_kinds()).with_columns(_packed_kinds()).select("borrower_id", *keep)
    zoned_events = by_zone(narrow.join(zones, on="borrower_id", how="inner"), "ev_at", "ev_day")
    return zoned_events.select("bz", "ev_day", *keep), loan_lists


def _sides(zoned: pl.DataFrame, events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, bool, bool]:
    """The two sides of the pairs, each keyed by ``bz``: the (action, zone) rows and the zoned
    events. Also whether some event, and whether some action, is about several loans (their lists
    then go into the pairs)."""
    ev, loan_lists = _zoned_events(zoned, events)
    action_lists = bool(zoned.height) and bool((zoned["loan_ids"].list.len() > 1).any())
    side = zoned.select(*_ACTION_SIDE, *(["loan_ids"] if action_lists else []))
    return side, ev, loan_lists, action_lists


def _pairs(zoned: pl.DataFrame, events: pl.DataFrame) -> tuple[pl.LazyFrame, bool, bool]:
    """(action, zone, event) pairs of one borrower and zone, lazily: Polars fuses the join, the
    pair columns and the group-by that read them. Also whether some event, and whether some
    action, is about several loans."""
    side, ev, loan_lists, action_lists = _sides(zoned, events)
    return side.lazy().join(ev.lazy(), on="bz", how="inner"), loan_lists, action_lists


def history_facts(zoned: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per (action, zone) row (``zrow``, every one of ``zoned``): every count and "days since"
    fact from the stored contacts (counts 0, "days since" null and flags False when none counts)."""
    side, ev, loan_lists, action_lists = _sides(zoned, events)
    before = pl.col("ev_at") < pl.col("start")
    pairs = (
        side.lazy().join(ev.lazy(), on="bz", how="inner").filter(before)
        .select("zrow", *_pair_columns(loan_lists, action_lists=action_lists))
        .with_columns(*[pl.col(c).fill_null(_NONE_MIN) for c in _MINIMA],
                      *[pl.col(c).fill_null(-1) for c in _MAXIMA])
        .collect()
    )
    facts = _per_row(pairs, zoned.height)
    # The few actions towards a third party get their own, small join: the second pass
    # ``_first_attempt`` needs is not made over every pair (0.08 s against 0.01 s at 200,000 actions).
    third = side.lazy().filter(pl.col("party") != "borrower").join(ev.lazy(), on="bz", how="inner").filter(before)
    return facts.lazy().join(_first_attempt(third, loan_lists), on="zrow", how="left").collect()


# "No such event" while the minima and maxima of the days are taken (a day count is never negative,
# and never near a million days).
_NONE_MIN = 1 << 30
_MINIMA = ("days_since_conversation", "days_since_reached")
_MAXIMA = ("days_since_first_contact", "days_since_pre_furnishing")


def _per_row(pairs: pl.DataFrame, n: int) -> pl.DataFrame:
    """The pairs' facts summed (counts), their minima and maxima (days) and any (flags) per
    ``zrow`` 0..n-1, in NumPy: ``bincount`` and ``minimum.at`` over millions of pairs cost a
    fraction of Polars' group-by with 21 aggregations (most of the history's CPU time)."""
    zrow = pairs["zrow"].to_numpy()
    cols: dict[str, pl.Series] = {"zrow": pl.Series("zrow", np.arange(n, dtype=np.uint32))}
    for c in COUNTS:
        cols[c] = pl.Series(c, np.bincount(zrow[pairs[c].to_numpy().astype(bool)], minlength=n).astype(np.int32))
    for c in _MINIMA:
        out = np.full(n, _NONE_MIN, np.int64)
        np.minimum.at(out, zrow, pairs[c].to_numpy())
        cols[c] = pl.Series(c, out)
    for c in _MAXIMA:
        out = np.full(n, -1, np.int64)
        np.maximum.at(out, zrow, pairs[c].to_numpy())
        cols[c] = pl.Series(c, out)
    for c in FLAGS:
        out = np.zeros(n, bool)
        out[zrow[pairs[c].to_numpy().astype(bool)]] = True
        cols[c] = pl.Series(c, out)
    return pl.DataFrame(list(cols.values())).with_columns(
        *[pl.when(pl.col(c) != _NONE_MIN).then(pl.col(c)).alias(c) for c in _MINIMA],
        *[pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in _MAXIMA],
    )


def batch_counts(zoned: pl.DataFrame, planned: pl.DataFrame) -> pl.DataFrame:
    """Per pair (action ``zrow``, earlier action ``j`` of its borrower): the counts ``j`` adds if it
    is allowed. Pairs that add nothing are left out."""
    pairs, loan_lists, action_lists = _pairs(zoned, planned)
    return (
        pairs.filter(pl.col("j") < pl.col("seq"))
        .select("zrow", "j", *_pair_columns(loan_lists, only=COUNTS, action_lists=action_lists))
        .filter(pl.any_horizontal(pl.col(c) > 0 for c in COUNTS))
        .collect()
    )


def combine(hist: pl.DataFrame, zoned: pl.DataFrame) -> pl.DataFrame:
    """Per action: the strictest zone of ``hist`` (per ``zrow``): the highest count, the fewest days
    since, any flag."""
    facts = [
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS],
        *[pl.col(c) for c in SINCE],
        *[pl.col(c).fill_null(False) for c in FLAGS],
    ]
    n = zoned.height
    if n and hist.height == n and zoned["idx"].n_unique() == n:
        # One zone per action (``hist`` holds every ``zrow`` once): its row is the action's, gathered
        # by position instead of a join and a group-by (0.01 s against 0.07 s at 200,000 actions).
        where = np.empty(n, np.int64)
        where[hist["zrow"].to_numpy()] = np.arange(n)
        rows = hist[where[zoned["zrow"].to_numpy()]]
        return rows.select(zoned["idx"], *facts)
    return zoned.select("zrow", "idx").join(hist, on="zrow", how="left").group_by("idx").agg(
        *[pl.col(c).fill_null(0).max().cast(pl.Int64) for c in COUNTS],
        *[pl.col(c).min() for c in SINCE],
        *[pl.col(c).fill_null(False).any() for c in FLAGS],
    )
