"""Carrying out the day's plan, the way a dialer, an SMS gateway or a field team would.

Every row of the plan is decided at once, as arrays: when in its window it happened, whether it
reached anyone, and what the person said. The world turns the result into contact events and
applies their effect on the borrowers (``world.py``).

Channels differ in reach, cost and effect (docs/simulation.md has the table):

- an agent call reaches the right party with the borrower type's RPC rate (≈ 26 % over the
  delinquent book), lowered by fatigue; otherwise no answer, voicemail, busy or not connected;
- a robocall is heard by few, and is a message rather than a conversation;
- SMS, app push, e-mail and letters are delivered (rarely undeliverable) and move people little;
- a field visit finds the borrower at home about half the time and weighs twice a call;
- offers ride on their channel: when the person is reached they accept or decline; a written
  offer is accepted by reply, or left unanswered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from arrears.sim.worlds import behaviour as bh

CHANNELS = ("sms", "email", "robocall", "agent_call", "letter", "field_visit", "app_push")
SMS, EMAIL, ROBOCALL, AGENT_CALL, LETTER, FIELD_VISIT, APP_PUSH = range(7)
CONTACT_ACTIONS = (*CHANNELS[:6], "settlement_offer", "plan_offer")
TALKING = (AGENT_CALL, FIELD_VISIT)

# Effort ℓ one contact puts into the intensity, by what happened.
EFFORT_CONVERSATION = {AGENT_CALL: 1.0, FIELD_VISIT: 2.0, ROBOCALL: 0.3}
EFFORT_MESSAGE = {SMS: 0.05, EMAIL: 0.02, LETTER: 0.15, APP_PUSH: 0.04}
EFFORT_VOICEMAIL = 0.1
EFFORT_REFERENCE = 0.4
# How much an attempt adds to fatigue: a call weighs more than a message.
FATIGUE_ATTEMPT = np.array([0.3, 0.3, 0.7, 1.0, 0.3, 1.0, 0.3])
# Outcomes of an attempt that reached nobody, on the telephone.
MISSED = ("no_answer", "voicemail", "busy", "not_connected", "wrong_party")
MISSED_CALL_P = np.array([0.55, 0.27, 0.09, 0.085, 0.005])
MISSED_ROBOCALL_P = np.array([0.55, 0.38, 0.04, 0.03, 0.0])
REFERENCE_REACH = 0.35
ROBOCALL_HEARD = 0.15
VISIT_MET = 0.45
UNDELIVERABLE = np.array([0.015, 0.05, 0.0, 0.0, 0.03, 0.0, 0.03])


@dataclass
class Executed:
    """What happened for each executed action (arrays aligned with the actions)."""

    outcome: np.ndarray  # object array of outcome names
    effort: np.ndarray  # ℓ for the borrower
    fatigue: np.ndarray  # what the attempt adds to the borrower's fatigue
    accepted: np.ndarray  # bool: an offer accepted


def carry_out(
    rng: np.random.Generator,
    channel: np.ndarray,
    is_offer: np.ndarray,
    to_reference: np.ndarray,
    kind: np.ndarray,
    fatigue: np.ndarray,
    reach_factor: np.ndarray,
    accept_p: np.ndarray,
) -> Executed:
    """Outcomes for n actions. ``kind`` is the borrower type, ``reach_factor`` scales reaching them
    (0 for the dead, lower for the represented), ``accept_p`` the chance to accept an offer."""
    n = channel.shape[0]
    outcome = np.full(n, "delivered", dtype=object)
    effort = np.zeros(n)
    u = rng.random(n)
    screen = np.exp(-0.08 * fatigue)
    reach = np.select(
        [channel == AGENT_CALL, channel == FIELD_VISIT, channel == ROBOCALL],
        [bh.RPC[kind] * screen, np.full(n, VISIT_MET), np.full(n, ROBOCALL_HEARD) * screen],
        1.0,
    ) * reach_factor
    reach = np.where(to_reference, REFERENCE_REACH * reach_factor, reach)
    reached = u < reach
    telephone = np.isin(channel, (AGENT_CALL, ROBOCALL))

    missed_call = ~reached & telephone
    missed = bh.choose(rng, np.where((channel == ROBOCALL)[:, None], MISSED_ROBOCALL_P, MISSED_CALL_P))
    outcome[missed_call] = np.array(MISSED, dtype=object)[missed[missed_call]]
    outcome[~reached & (channel == FIELD_VISIT)] = "no_answer"
    effort[missed_call & (outcome == "voicemail")] = EFFORT_VOICEMAIL
    effort[~reached & (channel == FIELD_VISIT)] = EFFORT_VOICEMAIL * 2

    talk = reached & np.isin(channel, TALKING) & ~to_reference
    said = bh.choose(rng, bh.conversation_weights(kind, fatigue))
    outcome[talk] = np.array(bh.CONVERSATION, dtype=object)[said[talk]]
    effort[talk] = np.where(channel[talk] == FIELD_VISIT, EFFORT_CONVERSATION[FIELD_VISIT], 1.0)

    heard = reached & (channel == ROBOCALL) & ~to_reference
    outcome[heard] = np.where(rng.random(n)[heard] < 0.04 * (1 + fatigue[heard]), "opt_out", "right_party_contact")
    effort[heard] = EFFORT_CONVERSATION[ROBOCALL]

    ref = reached & to_reference & telephone
    v = rng.random(n)
    complain = 0.05 * (1 + bh.FATIGUE_WEIGHT * fatigue)
    outcome[ref] = np.select(
        [v < complain, v < complain + 0.04, v < complain + 0.06],
        ["complaint", "cease_request", "wrong_party"], "right_party_contact",
    )[ref]
    effort[ref] = EFFORT_REFERENCE

    message = ~np.isin(channel, (AGENT_CALL, ROBOCALL, FIELD_VISIT))
    bounced = message & (rng.random(n) < UNDELIVERABLE[channel])
    outcome[bounced] = "undeliverable"
    for ch, value in EFFORT_MESSAGE.items():
        effort[message & ~bounced & (channel == ch)] = value

    accepted = np.zeros(n, dtype=bool)
    spoken_offer = is_offer & reached & np.isin(channel, (AGENT_CALL, FIELD_VISIT, ROBOCALL)) & ~to_reference
    written_offer = is_offer & message & ~bounced
    w = rng.random(n)
    accepted |= spoken_offer & (w < accept_p)
    accepted |= written_offer & (w < accept_p * 0.5)
    declined = (spoken_offer & ~accepted) | (written_offer & ~accepted & (w > 0.9))
    outcome[declined] = "offer_declined"
    return Executed(outcome, effort, FATIGUE_ATTEMPT[channel], accepted)


MESSAGE_SECONDS = 1800  # messages leave within half an hour of their window opening


def at_in_window(
    rng: np.random.Generator, start: pl.Series, end: pl.Series, within: np.ndarray | None = None
) -> pl.Series:
    """A moment strictly inside each window (and within ``within`` seconds of its start, per row,
    when given), written with the window start's own offset."""
    start_text, end_text = _as_text(start), _as_text(end)
    frame = pl.DataFrame({"s": start_text, "e": end_text}).with_columns(
        _local("s").alias("s_local"), _offset_minutes("s").alias("s_off"),
        _local("e").alias("e_local"), _offset_minutes("e").alias("e_off"),
        pl.col("s").str.extract(_TS, 4).alias("s_offset_text"),
    )
    if frame.select(pl.col("s_local").is_null() | pl.col("e_local").is_null()).to_series().any():
        raise ValueError("every action needs window_start and window_end with an offset")
    span = frame.select(
        ((pl.col("e_local") - pl.duration(minutes=pl.col("e_off")))
         - (pl.col("s_local") - pl.duration(minutes=pl.col("s_off")))).dt.total_seconds()
    ).to_series().to_numpy()
    if within is not None:
        span = np.minimum(span, within + 1)
    # Strictly inside: at least a second after the start and a second before the end.
    pick = np.where(span >= 2, 1 + np.floor(rng.random(span.shape[0]) * np.maximum(span - 1, 1)), 0)
    pick = np.minimum(pick, np.maximum(span - 1, 0)).astype(np.int64)
    offset = pl.col("s_offset_text").str.replace("Z", "+00:00").str.replace(r"^([+-]\d{2})(\d{2})$", "${1}:${2}")
    return frame.with_columns(pl.Series("pick", pick)).select(
        ((pl.col("s_local") + pl.duration(seconds=pl.col("pick"))).dt.strftime("%Y-%m-%dT%H:%M:%S")
         + offset).alias("at")
    ).to_series()


