"""How the words of actions, contacts and references map onto the words packs use.

Decisions (docs/compliance.md says them for people):
- ``agent_call`` is a ``call``, ``field_visit`` a ``visit``. ``app_push`` is treated as an ``sms``:
  every rule about texts (hours, opt-outs, TCPA, the ARREARS-SMS caps) applies to a push too, so a
  push notification cannot be used to get round the SMS-bombing guard.
- Actions with no contact channel (``agency_placement``, ``legal_action``, ``bureau_report``) are
  matched by their own name; only rules that apply to every channel (``["*"]``) or name them apply.
- A reference's party kind comes from its relation. In the US the consumer includes the spouse, a
  guardian and the estate's representative (12 CFR 1006.6(a)), an attorney is the attorney, a
  guarantor is a co-signer, and everybody else is a third party. In CN every registered reference
  is a pre-agreed contact (紧急联系人). A reference taken from an address book is never anything
  but an ``address_book_contact``.
- Opt-outs close a *family*: both telephone channels together (a "stop calling" covers the dialer
  too), texts and pushes together, and each other channel on its own.
"""

from __future__ import annotations

import polars as pl

RULE_CHANNEL = {
    "agent_call": "call",
    "robocall": "robocall",
    "sms": "sms",
    "app_push": "sms",
    "email": "email",
    "letter": "letter",
    "field_visit": "visit",
}
NON_CONTACT_ACTIONS = ("agency_placement", "legal_action", "bureau_report")
ACTIONS = ("sms", "email", "robocall", "agent_call", "letter", "field_visit", "settlement_offer",
           "plan_offer", *NON_CONTACT_ACTIONS)
CONTACT_CHANNELS = tuple(RULE_CHANNEL)

FAMILY = {
    "agent_call": "phone", "robocall": "phone", "sms": "text", "app_push": "text",
    "email": "email", "letter": "letter", "field_visit": "visit",
}

US_CONSUMER = ("spouse", "guardian", "estate_representative")
REFUSALS = ("refused_to_pay", "cease_request", "opt_out", "offer_declined", "complaint")
# Outcomes that mean the debtor was reached (right-party contact), on any channel.
REACHED = ("right_party_contact", "promise_to_pay", "refused_to_pay", "offer_declined",
           "settlement_accepted", "plan_accepted", "hardship", "complaint", "dispute")
# Outbound contacts that never reached anyone: not a "contact" for the GB and US-MA counts.
NOT_MADE = ("not_connected", "busy", "undeliverable")


def rule_channel() -> pl.Expr:
    return (
        pl.when(pl.col("channel").is_null() | pl.col("action").is_in(NON_CONTACT_ACTIONS))
        .then(pl.col("action"))
        .otherwise(pl.col("channel").replace_strict(RULE_CHANNEL, default=None, return_dtype=pl.String))
    )


def family(column: str = "channel") -> pl.Expr:
    return pl.col(column).replace_strict(FAMILY, default=None, return_dtype=pl.String)


def party_kind() -> pl.Expr:
    """Needs ``party``, ``jurisdiction``, ``relation`` (null for the borrower) and ``source``."""
    relation = pl.col("relation")
    us = pl.col("jurisdiction").str.starts_with("US-")
    return (
        pl.when(pl.col("party") == "borrower").then(pl.lit("consumer"))
        .when(pl.col("source") != "borrower_provided").then(pl.lit("address_book_contact"))
        .when(relation.is_null()).then(pl.lit("third_party"))
        .when(pl.col("jurisdiction") == "CN").then(pl.lit("pre_agreed_contact"))
        .when(relation == "attorney").then(pl.lit("attorney"))
        .when(relation == "guarantor").then(pl.lit("co_signer"))
        .when(us & relation.is_in(US_CONSUMER)).then(pl.lit("consumer"))
        .when(relation == "estate_representative").then(pl.lit("estate_representative"))
        .otherwise(pl.lit("third_party"))
    )


def pack_key() -> pl.Expr:
    """The effective pack a borrower's jurisdiction selects: US-MA has its overlay, other states US."""
    j = pl.col("jurisdiction")
    return pl.when(j == "US-MA").then(j).when(j.str.starts_with("US-")).then(pl.lit("US")).otherwise(j)
