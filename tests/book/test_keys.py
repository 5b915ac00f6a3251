"""The step's integer loan keys (``book/keys.py``) change nothing but speed: the day on keys equals
the same day run on ``loan_id`` strings (``step._day``), whatever the order of the rows given, and
facts naming a loan outside the book leave the day on strings; so is the watch, whose trial step
runs on the keys."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.book import quiet
from arrears.book.adjustments import ADJUSTMENTS, PAUSES
from arrears.book.keys import KEY, LoanKeys, in_id_order
from arrears.book.quiet import watch
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


@pytest.mark.parametrize("cuts", [(), (4,), (3, 9), (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)])
def test_in_id_order_sorts_stably_whatever_runs_it_is_given(cuts):
    # Sorted runs (the stored book, then the day's new loans), one loan's rows in two runs (ties
    # keep the earlier run's rows first), or more runs than it merges (sorted outright).
    ids = [f"L{i % 7}" for i in range(12)]
    runs = [sorted(ids[a:b]) for a, b in zip((0, *cuts), (*cuts, len(ids)))]
    frame = pl.DataFrame({"loan_id": [i for r in runs for i in r], "n": list(range(len(ids)))})
    out = in_id_order(frame)
    assert_frame_equal(out, frame.sort("loan_id", maintain_order=True))
    assert out["loan_id"].flags["SORTED_ASC"]


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_watch_on_keys_equals_the_watch_on_strings(shuffle):
    inp = _bench().generate(2_000, 31)
    book = step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes).book
    terms = inp.terms
    if shuffle:  # the caller's order, not the id order: the rows come back in the caller's order
        book = Book(book.loans.sample(fraction=1.0, shuffle=True, seed=5), book.inst)
        terms = terms.sample(fraction=1.0, shuffle=True, seed=6)
    pauses = pl.DataFrame(schema=PAUSES)
    keys = LoanKeys.of(book.loans)
    assert keys is not None and keys.encode(book.loans, book.inst, terms, pauses) is not None
    on_keys = watch(book, terms, inp.day, inp.schemes, pauses)
    on_strings = quiet._watch(book.loans, book.inst, terms, inp.day, inp.schemes, pauses, quiet._on_strings)
    assert_frame_equal(on_keys, on_strings)
    assert on_keys["loan_id"].equals(book.loans["loan_id"])
    # Both kinds of loan are there: quiet ones and ones stepped every day.
    assert 0 < on_keys["quiet_until"].null_count() < on_keys.height


def test_pauses_of_loans_outside_the_book_leave_the_day_on_keys():
    # The close passes every known pause; another loan's changes nothing here, and is no reason to
    # leave the keys. A pause of a loan in the book still counts.
    import datetime as dt

    from arrears.book import keys as keys_module

    inp = _bench().generate(500, 22)
    inside = inp.book.loans.filter((pl.col("status") == "delinquent") & (pl.col("dpd") > 30))["loan_id"][0]
    pauses = pl.DataFrame({
        "loan_id": ["NOT-IN-BOOK", inside], "reason": ["hardship", "hardship"], "contact_hold": [True, True],
        "accrual_freeze": [True, True], "ageing_pause": [True, True],
        "start_on": [inp.day - dt.timedelta(days=30)] * 2, "end_on": [None, None],
    }, schema=PAUSES)
    adjustments = pl.DataFrame(schema=ADJUSTMENTS)
    encoded = []
    encode = keys_module.LoanKeys.encode
    keys_module.LoanKeys.encode = lambda self, *a: encoded.append(r := encode(self, *a)) or r
    try:
        on_keys = step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes, adjustments, pauses)
    finally:
        keys_module.LoanKeys.encode = encode
    assert encoded and encoded[0] is not None
    on_strings = _day(inp.book, inp.terms, inp.payments, inp.day, inp.schemes, adjustments, pauses)
    _same(on_keys, on_strings)
    without = step(inp.book, inp.terms, inp.payments, inp.day, inp.schemes, adjustments, pauses.head(1))
    assert not without.movements.equals(on_keys.movements)  # the inside loan's pause counted