def later(at: pl.Expr, seconds: int) -> pl.Expr:
    """A timestamp text ``seconds`` later, in the same offset."""
    local = pl.concat_str(at.str.extract(_TS, 1), pl.lit("T"), at.str.extract(_TS, 2),
                          at.str.extract(_TS, 3).fill_null(":00").str.slice(0, 3))
    moved = local.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S") + pl.duration(seconds=seconds)
    return moved.dt.strftime("%Y-%m-%dT%H:%M:%S") + at.str.extract(_TS, 4)


_TS = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"


def _as_text(s: pl.Series) -> pl.Series:
    if isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is None:
            raise ValueError(f"{s.name}: a timestamp without an offset is an error")
        return s.dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    return s.cast(pl.String).str.strip_chars()


def _local(c: str) -> pl.Expr:
    text = pl.concat_str(
        pl.col(c).str.extract(_TS, 1), pl.lit("T"), pl.col(c).str.extract(_TS, 2),
        pl.col(c).str.extract(_TS, 3).fill_null(":00").str.slice(0, 3),
    )
    return text.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)


def _offset_minutes(c: str) -> pl.Expr:
    raw = pl.col(c).str.extract(_TS, 4)
    digits = raw.str.replace(":", "")
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    minutes = digits.str.slice(1, 2).cast(pl.Int64) * 60 + digits.str.slice(3, 2).cast(pl.Int64)
    return pl.when(raw == "Z").then(0).otherwise(sign * minutes)


