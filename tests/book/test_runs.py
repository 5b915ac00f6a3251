"""A part of the book's keys (the watch's trial step) finds each row's loan by a table indexed by
key (``book/runs.py``), where ``positions`` would join: the same rows, null where the loan is not
there, flagged sorted when they are."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from arrears.book.keys import KEY
from arrears.book.positions import rows_in as by_join
from arrears.book.runs import rows_in


def _keys(values) -> pl.DataFrame:
    return pl.DataFrame({"loan_id": pl.Series(values, dtype=KEY)})


def test_rows_of_a_part_of_the_keys():
    loans = _keys([1, 4, 5, 9])
    assert rows_in(loans, _keys([1, 1, 4, 9, 9])).to_list() == [0, 0, 1, 3, 3]
    # A key between the loans', or beyond them (past the table's end), has no row.
    assert rows_in(loans, _keys([0, 3, 5, 12, 10_000])).to_list() == [None, None, 2, None, None]
    assert rows_in(loans, _keys([1, 4, 4, 5])).flags["SORTED_ASC"]
    assert not rows_in(loans, _keys([5, 1])).flags["SORTED_ASC"]


@given(
    book=st.lists(st.integers(0, 300), unique=True, max_size=60),
    rows=st.lists(st.integers(0, 320), max_size=200),
    grouped=st.booleans(),
)
def test_rows_are_those_a_join_finds(book, rows, grouped):
    loans = _keys(sorted(book))
    frame = _keys(sorted(rows) if grouped else rows)
    got, want = rows_in(loans, frame), by_join(loans, frame)
    assert got.dtype == KEY and got.name == "_row"
    assert got.to_list() == want.to_list()
    if got.flags["SORTED_ASC"]:  # a wrong flag would mislead the group-bys that trust it
        assert got.drop_nulls().to_list() == sorted(got.drop_nulls().to_list())
