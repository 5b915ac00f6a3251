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