# What, once said, ends the rest of the day's outbound attempts to that borrower: the agent flags
# the account at once and the dialer's queue is screened again (the plan was made before it was said).
TELEPHONE_CHANNELS = ("agent_call", "robocall")
STOPS = ("cease_request", "opt_out", "dispute", "attorney_represented", "bankruptcy", "deceased",
         "breathing_space", "vulnerable")


def honour_what_was_said(contacts: pl.DataFrame) -> pl.DataFrame:
    """A dialer or gateway that hears "stop calling" (or a dispute, a lawyer, a death...) drops
    the rest of the day's outbound attempts to that borrower; one that hears "only call me between
    12:00 and 14:00" drops the rest of the day's attempts outside those hours; after the borrower
    has called in, the calls planned for later that day are not made. Instants compare as
    instants; hours compare as local wall-clock text (each ``at`` carries the borrower's offset)."""
    instant = pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
    c = contacts.with_columns(pl.col("at").str.slice(0, 10).alias("_day"), instant.alias("_t"))
    stops = c.filter(pl.col("outcome").is_in(STOPS)).group_by("borrower_id", "_day").agg(
        pl.col("_t").min().alias("_stop_t"))
    # Somebody who has just called us has been talked to: the call planned for later is not made
    # (US-FREQ counts 7 days from any telephone conversation, an inbound one included).
    talked = c.filter((pl.col("direction") == "inbound") & pl.col("channel").is_in(TELEPHONE_CHANNELS)) \
        .group_by("borrower_id", "_day").agg(pl.col("_t").min().alias("_talk_t"))
    hours = c.filter((pl.col("outcome") == "preferred_hours") & pl.col("hours_from").is_not_null()) \
        .sort("_t").group_by("borrower_id", "_day").agg(
            pl.col("_t").first().alias("_said_t"), pl.col("hours_from").first().alias("_from"),
            pl.col("hours_to").first().alias("_to"))
    c = c.join(stops, on=["borrower_id", "_day"], how="left").join(hours, on=["borrower_id", "_day"], how="left") \
        .join(talked, on=["borrower_id", "_day"], how="left")
    local = pl.col("at").str.slice(11, 5)
    outbound = pl.col("direction") == "outbound"
    stopped = outbound & (pl.col("_t") > pl.col("_stop_t")).fill_null(False)
    outside = outbound & (pl.col("_t") > pl.col("_said_t")).fill_null(False) \
        & ((local < pl.col("_from")) | (local >= pl.col("_to"))).fill_null(False)
    called_back = outbound & pl.col("channel").is_in(TELEPHONE_CHANNELS) & (pl.col("_t") > pl.col("_talk_t")).fill_null(False)
    return c.filter(~(stopped | outside | called_back)).select(contacts.columns)
