"""At a due date the interest the cap (and a freeze) held back comes off the instalment
(``step._post_capped_interest``). It is posted in place, on the rows falling due, each found by its
loan's position; the joins it replaced (``step._post_joined``) stay for two instalments of a loan due
on one day. Both give the same books, and the caller's frames do not change."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from arrears.book.keys import KEY
from arrears.book.step import _POSTS, _post_capped_interest, _post_joined

DAY = dt.date(2026, 6, 18)


def _book(key: pl.DataType):
    ids = ["a", "b", "c", "d"]
    loans = pl.DataFrame({
        "loan_id": ids,
        # a: cap and freeze held, more than the instalment's unpaid interest between them; b: the cap
        # only, part posted before; c: nothing held; d: held, but nothing due today.
        "interest_capped_micro": [900_000_000, 2_400_000, 0, 5_000_000],
        "interest_capped_posted": [0, 1, 0, 0],
        "interest_frozen_micro": [700_000_000, 0, 0, 5_000_000],
        "interest_frozen_posted": [0, 0, 0, 0],
        "other": [1, 2, 3, 4],
    })
    inst = pl.DataFrame({
        "loan_id": ["a", "a", "b", "c", "d", "e"],  # e: a loan not given posts nothing
        "n": [1, 2, 1, 1, 1, 1],
        "due_on": [DAY, DAY + dt.timedelta(days=30), DAY, DAY, DAY + dt.timedelta(days=3), DAY],
        "interest": [1_500, 1_400, 800, 700, 600, 500],
        "interest_capped": [0, 0, 0, 0, 0, 0],
        "paid_interest": [100, 0, 0, 0, 0, 0],
        "waived_interest": [0, 0, 0, 0, 0, 0],
    }).cast({"n": pl.Int32})
    if key == KEY:
        code = {k: i for i, k in enumerate(ids + ["e"])}
        loans, inst = (f.with_columns(pl.col("loan_id").replace_strict(code, return_dtype=KEY)) for f in (loans, inst))
    return loans, inst


def _joined(loans, inst):
    for accrued, posted, into in _POSTS:
        loans, inst = _post_joined(loans, inst, DAY, accrued, posted, into)
    return loans, inst


def test_posting_in_place_gives_what_the_joins_gave_on_keys_and_on_strings():
    for key in (KEY, pl.String):
        loans, inst = _book(key)
        given = (loans.clone(), inst.clone())
        got_loans, got_inst = _post_capped_interest(loans, inst, DAY)
        want_loans, want_inst = _joined(loans, inst)
        assert_frame_equal(got_loans, want_loans)
        assert_frame_equal(got_inst, want_inst)
        assert_frame_equal(loans, given[0])
        assert_frame_equal(inst, given[1])
        # a: the cap takes 900 of the 1,400 unpaid, the freeze the 500 left; b: 1 of its 800 (2 held, 1 posted before).
        assert got_inst["interest_capped"].to_list() == [900, 0, 1, 0, 0, 0]
        assert got_inst["waived_interest"].to_list() == [500, 0, 0, 0, 0, 0]
        assert got_loans["interest_capped_posted"].to_list() == [900, 2, 0, 0]
        assert got_loans["interest_frozen_posted"].to_list() == [500, 0, 0, 0]


def test_two_instalments_of_a_loan_due_on_one_day_post_as_the_joins_did():
    loans, inst = _book(KEY)
    inst = inst.with_columns(pl.when(pl.col("n") == 2).then(pl.lit(DAY)).otherwise(pl.col("due_on")).alias("due_on"))
    got, want = _post_capped_interest(loans, inst, DAY), _joined(loans, inst)
    assert_frame_equal(got[0], want[0])
    assert_frame_equal(got[1], want[1])
