import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from arrears.book.step import Book
from arrears.close.parts import cut, own_facts


def _book(counts: list[int]) -> Book:
    ids = [f"L{i:03d}" for i in range(len(counts))]
    loans = pl.DataFrame({"loan_id": ids, "x": range(len(ids))})
    inst = pl.DataFrame({"loan_id": [i for i, c in zip(ids, counts) for _ in range(c)],
                         "n": [n for c in counts for n in range(1, c + 1)]}, schema={"loan_id": pl.String, "n": pl.Int32})
    return Book(loans, inst)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=30), st.integers(1, 5),
       st.lists(st.integers(0, 40), max_size=40), st.sets(st.integers(100, 110), max_size=4))
def test_slices_and_facts_are_a_partition_by_loan(counts, parts, paying, extra):
    book = _book(counts)
    at = cut(book, parts)
    slices = at.slices(book)
    assert len(slices) == min(parts, len(counts))
    # The slices, one after the other, are the book: no row lost, none twice, none moved.
    assert pl.concat([s.loans for s in slices]).equals(book.loans)
    assert pl.concat([s.inst for s in slices]).equals(book.inst)
    for s in slices:
        assert set(s.inst["loan_id"]) <= set(s.loans["loan_id"])
    # Facts of the book's loans, of the extra part's and of loans in none: each row goes to one
    # part, the part holding its loan (a loan in none goes where its id falls), in its order.
    extra_ids = pl.Series("loan_id", sorted(f"L{i:03d}" for i in extra), pl.String)
    facts = pl.DataFrame({"loan_id": [f"L{i:03d}" for i in paying] + extra_ids.to_list(),
                          "row": range(len(paying) + extra_ids.len())}, schema={"loan_id": pl.String, "row": pl.Int64})
    shared = own_facts(facts, at, [extra_ids])
    assert len(shared) == len(slices) + 1
    assert pl.concat(shared).sort("row").equals(facts)
    for s, f in zip(slices, shared):
        assert f["row"].is_sorted()
        inside = f.filter(pl.col("loan_id").is_in(book.loans["loan_id"].implode()))
        assert set(inside["loan_id"]) <= set(s.loans["loan_id"])
    assert set(shared[-1]["loan_id"]) == set(extra_ids)


def test_facts_of_a_book_in_one_slice_with_no_loan_starting():
    # The close's commonest small day: one slice, no new and no taken-on loan. The part index is
    # then a literal; it must still mark every row of facts read in several chunks (a one-row mask
    # does not broadcast over those: the simulator's day once failed here).
    book = _book([1] * 50)
    facts = pl.DataFrame({"loan_id": [f"L{i % 50:03d}" for i in range(1783)], "row": range(1783)})
    facts = pl.concat([facts.head(1000), facts.tail(783)], rechunk=False)
    assert facts.n_chunks() == 2
    none = pl.Series("loan_id", [], pl.String)
    shared = own_facts(facts, cut(book, 1), [none, none])
    assert [f.height for f in shared] == [1783, 0, 0]
    assert shared[0].equals(facts)
