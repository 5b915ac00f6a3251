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
of ``ev_kinds``), and so is whether it used the borrower's work number, so that each pair only
compares what depends on both sides: the days between them, the person, the loan and (for the
actions with an opt-out only) the family and address. ``_FACTS`` says what each fact is made of,
once: Polars' per-pair expressions (``_pair_columns``) and the bit tables (``_fact_tables``) are
both built from it. A pair carries its kinds, days and term bits (9 bytes); NumPy turns them into
the bits of the facts it gives (two table lookups) and sums them, and takes their minima and
maxima, per ``zrow``.
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
        # Whose the event was, for the pairs of the actions towards the borrower (``_term_pairs``).
        kind(debtor, "e_debtor"),
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
    column instead of one boolean per kind (0.08 s against 0.14 s for 600,000 contacts)."""
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


# Each fact of a pair: the event's kind (``e_*``), what else must hold between the event and the
# action (``_terms``), the window in days (``dd`` at most this; None: any earlier event) and how the
# pairs are summed per (action, zone) row: a count, the fewest or the most days since, any.
_FACTS: tuple[tuple[str, str, tuple[str, ...], int | None, str], ...] = (
    ("sms_day", "e_text_out", ("same_person",), 0, "count"),
    ("sms_7d", "e_text_out", ("same_person",), 6, "count"),
    ("email_day", "e_email_out", ("same_person",), 0, "count"),
    ("placed_7d", "e_placed", ("same_person", "about_loan"), 6, "count"),
    ("connected_day", "e_connected_debtor", (), 0, "count"),
    ("conversations_day", "e_conversation_debtor", (), 0, "count"),
    ("ma_personal_7d", "e_call_or_text", ("same_person", "about_loan", "not_at_work"), 6, "count"),
    ("ma_other_30d", "e_call_or_text", ("same_person", "about_loan", "at_work"), 29, "count"),
    ("visits_30d", "e_visit", (), 29, "count"),
    ("contacts_7d", "e_contact", ("same_person",), 6, "count"),
    ("contacts_30d", "e_contact", ("same_person",), 29, "count"),
    ("party_contacts", "e_made", ("same_person",), None, "count"),
    ("replies_since_optout", "e_out", ("same_closed",), None, "count"),
    ("days_since_conversation", "e_conversation", ("same_person", "about_loan"), None, "min"),
    ("days_since_reached", "e_reached", (), None, "min"),
    ("_attempt", "e_attempt", (), None, "max"),
    ("days_since_first_contact", "e_attempt", (), None, "max"),
    ("days_since_pre_furnishing", "e_pre_furnishing", (), None, "max"),
    ("party_refused", "e_refusal", ("same_person",), None, "any"),
    ("inbound_after_optout", "e_inbound_reply", ("same_closed",), None, "any"),
    # "Stop calling" said on the closed family: a cease of that family (FIELD-NOTES §4, US-CEASE's
    # platform policy), which earns no reply, unlike a STOP written to an address.
    ("oral_stop_since_optout", "e_oral_stop", ("same_closed",), None, "any"),
)

# The terms a fact may need besides the event's kind, as the bits of a pair's ``terms`` column
# (``not_at_work`` is the absence of ``at_work``'s bit).
_TERM_BITS = {"same_person": 1, "about_loan": 2, "at_work": 4, "same_closed": 8}


def _terms(loan_lists: bool, action_lists: bool, work_on_event: bool, debtor: bool = False) -> dict[str, pl.Expr]:
    """Per (action, contact) pair, what depends on both sides besides the days, never null: every
    fact is a conjunction that ends in ``fill_null(False)``, so a null term may be read as False.
    Whether the event used the borrower's work number is the event's own ``ev_at_work`` (the work
    number is the borrower's, one per ``bz``: ``_zoned_events``), else compared per pair. For
    pairs whose action is towards the borrower (``debtor``), the same person is the event's own
    ``e_debtor``, not a comparison of two strings."""
    same_closed = (pl.col("ev_family") == pl.col("family")) & (
        pl.col("optout_on").is_not_null() & (pl.col("ev_day") >= pl.col("optout_on"))
    ) & (pl.col("ev_address").eq_missing(pl.col("address_used")) | pl.col("ev_address").is_null())
    return {
        "same_person": _kind("e_debtor") if debtor else (pl.col("ev_party") == pl.col("party")).fill_null(False),
        "about_loan": _about_loan(loan_lists, action_lists).fill_null(False),
        "at_work": pl.col("ev_at_work") if work_on_event
        else (pl.col("ev_address") == pl.col("work_phone")).fill_null(False),
        "same_closed": same_closed.fill_null(False),
    }


def _days_between() -> pl.Expr:
    return (pl.col("d") - pl.col("ev_day")).dt.total_days()


def _pair_columns(loan_lists: bool, only: tuple[str, ...] | None = None, action_lists: bool = False,
                  work_on_event: bool = True) -> list[pl.Expr]:
    """Per (action, contact) pair: what the contact contributes to each fact (``_FACTS``), as plain
    columns: 0/1 for a count or a flag, the days between them or null for a "days since"."""
    dd = _days_between()
    terms = _terms(loan_lists, action_lists, work_on_event)
    terms["not_at_work"] = ~terms["at_work"]
    columns = []
    for name, kind, needs, window, how in _FACTS:
        if only is not None and name not in only:
            continue
        cond = _kind(kind)
        for t in needs:
            cond = cond & terms[t]
        if window is not None:
            cond = cond & (dd <= window)  # every event here is before the action: dd >= 0
        cond = cond.fill_null(False)
        columns.append(pl.when(cond).then(dd).alias(name) if how in ("min", "max") else cond.cast(pl.Int32).alias(name))
    return columns


def _pair_terms(loan_lists: bool, action_lists: bool, work_on_event: bool, closed: bool,
                debtor: bool = False) -> list[pl.Expr]:
    """Per pair, only what its facts are made of: ``ev_kinds``, the days ``dd``, and ``tw``: the
    ``_TERM_BITS`` and the window the days fall in (``_window_class``) in one byte. ``_per_row``
    takes the facts from them. ``same_closed`` (string comparisons) is only worked out for
    ``closed`` pairs (actions with an opt-out: for the others it is False); ``debtor``: ``_terms``."""
    terms = _terms(loan_lists, action_lists, work_on_event, debtor)
    if not closed:
        terms.pop("same_closed")
    dd = _days_between().cast(pl.Int32)
    # No days (an instant missing): only the facts without a window, as a null ``dd`` does there.
    window = ((dd > 0).cast(pl.UInt8) + (dd > 6).cast(pl.UInt8) + (dd > 29).cast(pl.UInt8)).fill_null(3)
    return [
        pl.col("ev_kinds"),
        dd.alias("dd"),
        pl.sum_horizontal(window * 16, *[terms[t].cast(pl.UInt8) * _TERM_BITS[t] for t in terms]).cast(pl.UInt8)
        .alias("tw"),
    ]


# The windows a pair's days fall in (``tw``'s high bits): the same day, 1-6 days, 7-29, 30 or more.
_WINDOW_CLASS = {0: 0, 6: 1, 29: 2, None: 3}


def _fact_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_ROW_FACTS`` as bit masks (bit i: the i-th fact): which facts an event's kinds may give
    (two tables, the kinds' low 9 bits and the rest), and which facts a pair's ``tw`` allows (its
    terms and window). A pair gives fact i iff bit i is set in both."""
    low = np.zeros(1 << 9, np.uint32)
    high = np.zeros(1 << max(len(_KINDS) - 9, 0), np.uint32)
    tw = np.zeros(1 << 6, np.uint32)
    for i, (_, kind, needs, window, _how) in enumerate(_ROW_FACTS):
        k = _KINDS.index(kind)
        table, bit = (low, k) if k < 9 else (high, k - 9)
        table[(np.arange(table.size) & (1 << bit)) != 0] |= np.uint32(1 << i)
        for v in range(tw.size):
            terms, cls = v & 15, v >> 4
            held = {t: bool(terms & b) for t, b in _TERM_BITS.items()}
            held["not_at_work"] = not held["at_work"]
            if all(held[t] for t in needs) and cls <= _WINDOW_CLASS[window]:
                tw[v] |= np.uint32(1 << i)
    return low, high, tw


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
    zones, work_on_event = _borrower_zones(zoned)
    keep = ["ev_at", "ev_family", "ev_party", "ev_address", *(["ev_loan_ids"] if loan_lists else []), "ev_loan",
            "ev_kinds", *(["j"] if "j" in events.columns else [])]
    # Only the columns the pairs read go through the join (it copies every column it carries).
    narrow = events.with_columns(_event_kinds()).with_columns(_packed_kinds()).select("borrower_id", *keep)
    zoned_events = by_zone(_on_borrower(narrow, zones), "ev_at", "ev_day")
    # Compared once per zoned event, not once per pair.
    at_work = (pl.col("ev_address") == pl.col("work_phone")).fill_null(False).alias("ev_at_work")
    return zoned_events.select("bz", "ev_day", *keep, *([at_work] if work_on_event else [])), loan_lists


def _borrower_zones(zoned: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Each ``bz`` once with its borrower, zone and work number; and whether the work number is
    one per ``bz`` (were it not, the pairs compare it themselves (``_terms``), and the events are
    not copied once per number: the rows are then each (borrower, zone) once, without it)."""
    zones = zoned.select("borrower_id", "zone", "bz", "work_phone")
    # The work number is the borrower's (``prepare``): one per run of a borrower's rows (``bz``
    # numbers the runs), so one per ``bz``, and the rows made unique on that integer alone (0.02 s
    # against 0.18 s on the four columns, two strings, at 1,000,000 actions).
    run = pl.col("borrower_id").rle_id()
    if not zones.select(((run == run.shift(1)) & pl.col("work_phone").ne_missing(pl.col("work_phone").shift(1)))
                        .any()).item():
        return zones.unique(subset="bz"), True
    zones = zones.unique()
    if zones["bz"].n_unique() == zones.height:
        return zones, True
    return zones.select("borrower_id", "zone", "bz").unique(), False


def _on_borrower(events: pl.DataFrame, zones: pl.DataFrame, key: pl.Expr | None = None) -> pl.DataFrame:
    """``events`` joined (inner) to ``zones`` on ``borrower_id``: on a 64-bit hash of the id, the
    ids then compared, so that a collision pairs nothing (an integer join of 2,600,000 events:
    0.16 s against 0.49 s on the strings). ``key`` replaces the hash (the tests collide it)."""
    key = (pl.col("borrower_id").hash() if key is None else key).alias("_key")
    out = events.with_columns(key).join(
        zones.with_columns(key).rename({"borrower_id": "_zone_borrower"}), on="_key", how="inner")
    # Null ids pair nothing (as in a join on the ids).
    same = (out["borrower_id"] == out["_zone_borrower"]).fill_null(False)
    # A collision is rare: filtering copies every column, so only then.
    return (out if same.all() else out.filter(same)).drop("_key", "_zone_borrower")


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
    # Both instants known here, so ``dd`` is never null.
    pairs = _term_pairs(side, ev, before, loan_lists, action_lists, ("zrow",))
    facts = _per_row(pairs, zoned.height)
    # The few actions towards a third party get their own, small join: the second pass
    # ``_first_attempt`` needs is not made over every pair (0.08 s against 0.01 s at 200,000 actions).
    third = side.lazy().filter(pl.col("party") != "borrower").join(ev.lazy(), on="bz", how="inner").filter(before)
    first = _first_attempt(third, loan_lists).collect()
    # Put in place in ``facts`` (``zrow`` 0..n-1), not joined: the rows stay in ``zrow`` order, which
    # ``combine`` then takes as they are (0.15 s of a join and a gather at 1,000,000 actions).
    return facts.with_columns(
        pl.repeat(None, facts.height, dtype=pl.Int64, eager=True)
        .scatter(first["zrow"], first["days_since_first_attempt"]).alias("days_since_first_attempt"))


# What ``history_facts`` returns per ``zrow`` (``_attempt`` is ``_first_attempt``'s own).
_ROW_FACTS = tuple(f for f in _FACTS if f[0] != "_attempt")
_FACT_TABLES = _fact_tables()
_ROW_NAMES = [f[0] for f in _ROW_FACTS]
_COUNT_BITS = np.uint32(sum(1 << _ROW_NAMES.index(c) for c in COUNTS))


def _term_pairs(side: pl.DataFrame, ev: pl.DataFrame, keep: pl.Expr, loan_lists: bool, action_lists: bool,
                names: tuple[str, ...]) -> pl.DataFrame:
    """The (action, zone, event) pairs of one ``bz`` that satisfy ``keep``: ``names`` and
    ``_pair_terms``. The actions with an opt-out are paired apart, the only ones whose pairs
    compare the family and the address for ``same_closed``; so are the others towards the
    borrower (most), whose pairs read the person from the event (0.42 against 0.54 CPU-s for the
    pairs of 1,000,000 actions)."""
    work_on_event = "ev_at_work" in ev.columns
    closed = side["optout_on"].is_not_null()
    debtor = (side["party"] == "borrower").fill_null(False)
    parts = [
        part.lazy().join(ev.lazy(), on="bz", how="inner").filter(keep)
        .select(*names, *_pair_terms(loan_lists, action_lists, work_on_event, closed=with_closed, debtor=to_debtor))
        for part, with_closed, to_debtor in ((side.filter(~closed & debtor), False, True),
                                             (side.filter(~closed & ~debtor), False, False),
                                             (side.filter(closed), True, False))
        if part.height
    ]
    if not parts:
        return pl.DataFrame(schema={**{c: side.schema.get(c, ev.schema.get(c)) for c in names},
                                    "ev_kinds": pl.UInt32, "dd": pl.Int32, "tw": pl.UInt8})
    return pl.concat(parts).collect()


def _fact_bits(pairs: pl.DataFrame) -> np.ndarray:
    """Per pair, the facts (``_ROW_FACTS``) it gives, as the bits of one integer."""
    low, high, tw = _FACT_TABLES
    kinds = pairs["ev_kinds"].to_numpy()
    return (low[kinds & 511] | high[kinds >> 9]) & tw[pairs["tw"].to_numpy()]


def _per_row(pairs: pl.DataFrame, n: int) -> pl.DataFrame:
    """The pairs' facts (``_ROW_FACTS``) per ``zrow`` 0..n-1, in NumPy: each pair's facts as the
    bits of one integer (``_fact_tables``), then a count is a ``bincount`` of the pairs with its
    bit, a "days since" the fewest or most days among them, a flag whether there is one. Polars'
    group-by with 21 aggregations, and the 21 pair columns it read, cost about twice as much."""
    zrow = pairs["zrow"].to_numpy()
    dd = pairs["dd"].to_numpy()
    bits = _fact_bits(pairs)
    cols: dict[str, pl.Series] = {"zrow": pl.Series("zrow", np.arange(n, dtype=np.uint32))}
    for i, (name, _kind, _needs, _window, how) in enumerate(_ROW_FACTS):
        m = (bits & np.uint32(1 << i)) != 0
        rows = zrow[m]
        if how == "count":
            cols[name] = pl.Series(name, np.bincount(rows, minlength=n).astype(np.int32))
        elif how == "any":
            out = np.zeros(n, bool)
            out[rows] = True
            cols[name] = pl.Series(name, out)
        else:
            # The same dtype as ``dd``'s: ``ufunc.at`` then takes its fast path (30 times faster).
            out = np.full(n, _NONE_MIN if how == "min" else -1, dd.dtype)
            (np.minimum if how == "min" else np.maximum).at(out, rows, dd[m])
            cols[name] = pl.Series(name, out.astype(np.int64))
    order = ["zrow", *COUNTS, *_MINIMA, *_MAXIMA, *FLAGS]
    return pl.DataFrame([cols[c] for c in order]).with_columns(
        *[pl.when(pl.col(c) != _NONE_MIN).then(pl.col(c)).alias(c) for c in _MINIMA],
        *[pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in _MAXIMA],
    )


# "No such event" while the minima and maxima of the days are taken (a day count is never negative,
# and never near a million days).
_NONE_MIN = 1 << 30
_MINIMA = ("days_since_conversation", "days_since_reached")
_MAXIMA = ("days_since_first_contact", "days_since_pre_furnishing")


def batch_counts(zoned: pl.DataFrame, planned: pl.DataFrame) -> pl.DataFrame:
    """Per pair (action ``zrow``, earlier action ``j`` of its borrower): the counts ``j`` adds if it
    is allowed. Pairs that add nothing are left out."""
    side, ev, loan_lists, action_lists = _sides(zoned, planned)
    pairs = _term_pairs(side, ev, pl.col("j") < pl.col("seq"), loan_lists, action_lists, ("zrow", "j"))
    bits = _fact_bits(pairs) & _COUNT_BITS
    adds = bits != 0
    bits = bits[adds]
    return pl.DataFrame([
        pairs["zrow"].filter(adds), pairs["j"].filter(adds),
        *[pl.Series(c, ((bits >> np.uint32(_ROW_NAMES.index(c))) & 1).astype(np.int32)) for c in COUNTS],
    ])


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
        if hist["zrow"].equals(zoned["zrow"]):
            return hist.select(zoned["idx"], *facts)
        where = np.empty(n, np.int64)
        where[hist["zrow"].to_numpy()] = np.arange(n)
        rows = hist[where[zoned["zrow"].to_numpy()]]
        return rows.select(zoned["idx"], *facts)
    return zoned.select("zrow", "idx").join(hist, on="zrow", how="left").group_by("idx").agg(
        *[pl.col(c).fill_null(0).max().cast(pl.Int64) for c in COUNTS],
        *[pl.col(c).min() for c in SINCE],
        *[pl.col(c).fill_null(False).any() for c in FLAGS],
    )
