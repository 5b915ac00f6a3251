"""Rules read a loan's values on its instalments by position (``book/positions.py``): where the
instalments come loan by loan in the loans' order no join is made, elsewhere one join finds the
positions. Either way the results are those of the rule on ``loan_id``: the same book in any row
order gives the same balances, accruals and ageing, loan for loan."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.book.accrual import accrue
from arrears.book.ageing import age
from arrears.book.balances import balances
from arrears.book.keys import KEY
from arrears.book.positions import aligned, rows_in, take
from tests.book.test_partitions import _bench


def test_rows_in_finds_each_rows_loan_or_none():
    loans = pl.DataFrame({"loan_id": ["L2", "L1", "L3"]})
    rows = pl.DataFrame({"loan_id": ["L1", "L1", "L9", "L3"]})
    assert rows_in(loans, rows).to_list() == [1, 1, None, 2]
    # Dense keys: a key is its loan's row; a key beyond the loans has none.
    keys = pl.DataFrame({"loan_id": pl.Series([0, 1, 2], dtype=KEY)})
    assert rows_in(keys, pl.DataFrame({"loan_id": pl.Series([0, 0, 2, 5], dtype=KEY)})).to_list() == [0, 0, 2, None]
    # Keys that are not rows (a subset of the book) are looked up, not taken as rows.
    subset = pl.DataFrame({"loan_id": pl.Series([1, 4], dtype=KEY)})
    assert rows_in(subset, pl.DataFrame({"loan_id": pl.Series([4, 1, 0], dtype=KEY)})).to_list() == [1, 0, None]
    with pytest.raises(pl.exceptions.ComputeError):
        rows_in(pl.DataFrame({"loan_id": ["L1", "L1"]}), rows)  # repeated ids have no one row
    assert take(loans, pl.Series([2, None], dtype=KEY))["loan_id"].to_list() == ["L3", None]
    assert take(loans.clear(), pl.Series([0, None], dtype=KEY))["loan_id"].to_list() == [None, None]
    assert aligned(pl.DataFrame({"loan_id": pl.Series([0, 1, 2], dtype=KEY)}), loans)
    assert not aligned(pl.DataFrame({"loan_id": pl.Series([1, 0, 2], dtype=KEY)}), loans)


def _by_id(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort([c for c in ("loan_id", "n") if c in frame.columns])


def _rules(loans: pl.DataFrame, inst: pl.DataFrame, terms: pl.DataFrame, day: dt.date, schemes, frozen):
    """Every result the rules give, sorted by loan (and instalment)."""
    acc_l, acc_i = accrue(loans, inst, terms, day, 1, frozen)
    aged = age(loans, inst, terms, day, schemes)
    return [_by_id(f) for f in (balances(loans, inst, day), acc_l, acc_i, *aged)]


@pytest.mark.parametrize("seed", [5])
def test_rules_give_each_loan_the_same_results_in_any_row_order_and_alone(seed):
    inp = _bench().generate(1_200, seed)
    loans, inst, terms = inp.book.loans, inp.book.inst, inp.terms
    # Some loans without instalments or terms, and instalments and terms of loans not given.
    gaps = (loans.filter(~pl.col("loan_id").str.contains("[37]$")), inst.filter(~pl.col("loan_id").str.contains("[59]$")),
            terms.filter(~pl.col("loan_id").str.contains("[16]$")))
    frozen = loans.select("loan_id").head(30)
    sample = loans["loan_id"].sample(40, seed=seed).to_list()
    for day in (inp.day, inp.day + dt.timedelta(days=9)):
        for lo, ins, te in ((loans, inst, terms), gaps):
            # As given (the instalments loan by loan in the loans' order: positions without a join) ...
            want = _rules(lo, ins, te, day, inp.schemes, frozen)
            # ... equals any other row order (one join finds the positions) ...
            got = _rules(lo.sample(fraction=1.0, shuffle=True, seed=seed), ins.sample(fraction=1.0, shuffle=True, seed=seed),
                         te.sample(fraction=1.0, shuffle=True, seed=seed + 1), day, inp.schemes, frozen)
            for w, g in zip(want, got):
                assert_frame_equal(g, w)
            # ... and each loan's results are its results alone.
            alone = [_rules(*(f.filter(pl.col("loan_id") == i) for f in (lo, ins, te)), day, inp.schemes, frozen)
                     for i in sample]
            for k, w in enumerate(want):
                assert_frame_equal(_by_id(pl.concat([a[k] for a in alone])), w.filter(pl.col("loan_id").is_in(sample)))
