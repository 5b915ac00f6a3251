"""What a contact's outcome means to the rules: INTERFACE.md's outcome table, as data.

The compliance engine counts calls (US-FREQ: placed calls and telephone conversations per person
per debt; CN-FREQ: connected calls and effective conversations per day) and honours facts that
contacts establish (a dispute, a cease, an opt-out, an attorney, ...). Both come from here, so the
meaning of an outcome is written down once.

How the table is read (decisions; the compliance engine relies on them):

- ``placed_call``, ``connected`` and ``conversation`` describe *calls*. They are true only on a
  telephone channel (``agent_call``, ``robocall``); on sms, email, letter, field_visit and app_push
  all three are false. An inbound call is never a placed call (Reg F: "inbound calls are
  conversations but not placed calls"), but it is connected and a conversation as its outcome says.
- A cell "—" for a fact-setting outcome (dispute, cease_request, opt_out, call_consent, the stated
  preferences, attorney_represented, bankruptcy, deceased, vulnerable, breathing_space) is read as
  "as the channel": on a telephone channel somebody said it on the call, so the call counts as
  placed (outbound), connected and a conversation. This is the strict reading: counting such a call
  can only block more contact, never less. ``delivered`` and ``undeliverable`` describe message
  delivery and count as nothing.

Facts (flag rows, source ``contact``), with ``start_on`` the contact's local date (in the offset of
its ``at``):

- Each fact has a *scope*. Debt facts (``dispute``, ``cease``, ``attorney``, ``hardship``,
  ``call_consent``, ``tcpa_consent``) take the contact's loans: one flag per loan named in
  ``loan_id`` / ``loan_ids``, or one borrower-wide flag (loan_id null) when the contact names none.
  Person facts (``bankruptcy``, ``deceased``, ``vulnerable``, ``breathing_space``, ``opt_out``,
  ``undeliverable``, ``wrong_number``, ``no_calls_at_work``, ``preferred_hours``) are always
  borrower-wide: a person is dead, bankrupt or unreachable at an address for every loan at once,
  and a narrower flag would let collection of the other loans go on.
- Flag ids: ``contact:<event_id>`` for a borrower-wide flag, ``contact:<event_id>:<loan_id>`` per
  loan. A ``flags`` row naming that id (or matching it, see ``ingest/flags.py``) lifts it.
- Values: ``opt_out`` is ``<channel>:<address>`` (``<channel>`` alone when no address was given:
  the whole channel is closed); an oral ``cease_request`` becomes an ``opt_out`` of the whole
  channel it was said on, whatever the address (platform policy: an oral "stop calling" closes that
  channel, and earns no reply when the person later calls in: the engine reads it as a cease of that
  channel, ``policy.check.history``'s ``oral_stop_since_optout``); ``undeliverable`` is ``<channel>:<address>``;
  ``wrong_number`` is the number itself (wrong on every channel); ``preferred_hours`` is
  ``HH:MM-HH:MM`` in the borrower's local time. ``written`` is kept on every fact (it matters for
  ``dispute`` and decides ``cease`` versus ``opt_out`` and ``call_consent`` versus ``tcpa_consent``).
- ``call_consent`` (Reg F 1006.14(b)(3)) is recorded open-ended; the 7 days it allows are counted by
  the rule from ``since``. A written consent is ``tcpa_consent`` instead.
- Flags added to INTERFACE.md's vocabulary: ``undeliverable``, ``wrong_number``, ``call_consent``,
  ``preferred_hours`` (``EXTENSION_FLAGS``).

``promise_to_pay`` opens a promise and ``plan_accepted`` opens a payment arrangement; neither is a
flag, see ``PROMISE`` / ``ARRANGEMENT`` and ``promise_rows`` / ``arrangement_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

CHANNELS = ("sms", "email", "robocall", "agent_call", "letter", "field_visit", "app_push")
TELEPHONE = ("agent_call", "robocall")
DIRECTIONS = ("outbound", "inbound")

Scope = Literal["debt", "person"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row of the outcome table. The three call columns hold only on a telephone channel."""

    name: str
    placed_call: bool  # counts as a placed call (telephone, outbound only)
    connected: bool  # the call reached a person
    conversation: bool  # a telephone conversation (Reg F 1006.14(b)(2)(ii), CN "effective conversation")
    sets: str | None = None  # the flag it sets (written variants in WRITTEN_FLAG); None: no flag


