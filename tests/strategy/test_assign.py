"""Champion/challenger assignment: a stable hash with the configured shares, sticky per episode."""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.strategy.assign import ASSIGNMENTS, assign, draw
from arrears.strategy.load import champion
from arrears.strategy.model import Arm, Experiment

CN = champion("CN")
DAY = dt.date(2026, 3, 2)
START = dt.date(2026, 2, 20)


def _exp(share_a: int) -> Experiment:
    return Experiment("e1", (Arm("a", (CN,), share_a), Arm("b", (CN,), 1_000_000 - share_a)))


def _episodes(n: int) -> pl.DataFrame:
    return pl.DataFrame({"borrower_id": [f"B{i}" for i in range(n)], "episode_start": [START] * n})


def test_the_draw_is_a_stable_function_of_experiment_borrower_and_episode():
    assert draw("e1", "B1", START) == draw("e1", "B1", START)
    assert draw("e1", "B1", START) != draw("e1", "B1", START + dt.timedelta(days=1))
    assert draw("e1", "B1", START) != draw("e2", "B1", START)


def test_shares_are_honoured_within_sampling_error():
    every, fresh = assign(_episodes(10_000), pl.DataFrame(schema=ASSIGNMENTS), _exp(200_000), DAY)
    share = (every["arm"] == "a").mean()
    assert abs(share - 0.2) < 0.02  # 5 standard errors of a binomial(10,000, 0.2) share
    assert fresh.height == 10_000


def test_a_recorded_arm_wins_over_new_shares_for_the_rest_of_the_episode():
    eps = _episodes(500)
    first, fresh = assign(eps, pl.DataFrame(schema=ASSIGNMENTS), _exp(500_000), DAY)
    # The shares change to 100% a; recorded episodes keep their arm, nothing new is recorded.
    again, more = assign(eps, fresh, _exp(1_000_000), DAY + dt.timedelta(days=5))
    assert first.sort("borrower_id").equals(again.sort("borrower_id")) and more.is_empty()
    assert (again["arm"] == "b").sum() > 0
    # A new episode draws afresh, under the new shares.
    new_episode = eps.with_columns(pl.lit(START + dt.timedelta(days=60)).alias("episode_start"))
    later, recorded = assign(new_episode, fresh, _exp(1_000_000), DAY + dt.timedelta(days=60))
    assert (later["arm"] == "a").all() and recorded.height == 500
