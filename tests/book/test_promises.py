"""Promises kept or broken, from the payments (partial payments count)."""

import datetime as dt

import polars as pl

from arrears.book.promises import PROMISES, decide

D = dt.date


def promises(*rows):
    return pl.DataFrame([dict(zip(PROMISES.names(), r)) for r in rows], schema=PROMISES)


def pays(*rows):
    return pl.DataFrame(
        {"payment_id": [f"p{i}" for i in range(len(rows))], "loan_id": [r[0] for r in rows],
         "amount": [r[1] for r in rows], "paid_on": [r[2] for r in rows]},
        schema={"payment_id": pl.String, "loan_id": pl.String, "amount": pl.Int64, "paid_on": pl.Date},
    )


P = promises(("E1", "L1", 50_000, D(2026, 4, 16), D(2026, 5, 20)))


def status(payments, day):
    return decide(P, payments, day).row(0, named=True)


def test_open_until_its_date_then_broken_the_day_after():
    none = pays()
    assert status(none, D(2026, 5, 20))["status"] == "open"
    r = status(none, D(2026, 5, 21))
    assert (r["status"], r["decided_on"], r["paid_toward"]) == ("broken", D(2026, 5, 21), 0)


def test_partial_payments_add_up_to_keep_it():
    two = pays(("L1", 20_000, D(2026, 5, 1)), ("L1", 30_000, D(2026, 5, 18)))
    assert status(two, D(2026, 5, 10))["status"] == "open"  # 200.00 of 500.00 so far
    r = status(two, D(2026, 5, 18))
    assert (r["status"], r["decided_on"], r["paid_toward"]) == ("kept", D(2026, 5, 18), 50_000)


def test_short_or_late_or_before_the_promise_does_not_keep_it():
    short = pays(("L1", 49_999, D(2026, 5, 20)))
    late = pays(("L1", 50_000, D(2026, 5, 21)))
    before = pays(("L1", 50_000, D(2026, 4, 15)))  # paid before the promise was made
    other_loan = pays(("L2", 50_000, D(2026, 5, 1)))
    for payments in (short, late, before, other_loan):
        assert status(payments, D(2026, 6, 1))["status"] == "broken"


def test_a_payment_known_later_is_counted_when_asked_again():
    # Decided broken on 05-21 with what was known then; a backdated payment of 05-19 keeps it.
    assert status(pays(), D(2026, 5, 25))["status"] == "broken"
    assert status(pays(("L1", 50_000, D(2026, 5, 19))), D(2026, 5, 25))["status"] == "kept"
