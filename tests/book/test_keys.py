"""The step's integer loan keys (``book/keys.py``) change nothing but speed: the day on keys equals
the same day run on ``loan_id`` strings (``step._day``), whatever the order of the rows given, and
facts naming a loan outside the book leave the day on strings."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.book.adjustments import ADJUSTMENTS, PAUSES
from arrears.book.keys import KEY, LoanKeys
from arrears.book.step import Book, _day, step
from tests.book.test_partitions import _bench


def _on_strings(book, terms, payments, day, schemes):
    return _day(book, terms, payments, day, schemes, pl.DataFrame(schema=ADJUSTMENTS), pl.DataFrame(schema=PAUSES))


def _same(a, b):
    # Rows as the caller gave them, in the same order; allocations in the waterfall's order per loan.
    assert_frame_equal(a.book.loans, b.book.loans)
    assert_frame_equal(a.book.inst, b.book.inst)
    assert_frame_equal(a.movements, b.movements)
    assert_frame_equal(a.transitions.sort("loan_id"), b.transitions.sort("loan_id"))
    assert_frame_equal(a.allocations.sort("loan_id", maintain_order=True), b.allocations.sort("loan_id", maintain_order=True))


@pytest.mark.parametrize(("seed", "shuffle"), [(11, False), (12, True), (13, True)])
def test_the_day_on_keys_equals_the_day_on_strings(seed, shuffle):
    inp = _bench().generate(2_000, seed)
    book, terms, payments = inp.book, inp.terms, inp.payments
    if shuffle:  # the caller's order, not the id order: results come back in the caller's order
        book = Book(book.loans.sample(fraction=1.0, shuffle=True, seed=seed), book.inst)
        terms = terms.sample(fraction=1.0, shuffle=True, seed=seed + 1)
        payments = payments.sample(fraction=1.0, shuffle=True, seed=seed + 2)
    assert LoanKeys.of(book.loans) is not None
    _same(step(book, terms, payments, inp.day, inp.schemes), _on_strings(book, terms, payments, inp.day, inp.schemes))


def test_keys_round_trip_and_refuse_what_they_cannot_key():
    loans = pl.DataFrame({"loan_id": ["L3", "L1", "L2"]})
    keys = LoanKeys.of(loans)
    assert keys is not None and keys.ids.to_list() == ["L1", "L2", "L3"]
    inst = pl.DataFrame({"loan_id": ["L1", "L1", "L3"], "n": [1, 2, 1]})
    own, keyed_inst = keys.encode(loans, inst)
    assert own["loan_id"].dtype == KEY and own["loan_id"].to_list() == [2, 0, 1]  # a loan's key: its rank by id
    assert keyed_inst["loan_id"].to_list() == [0, 0, 2]
    assert_frame_equal(keys.decode(keyed_inst), inst)
    # A fact about a loan outside the book: no keys (the day runs on strings).
    assert keys.encode(loans, pl.DataFrame({"loan_id": ["L9"], "amount": [1]})) is None
    # A repeated or missing id: no keys.
    assert LoanKeys.of(pl.DataFrame({"loan_id": ["L1", "L1"]})) is None
    assert LoanKeys.of(pl.DataFrame({"loan_id": ["L1", None]})) is None


def test_a_payment_for_a_loan_outside_the_book_runs_the_day_on_strings():
    inp = _bench().generate(500, 21)
    stranger = inp.payments.head(1).with_columns(pl.lit("NOT-IN-BOOK").alias("loan_id"), pl.lit("px").alias("payment_id"))
    payments = pl.concat([inp.payments, stranger])
    _same(step(inp.book, inp.terms, payments, inp.day, inp.schemes),
          _on_strings(inp.book, inp.terms, payments, inp.day, inp.schemes))
