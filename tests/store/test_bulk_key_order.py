"""The staged load's rows in primary-key order: sorted when they are not, left as they are when they are."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from arrears.store import tables as t
from arrears.store.bulk import _in_key_order

keys = st.lists(st.tuples(st.text(alphabet="AaLé0_9", min_size=0, max_size=4), st.integers(1, 40)),
                unique=True, max_size=60)


@given(keys)
def test_rows_come_out_in_key_order_and_a_sorted_frame_is_not_copied(pairs):
    frame = pl.DataFrame(pairs, schema={"loan_id": pl.String, "n": pl.Int32}, orient="row")
    out = _in_key_order(t.schedule, frame)
    # Python orders str by code point, which for UTF-8 is the byte order SQLite's BINARY uses.
    assert out.rows() == sorted(pairs)
    assert (out is frame) == (frame.rows() == sorted(pairs))


@given(keys)
def test_the_referring_keys_are_each_distinct_value_once(pairs):
    from arrears.store.bulk import _referring

    frame = _in_key_order(t.schedule, pl.DataFrame(pairs, schema={"loan_id": pl.String, "n": pl.Int32}, orient="row"))
    (fk,) = t.schedule.foreign_key_constraints
    assert _referring(t.schedule, frame, fk).get_column("loan_id").to_list() == sorted({k for k, _ in pairs})
    loans = pl.DataFrame({"loan_id": [k for k, _ in pairs], "borrower_id": [k[::-1] or None for k, _ in pairs]})
    (owner,) = t.loans.foreign_key_constraints
    expected = sorted({k[::-1] for k, _ in pairs if k})
    assert _referring(t.loans, _in_key_order(t.loans, loans.unique("loan_id")), owner).get_column("borrower_id").to_list() == expected