def _o(names: str, placed: bool, connected: bool, conversation: bool, sets: str | None = None) -> tuple[Outcome, ...]:
    return tuple(Outcome(n, placed, connected, conversation, sets) for n in names.split())


_RPC = "right_party_contact promise_to_pay refused_to_pay offer_declined settlement_accepted plan_accepted complaint"

OUTCOMES: tuple[Outcome, ...] = (
    *_o("not_connected busy", False, False, False),
    *_o("no_answer voicemail", True, False, False),
    *_o("delivered", False, False, False),
    *_o("undeliverable", False, False, False, "undeliverable"),
    *_o(_RPC, True, True, True),
    *_o("hardship", True, True, True, "hardship"),
    *_o("wrong_party", True, True, False, "wrong_number"),
    *_o("dispute", True, True, True, "dispute"),
    *_o("cease_request", True, True, True, "opt_out"),  # written: cease (WRITTEN_FLAG)
    *_o("opt_out", True, True, True, "opt_out"),
    *_o("call_consent", True, True, True, "call_consent"),  # written: tcpa_consent
    *_o("no_calls_at_work", True, True, True, "no_calls_at_work"),
    *_o("preferred_hours", True, True, True, "preferred_hours"),
    *_o("attorney_represented", True, True, True, "attorney"),
    *(Outcome(n, True, True, True, n) for n in ("bankruptcy", "deceased", "vulnerable", "breathing_space")),
)
BY_NAME: dict[str, Outcome] = {o.name: o for o in OUTCOMES}
NAMES: tuple[str, ...] = tuple(BY_NAME)

# With ``written = true`` these outcomes set a stronger fact.
WRITTEN_FLAG: dict[str, str] = {"cease_request": "cease", "call_consent": "tcpa_consent"}

PROMISE = "promise_to_pay"
ARRANGEMENT = "plan_accepted"
PREFERRED_HOURS = "preferred_hours"
# Flag values that need the contact's address to mean anything.
NEEDS_ADDRESS = ("undeliverable", "wrong_party")

FLAGS = (
    "dispute", "cease", "attorney", "bankruptcy", "deceased", "vulnerable", "hardship",
    "breathing_space", "servicemember", "no_calls_at_work", "opt_out", "validation_notice_sent",
    "cn_prereport_notice_sent", "gb_nosia_sent", "gb_default_notice_sent",
    "estate_representative_known", "tcpa_consent",
)
EXTENSION_FLAGS = ("undeliverable", "wrong_number", "call_consent", "preferred_hours")
FLAG_VOCABULARY = FLAGS + EXTENSION_FLAGS

SCOPE: dict[str, Scope] = {
    **{f: "debt" for f in ("dispute", "cease", "attorney", "hardship", "call_consent", "tcpa_consent")},
    **{f: "person" for f in (
        "bankruptcy", "deceased", "vulnerable", "breathing_space", "opt_out", "undeliverable",
        "wrong_number", "no_calls_at_work", "preferred_hours",
    )},
}

# --------------------------------------------------------------------------- call counting


def _table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "outcome": [o.name for o in OUTCOMES],
            "_placed": [o.placed_call for o in OUTCOMES],
            "_connected": [o.connected for o in OUTCOMES],
            "_conversation": [o.conversation for o in OUTCOMES],
        },
        schema={"outcome": pl.String, "_placed": pl.Boolean, "_connected": pl.Boolean, "_conversation": pl.Boolean},
    )


