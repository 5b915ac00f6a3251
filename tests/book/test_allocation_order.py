"""The waterfall's order within a group, over many loans at once: ``principal_first`` pays every due
instalment's principal oldest first. Its first group holds one item per due instalment, so the order
rests on the sort key alone; a key that tied them (as it once did) left the order to a parallel
sort, which on a batch of thousands of loans pays a later instalment before an earlier one.
The worked examples show the order on one loan; this checks it on a book."""

from __future__ import annotations

import polars as pl
import pytest

from arrears.book.step import step
from tests.book.test_partitions import _bench


@pytest.mark.parametrize("seed", [11, 12])
def test_principal_first_pays_the_oldest_due_principal_first_across_a_book(seed):
    inp = _bench().generate(20_000, seed, shape="issue")
    terms = inp.terms.with_columns(pl.lit("principal_first").alias("allocation"))
    r = step(inp.book, terms, inp.payments, inp.day, inp.schemes)

    # n = 0 is principal prepaid (not due), after every due item.
    paid = r.allocations.filter((pl.col("component") == "principal") & (pl.col("n") > 0)).select("loan_id", "n", "amount")
    # A loan paying principal on several instalments today: the ones with a more recent
    # instalment's principal paid while an older due one is left unpaid.
    due = inp.book.inst.filter(pl.col("adjusted_due_on") <= inp.day).select("loan_id", "n")
    unpaid_after = (
        r.book.inst.join(due, on=["loan_id", "n"])
        .filter(pl.col("principal") > pl.col("paid_principal") + pl.col("waived_principal"))
        .group_by("loan_id").agg(pl.col("n").min().alias("oldest_unpaid"))
    )
    newest_paid = paid.group_by("loan_id").agg(pl.col("n").max().alias("newest_paid"), pl.len().alias("items"))
    jumped = newest_paid.join(unpaid_after, on="loan_id").filter(pl.col("newest_paid") > pl.col("oldest_unpaid"))
    assert jumped.is_empty(), jumped.head(5)
    # The book exercises the rule: many loans pay principal on several due instalments in one day.
    assert newest_paid.filter(pl.col("items") >= 2).height >= 20
    # And within each loan the allocation rows come oldest first.
    out_of_order = paid.filter(pl.col("n") < pl.col("n").shift(1).over("loan_id"))
    assert out_of_order.is_empty(), out_of_order.head(5)
