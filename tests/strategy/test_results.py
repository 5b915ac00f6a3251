"""Experiment results: intervals that are right, and episodes counted only once 90 days old."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from arrears.strategy.results import arm_results, mean_interval, wilson


def test_wilson_matches_a_textbook_value():
    # 81 of 263 (Agresti & Coull's example): Wilson 95% interval 0.2553–0.3662.
    lo, hi = wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_mean_interval():
    mean, lo, hi = mean_interval([10, 20, 30, 40])
    assert mean == 25 and hi - mean == pytest.approx(1.959964 * (166.6667 / 4) ** 0.5, rel=1e-4) and lo < mean < hi


def test_arms_compared_on_mature_episodes_only():
    start = dt.date(2026, 1, 1)
    a = pl.DataFrame({"borrower_id": ["B1", "B2", "B3"], "episode_start": [start, start, start + dt.timedelta(days=30)],
                      "arm": ["champion", "gentle", "gentle"]})
    loans = pl.DataFrame({"loan_id": ["L1", "L2", "L3"], "borrower_id": ["B1", "B2", "B3"], "currency": ["CNY"] * 3})
    transitions = pl.DataFrame({"loan_id": ["L1", "L2", "L2"], "day": [start, start, start + dt.timedelta(days=40)],
                                "to_bucket": ["1-29", "1-29", "current"]})
    payments = pl.DataFrame({"loan_id": ["L2", "L2"], "paid_on": [start + dt.timedelta(days=40), start + dt.timedelta(days=100)],
                             "amount": [5_000, 7_000]})
    r = arm_results(a, loans, transitions, payments, start + dt.timedelta(days=100))
    rows = {row["arm"]: row for row in r.iter_rows(named=True)}
    assert rows["champion"]["episodes"] == 1 and rows["champion"]["cured"] == 0
    # B3's episode is 70 days old: not counted yet. B2 cured on day 40; the payment on day 100 is past its horizon.
    assert rows["gentle"]["episodes"] == 1 and rows["gentle"]["cured"] == 1 and rows["gentle"]["collected_mean"] == 5_000
