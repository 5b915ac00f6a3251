"""Ready to scale out: the day step has no global state, so it can run per borrower partition
(Spark's ``mapInArrow`` later). Run on random borrower partitions and concatenated, it must equal the
whole-book result exactly."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.book.step import Book, step

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "close_day.py"


def _bench():
    # The benchmark's numpy generator makes a realistic book (current, delinquent at various dpd,
    # charged off, paid off; payments due, partial, prepaying): reuse it as test data.
    spec = importlib.util.spec_from_file_location("bench_close_day", _BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort([k for k in keys if k in frame.columns])


@pytest.mark.parametrize(("seed", "k"), [(1, 2), (2, 3), (3, 7)])
def test_step_on_borrower_partitions_equals_the_whole_book(seed, k):
    inp = _bench().generate(3_000, seed)
    whole = step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes)

    rng = random.Random(seed)
    borrowers = inp.terms.select("borrower_id").unique().sort("borrower_id")
    part = borrowers.with_columns(pl.Series("part", [rng.randrange(k) for _ in range(borrowers.height)]))
    loans_part = inp.terms.select("loan_id", "borrower_id").join(part, on="borrower_id")
    pieces = []
    for p in range(k):
        ids = loans_part.filter(pl.col("part") == p).select("loan_id")
        book = Book(inp.book.loans.join(ids, on="loan_id"), inp.book.inst.join(ids, on="loan_id"))
        pieces.append(step(book, inp.terms.join(ids, on="loan_id"), inp.payments.join(ids, on="loan_id"),
                           inp.day, inp.schemes))

    keys = ["loan_id", "n", "day", "source", "component"]
    assert_frame_equal(_sorted(pl.concat([r.book.loans for r in pieces]), keys), _sorted(whole.book.loans, keys))
    assert_frame_equal(_sorted(pl.concat([r.book.inst for r in pieces]), keys), _sorted(whole.book.inst, keys))
    assert_frame_equal(_sorted(pl.concat([r.movements for r in pieces]), keys), _sorted(whole.movements, keys))
    assert_frame_equal(_sorted(pl.concat([r.transitions for r in pieces]), keys), _sorted(whole.transitions, keys))
    # Allocations keep their order within a loan and day (the waterfall's order), so compare as sets
    # of rows with their position inside the loan.
    def ranked(f: pl.DataFrame) -> pl.DataFrame:
        return f.with_columns(pl.int_range(pl.len()).over("loan_id").alias("pos")).sort("loan_id", "pos")

    assert_frame_equal(ranked(pl.concat([r.allocations for r in pieces])), ranked(whole.allocations))
    assert whole.allocations.height > 0 and whole.transitions.height > 0  # the day did something
