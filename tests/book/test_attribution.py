"""Attribution finds each use's sources by its loan (``allocation._one_source``): on the step's
keys by a table indexed by key, elsewhere by binary searches. Both tell the same loans apart: those
with exactly one source, and where that source is."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from arrears.book.allocation import _one_source
from arrears.book.keys import KEY


@given(sources=st.lists(st.integers(0, 40), max_size=60), uses=st.lists(st.integers(0, 45), max_size=80))
def test_one_source_on_keys_is_what_the_searches_find(sources, uses):
    s, u = sorted(sources), sorted(uses)
    at, one = _one_source(pl.Series("loan_id", s, KEY), pl.Series("loan_id", u, KEY))
    # The same on Int64 ids: the binary searches.
    at_s, one_s = _one_source(pl.Series("loan_id", s, pl.Int64), pl.Series("loan_id", u, pl.Int64))
    assert one.to_list() == one_s.to_list() == [s.count(x) == 1 for x in u]
    assert at.filter(one).to_list() == at_s.filter(one_s).to_list() == [s.index(x) for x in u if s.count(x) == 1]
