"""Facts from the flags in force: holds, notices, consents, opt-outs, stated preferences.

A flag is in force on local day ``d`` when ``start_on <= d`` and it was not lifted by then
(``end_on`` is the first day without it). A flag naming a loan binds an action about that loan; a
flag naming no loan binds every action for the borrower. With several candidate zones the action's
local day differs per zone, and a flag in force on any of them binds (the strictest candidate).
"""

from __future__ import annotations

import polars as pl

from arrears.policy.check.vocab import FAMILY


def _minutes(text: pl.Expr) -> pl.Expr:
    return text.str.slice(0, 2).cast(pl.Int64, strict=False) * 60 + text.str.slice(3, 2).cast(pl.Int64, strict=False)


FLAG_FACTS = pl.Schema({
    "idx": pl.UInt32,
    "dispute": pl.Boolean, "dispute_written": pl.Boolean, "dispute_written_on": pl.Date,
    "cease": pl.Boolean, "attorney": pl.Boolean, "bankruptcy": pl.Boolean, "deceased": pl.Boolean,
    "estate_rep_known": pl.Boolean, "vulnerable": pl.Boolean, "no_calls_at_work": pl.Boolean,
    "tcpa_consent": pl.Boolean, "contact_hold": pl.Boolean, "cn_prereport": pl.Boolean,
    "breathing_space": pl.Boolean, "days_since_breathing_space": pl.Int64,
    "days_since_debt_advice": pl.Int64, "days_since_call_consent": pl.Int64,
    "validation_sent_on": pl.Date, "gb_default_notice_on": pl.Date,
    "opted_out": pl.Boolean, "optout_on": pl.Date, "undeliverable": pl.Boolean, "wrong_number": pl.Boolean,
    "pref_from": pl.Int64, "pref_until": pl.Int64,
})


def flag_facts(zoned: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    """Per action (``idx``): the ``FLAG_FACTS`` columns. ``zoned`` has one row per (action, zone)
    with ``d``, the action's local date there."""
    pairs = (
        zoned.select("idx", "borrower_id", "loan_ids", "family", "address_used", "d")
        .join(flags, on="borrower_id", how="inner")
        .filter(
            (pl.col("start_on") <= pl.col("d"))
            & (pl.col("loan_id").is_null() | pl.col("loan_ids").list.contains(pl.col("loan_id")))
        )
    )
    in_force = pl.col("end_on").is_null() | (pl.col("end_on") > pl.col("d"))
    f = pl.col("flag")
    days = (pl.col("d") - pl.col("start_on")).dt.total_days()
    closed = pl.col("value").str.split_exact(":", 1).struct.rename_fields(["ch", "addr"])
    pairs = pairs.with_columns(closed.alias("_v")).unnest("_v").with_columns(
        (pl.col("ch").replace_strict(FAMILY, default=None, return_dtype=pl.String) == pl.col("family"))
        .fill_null(False).alias("_same_family"),
        (pl.col("addr").is_null() | (pl.col("addr") == pl.col("address_used"))).fill_null(False).alias("_same_addr"),
    )
    channel_match = pl.col("_same_family") & pl.col("_same_addr")
    pref = pl.col("value").str.split_exact("-", 1).struct.rename_fields(["pf", "pu"])

    def has(name: str, extra: pl.Expr | None = None) -> pl.Expr:
        cond = (f == name) & in_force
        if extra is not None:
            cond = cond & extra
        return cond.any().alias(name if extra is None else f"_{name}")

    facts = (
        pairs.with_columns(pref.alias("_p")).unnest("_p")
        .group_by("idx")
        .agg(
            has("dispute"),
            ((f == "dispute") & in_force & pl.col("written").fill_null(False)).any().alias("dispute_written"),
            pl.col("start_on").filter((f == "dispute") & in_force & pl.col("written").fill_null(False))
            .min().alias("dispute_written_on"),
            has("cease"), has("attorney"), has("bankruptcy"), has("deceased"),
            ((f == "estate_representative_known") & in_force).any().alias("estate_rep_known"),
            has("vulnerable"), has("no_calls_at_work"), has("tcpa_consent"), has("contact_hold"),
            ((f == "cn_prereport_notice_sent")).any().alias("cn_prereport"),
            has("breathing_space"),
            days.filter(f == "breathing_space").min().alias("days_since_breathing_space"),
            days.filter((f == "hardship") & in_force & (pl.col("value") == "debt_advice")).min()
            .alias("days_since_debt_advice"),
            days.filter(((f == "call_consent") | (f == "tcpa_consent")) & in_force).min()
            .alias("days_since_call_consent"),
            pl.col("start_on").filter(f == "validation_notice_sent").min().alias("validation_sent_on"),
            pl.col("start_on").filter(f == "gb_default_notice_sent").min().alias("gb_default_notice_on"),
            ((f == "opt_out") & in_force & channel_match).any().alias("opted_out"),
            pl.col("start_on").filter((f == "opt_out") & in_force & channel_match).min().alias("optout_on"),
            ((f == "undeliverable") & in_force & channel_match).any().alias("undeliverable"),
            ((f == "wrong_number") & in_force & (pl.col("value") == pl.col("address_used"))
             & pl.col("family").is_in(["phone", "text"])).any().alias("wrong_number"),
            _minutes(pl.col("pf")).filter((f == "preferred_hours") & in_force).max().alias("pref_from"),
            _minutes(pl.col("pu")).filter((f == "preferred_hours") & in_force).min().alias("pref_until"),
        )
    )
    return facts.select(pl.col(c).cast(t) for c, t in FLAG_FACTS.items())


def with_flag_facts(actions: pl.LazyFrame, facts: pl.LazyFrame) -> pl.LazyFrame:
    """Join the facts (lazily, as the engine does); an action without any flag gets False / null."""
    out = actions.join(facts, on="idx", how="left")
    return out.with_columns(pl.col(c).fill_null(False) for c, t in FLAG_FACTS.items() if t == pl.Boolean)