def with_call_counts(contacts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Add boolean ``placed_call``, ``connected`` and ``conversation`` to a contacts frame.

    Needs ``channel``, ``direction`` and ``outcome``. An unknown outcome counts as nothing (imports
    refuse them, so none is stored).
    """
    table = _table()
    if isinstance(contacts, pl.LazyFrame):
        table = table.lazy()
    telephone = pl.col("channel").is_in(TELEPHONE)
    return (
        contacts.join(table, on="outcome", how="left")
        .with_columns(
            (pl.col("_placed").fill_null(False) & telephone & (pl.col("direction") == "outbound")).alias("placed_call"),
            (pl.col("_connected").fill_null(False) & telephone).alias("connected"),
            (pl.col("_conversation").fill_null(False) & telephone).alias("conversation"),
        )
        .drop("_placed", "_connected", "_conversation")
    )


# --------------------------------------------------------------------------- facts

CONTACT_FACTS = pl.Schema({
    "event_id": pl.String,
    "borrower_id": pl.String,
    "loan_id": pl.String,  # null: the contact names no loan
    "loan_ids": pl.List(pl.String),  # every loan the contact is about (loan_id included); may be empty
    "channel": pl.String,
    "address": pl.String,
    "outcome": pl.String,
    "written": pl.Boolean,
    "local_date": pl.Date,
    "hours_from": pl.String,
    "hours_to": pl.String,
})

FLAG_ROWS = pl.Schema({
    "flag_id": pl.String,
    "borrower_id": pl.String,
    "loan_id": pl.String,
    "flag": pl.String,
    "value": pl.String,
    "start_on": pl.Date,
    "source": pl.String,
    "written": pl.Boolean,
    "event_id": pl.String,
})


def flag_expr() -> pl.Expr:
    """The flag an outcome sets (null: none), written variants included."""
    plain = pl.col("outcome").replace_strict(
        {o.name: o.sets for o in OUTCOMES}, default=None, return_dtype=pl.String
    )
    out = plain
    for outcome, flag in WRITTEN_FLAG.items():
        out = pl.when((pl.col("outcome") == outcome) & pl.col("written").fill_null(False)).then(pl.lit(flag)).otherwise(out)
    return out


def _channel_address() -> pl.Expr:
    return pl.when(pl.col("address").is_null()).then(pl.col("channel")).otherwise(
        pl.concat_str(pl.col("channel"), pl.lit(":"), pl.col("address"))
    )


def value_expr() -> pl.Expr:
    """The flag's value: which channel/address it closes, the number that is wrong, the hours."""
    flag = pl.col("flag")
    return (
        # "Stop" said out loud closes the channel it was said on, whatever the address (INTERFACE.md:
        # "oral: closes that channel"); an opt-out closes that channel at that address.
        pl.when((flag == "opt_out") & (pl.col("outcome") == "cease_request")).then(pl.col("channel"))
        .when(flag.is_in(["opt_out", "undeliverable"])).then(_channel_address())
        .when(flag == "wrong_number").then(pl.col("address"))
        .when(flag == "preferred_hours").then(pl.concat_str(pl.col("hours_from"), pl.lit("-"), pl.col("hours_to")))
        .otherwise(pl.lit(None, pl.String))
    )


def flag_rows(contacts: pl.DataFrame) -> pl.DataFrame:
    """The flags that contacts set (schema ``FLAG_ROWS``), one per fact and, for debt facts, per loan."""
    facts = (
        contacts.select(list(CONTACT_FACTS))
        .with_columns(flag_expr().alias("flag"))
        .filter(pl.col("flag").is_not_null())
        .with_columns(value_expr().alias("value"))
    )
    debt = pl.col("flag").replace_strict(SCOPE, default="person") == "debt"
    per_loan = (
        facts.filter(debt & (pl.col("loan_ids").list.len() > 0))
        .explode("loan_ids")
        .with_columns(
            pl.col("loan_ids").alias("loan_id"),
            pl.concat_str(pl.lit("contact:"), pl.col("event_id"), pl.lit(":"), pl.col("loan_ids")).alias("flag_id"),
        )
    )
    wide = facts.filter(~(debt & (pl.col("loan_ids").list.len() > 0))).with_columns(
        pl.lit(None, pl.String).alias("loan_id"),
        pl.concat_str(pl.lit("contact:"), pl.col("event_id")).alias("flag_id"),
    )
    return pl.concat([
        part.select(
            "flag_id", "borrower_id", "loan_id", "flag", "value",
            pl.col("local_date").alias("start_on"), pl.lit("contact").alias("source"), "written", "event_id",
        )
        for part in (wide, per_loan)
    ]).cast(dict(FLAG_ROWS)).sort("flag_id")


def promise_rows(contacts: pl.DataFrame) -> pl.DataFrame:
    """``promise_to_pay`` contacts as open promises (kept or broken is decided by the close)."""
    return contacts.filter(pl.col("outcome") == PROMISE).select(
        pl.col("event_id").alias("promise_id"), "borrower_id", "loan_id", "amount_minor", "currency",
        "promise_date", "made_at", pl.lit("open").alias("status"),
    )


def arrangement_rows(contacts: pl.DataFrame) -> pl.DataFrame:
    """``plan_accepted`` contacts as open payment arrangements (not a restructure: the contract stays)."""
    return contacts.filter(pl.col("outcome") == ARRANGEMENT).select(
        pl.col("event_id").alias("arrangement_id"), "borrower_id", "loan_id", "made_at",
        pl.lit("open").alias("status"),
    )
