"""Properties of the book over random loans and random payment sets (hypothesis, derandomized).

- money is never dropped: every payment equals the sum of its allocations (credit included);
- late fees charged never pass the product's max_total;
- no balance, and no instalment's unpaid amount, is ever negative;
- the order in which payments are given (rows, payment_ids) does not change the final state;
- a backdated payment changes nothing before its value date;
- total_outstanding and payoff_amount never include future interest;
- stepping every calendar day gives the same book as replay's event-day jumps (the quiet-span
  accrual is exact);
- a charge-off, a write-off or a restructure that waives the arrears changes what is owed only by
  what it records as waived (or written off): nothing vanishes unrecorded.

Each example is a small batch of loans replayed together (the step is columnar: one loan or many
go through the same expressions), which also checks that loans in one book do not interfere.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.book.adjustments import ADJUSTMENTS
from arrears.book.balances import BALANCE_COLUMNS, balances, unpaid_interest, unpaid_principal
from arrears.book.products import Fee, Product
from arrears.book.replay import replay
from arrears.book.schedule import schedule_frame
from arrears.book.state import initial_state
from arrears.book.step import Book, step
from arrears.book.terms import loan_terms
from arrears.rates import parse_rate

START = dt.date(2026, 1, 1)
PAY_SCHEMA = {"payment_id": pl.String, "loan_id": pl.String, "amount": pl.Int64, "paid_on": pl.Date}

SETTINGS = {"derandomize": True, "deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


# --------------------------------------------------------------------------- strategies


@st.composite
def products(draw, code: str) -> Product:
    fee = draw(st.sampled_from([(), (Fee("late", "15.00", max_per_period=1, max_total="40.00"),),
                                (Fee("late", "5.00"),)]))
    return Product(
        code,
        allocation=draw(st.sampled_from(["oldest_first_penalty_fees_interest_principal",
                                         "component_major", "principal_first"])),
        prepayment=draw(st.sampled_from(["hold_as_credit", "reduce_term", "reduce_instalment"])),
        penalty_base=draw(st.sampled_from(["overdue_principal", "overdue_principal_and_interest"])),
        cap=draw(st.sampled_from(["none", "cn_licensed_24", "annual_rate:0.2"])),
        grace_days=draw(st.sampled_from([0, 0, 3])),
        arrears_tolerance=draw(st.sampled_from(["0", "0", "1.00"])),
        residual_writeoff_below=draw(st.sampled_from(["0", "0", "2.00"])),
        charge_off_dpd=draw(st.sampled_from([120, 45])),
        buckets=draw(st.sampled_from([(1, 30, 60, 90, 120, 180), (1, 15, 31)])),
        business_day_rule=draw(st.sampled_from(["none", "next_business_day"])),
        calendar="CN",
        fees=fee,
    )


@st.composite
def loan_rows(draw, loan_id: str, product: str, max_days: int) -> dict:
    frequency = draw(st.sampled_from(["monthly", "biweekly", "weekly", "days"]))
    period_days = draw(st.integers(7, 35)) if frequency == "days" else None
    span = {"monthly": 30, "biweekly": 14, "weekly": 7, "days": period_days}[frequency]
    term = draw(st.integers(1, max(1, min(6, max_days // span))))
    disbursed = START + dt.timedelta(days=draw(st.integers(0, 10)))
    first_due = None
    if frequency != "days" and draw(st.booleans()):
        first_due = disbursed + dt.timedelta(days=draw(st.integers(span // 2 + 1, span + 10)))
    return {
        "loan_id": loan_id, "borrower_id": "B" + loan_id, "product": product, "currency": "CNY",
        "principal_minor": draw(st.integers(500, 3_000_000)),
        "annual_rate_nano": parse_rate(draw(st.sampled_from(["0", "0.06", "0.18", "0.30"]))),
        "term": term, "frequency": frequency, "period_days": period_days,
        "method": draw(st.sampled_from(["annuity", "equal_principal", "interest_only", "bullet"])),
        "disbursed_on": disbursed, "first_due_on": first_due, "contract_date": disbursed,
        "penalty_rate_daily_nano": parse_rate(draw(st.sampled_from(["0", "0.0005", "0.003"]))),
        "lender_type": None,
    }


@st.composite
def books(draw, n_loans=(1, 2), max_days: int = 120, max_payments: int = 5):
    """A batch: terms, schedule, payments, products and a horizon."""
    n = draw(st.integers(*n_loans))
    prods = {f"P{i}": draw(products(f"P{i}")) for i in range(n)}
    rows = [draw(loan_rows(f"L{i}", f"P{i}", max_days)) for i in range(n)]
    frame = pl.DataFrame(rows, schema_overrides={"period_days": pl.Int64, "first_due_on": pl.Date,
                                                 "lender_type": pl.String})
    terms = loan_terms(frame, prods)
    sched = schedule_frame(terms, prods)
    until = START + dt.timedelta(days=draw(st.integers(15, max_days)))
    pays = []
    for r in rows:
        due = sched.filter(pl.col("loan_id") == r["loan_id"])
        instalment = int((due["principal"] + due["interest"]).max())
        total = int((due["principal"] + due["interest"]).sum())
        for _ in range(draw(st.integers(0, max_payments))):
            kind = draw(st.sampled_from(["instalment", "instalment", "small", "part", "large", "odd",
                                         "all_but"]))
            amount = {
                "instalment": instalment,
                "small": draw(st.integers(1, max(1, instalment // 3))),
                "part": draw(st.integers(instalment, max(instalment, r["principal_minor"]))),
                "large": draw(st.integers(instalment, 2 * r["principal_minor"])),
                "odd": draw(st.integers(1, 2 * instalment)),
                # the whole contract but a few fen (a residual to write off, on the last due date)
                "all_but": max(1, total - draw(st.integers(0, 300))),
            }[kind]
            if draw(st.booleans()):  # on, or a few days after, a due date
                day = draw(st.sampled_from(due["due_on"].to_list())) + dt.timedelta(
                    days=draw(st.sampled_from([0, 0, 1, 2, 5, 40])))
            else:
                day = r["disbursed_on"] + dt.timedelta(
                    days=draw(st.integers(0, (until - r["disbursed_on"]).days + 10)))
            pays.append((f"{r['loan_id']}-{len(pays):02d}", r["loan_id"], amount, max(day, r["disbursed_on"])))
    payments = pl.DataFrame(
        {"payment_id": [p[0] for p in pays], "loan_id": [p[1] for p in pays],
         "amount": [p[2] for p in pays], "paid_on": [p[3] for p in pays]}, schema=PAY_SCHEMA,
    )
    return terms, sched, payments, prods, until


def schemes(prods):
    return {k: p.buckets for k, p in prods.items()}


def run(terms, sched, payments, prods, until):
    return replay(terms, sched, payments, until, schemes(prods))


def same_book(a, b) -> None:
    assert a.loans.sort("loan_id").equals(b.loans.sort("loan_id")), (a.loans, b.loans)
    assert a.inst.sort("loan_id", "n").equals(b.inst.sort("loan_id", "n"))


def step_every_day(terms, sched, payments, prods, until, check=None):
    """The nightly close's way: one step per calendar day from the day before disbursement.
    Returns the book and the allocations; ``check(book, day)`` runs after every day."""
    loans, inst = initial_state(terms, sched)
    day = terms["disbursed_on"].min() - dt.timedelta(days=1)
    book = Book(loans.with_columns(pl.lit(day, pl.Date).alias("as_of")), inst)
    allocations = []
    while day < until:
        day += dt.timedelta(days=1)
        result = step(book, terms, payments.filter(pl.col("paid_on") == day), day, schemes(prods))
        book = result.book
        allocations.append(result.allocations)
        if check is not None:
            check(book, day)
    return book, pl.concat(allocations)


def _check_state(book: Book, day: dt.date) -> None:
    loans, inst = book.loans, book.inst
    b = balances(loans, inst, day)
    for c in BALANCE_COLUMNS:
        assert (b[c] >= 0).all(), (c, b)
    neg = inst.filter((unpaid_principal() < 0) | (unpaid_interest() < 0)
                      | (pl.col("interest_capped") > pl.col("interest")))
    assert neg.is_empty(), neg
    for c in ("credit", "penalty_paid", "fees_paid", "capped_micro", "recovered", "written_off", "dpd"):
        assert (loans[c] >= 0).all(), c
    # Future interest is never owed: payoff and total are made of what is due or accrued to ``day``.
    assert (b["payoff_amount"] <= b["principal_outstanding"] + b["interest_due"] + b["accrued_interest"]
            + b["penalty"] + b["fees"]).all()
    assert (b["total_outstanding"] == b["principal_outstanding"] + b["interest_due"]
            + b["accrued_interest"] + b["penalty"] + b["fees"]).all()
    # interest_due covers only instalments due by ``day``
    due = inst.filter(pl.col("due_on") <= day).group_by("loan_id").agg(
        unpaid_interest().sum().alias("due_interest"))
    chk = b.join(due, on="loan_id", how="left").with_columns(pl.col("due_interest").fill_null(0))
    assert (chk["interest_due"] == chk["due_interest"]).all()
    # accrued interest is at most the current instalment's (unpaid, uncapped) interest, and the
    # current instalment is the one whose period contains ``day``
    cur = b.filter(pl.col("current_n").is_not_null()).join(
        inst.select("loan_id", pl.col("n").alias("current_n"), "interest", "period_start", "due_on",
                    (pl.col("interest") - pl.col("interest_capped") - pl.col("paid_interest")
                     - pl.col("waived_interest")).alias("left")),
        on=["loan_id", "current_n"])
    assert (cur["accrued_interest"] <= cur["interest"]).all()
    assert (cur["accrued_interest"] <= cur["left"]).all()
    assert ((cur["period_start"] < day) & (cur["due_on"] > day)).all()
    # no current period (before the first day, after maturity): nothing accrued
    assert (b.filter(pl.col("current_n").is_null())["accrued_interest"] == 0).all()


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, **SETTINGS)
@given(books(), st.randoms(use_true_random=False))
def test_money_never_dropped_nothing_negative_and_order_free(case, rnd: random.Random):
    terms, sched, payments, prods, until = case
    h = run(terms, sched, payments, prods, until)

    # Every payment made by ``until`` is allocated in full: its allocations (credit included) sum
    # to its amount. Held credit spent later appears with source "credit", never twice.
    made = payments.filter(pl.col("paid_on") <= until)
    by_source = h.allocations.group_by("source").agg(pl.col("amount").sum().alias("allocated"))
    joined = made.join(by_source, left_on="payment_id", right_on="source", how="left")
    assert joined.filter(pl.col("allocated").fill_null(0) != pl.col("amount")).is_empty(), joined
    assert set(by_source["source"].to_list()) <= set(made["payment_id"].to_list()) | {"credit"}
    assert (h.allocations["amount"] > 0).all()
    # Credit spent plus credit still held equals credit ever held.
    held = h.allocations.filter((pl.col("component") == "credit") & (pl.col("source") != "credit"))["amount"].sum()
    spent = h.allocations.filter(pl.col("source") == "credit")["amount"].sum()
    assert spent + h.book.loans["credit"].sum() == held
    # Money in = money applied: collected (movements) equals the payments made.
    assert h.movements["collected"].sum() == made["amount"].sum()

    _check_state(h.book, until)
    # Late fees never pass the product's max_total, which counts what was charged (after the cap).
    limited = h.book.loans.join(terms.select("loan_id", "late_fee_max_total"), on="loan_id").filter(
        pl.col("late_fee_max_total").is_not_null())
    assert (limited["fees_micro"] <= limited["late_fee_max_total"] * 1_000_000).all()

    # The same payments given in another order (rows shuffled) and with their payment_ids
    # permuted among the rows: the final state is the same (attribution to ids may move, the
    # amounts applied per component may not).
    order = list(range(payments.height))
    rnd.shuffle(order)
    ids = payments["payment_id"].to_list()
    rnd.shuffle(ids)
    other = payments.with_columns(pl.Series("payment_id", ids, pl.String))[order] if order else payments
    h2 = run(terms, sched, other, prods, until)
    same_book(h.book, h2.book)
    key = ["loan_id", "day", "component", "n"]

    def totals(a: pl.DataFrame) -> pl.DataFrame:
        return a.group_by(key).agg(pl.col("amount").sum()).sort(key)

    assert totals(h.allocations).equals(totals(h2.allocations))


@settings(max_examples=30, **SETTINGS)
@given(books(), st.data())
def test_backdated_payment_changes_nothing_before_its_value_date(case, data):
    terms, sched, payments, prods, until = case
    row = terms.row(data.draw(st.integers(0, terms.height - 1)), named=True)
    earliest = payments.filter(pl.col("loan_id") == row["loan_id"])["paid_on"].min() or until
    latest_ok = min(earliest, until)
    if latest_ok <= row["disbursed_on"]:
        value_date = row["disbursed_on"]
    else:
        value_date = row["disbursed_on"] + dt.timedelta(
            days=data.draw(st.integers(0, (latest_ok - row["disbursed_on"]).days)))
    late = pl.DataFrame({"payment_id": ["backdated"], "loan_id": [row["loan_id"]],
                         "amount": [data.draw(st.integers(1, row["principal"]))],
                         "paid_on": [value_date]}, schema=PAY_SCHEMA)
    with_it = pl.concat([payments, late])
    day_before = value_date - dt.timedelta(days=1)
    if day_before < terms["disbursed_on"].min():
        return
    same_book(run(terms, sched, payments, prods, day_before).book,
              run(terms, sched, with_it, prods, day_before).book)
    # ... and on its value date it has been counted, in full.
    h = run(terms, sched, with_it, prods, value_date)
    assert h.allocations.filter(pl.col("source") == "backdated")["amount"].sum() == late["amount"][0]


@settings(max_examples=7, **SETTINGS)
@given(books(n_loans=(2, 3), max_days=100, max_payments=4))
def test_stepping_every_day_equals_event_day_replay(case):
    # The quiet-span accrual (``days`` identical days in one multiplication) must be exact: the
    # nightly close (one step per day, every loan) and the account view (event days only) agree.
    terms, sched, payments, prods, until = case
    # Every day on the way is also checked: nothing negative, no future interest.
    daily, daily_alloc = step_every_day(terms, sched, payments, prods, until, check=_check_state)
    jumped = run(terms, sched, payments, prods, until)
    same_book(daily, jumped.book)
    assert daily_alloc.equals(jumped.allocations)


def _owed_and_recorded(h, loan_id: str, day: dt.date) -> tuple[int, int, int]:
    """(what the loan owes net of held credit, + everything recorded as waived; written off; status)"""
    loans = h.book.loans.filter(pl.col("loan_id") == loan_id)
    inst = h.book.inst.filter(pl.col("loan_id") == loan_id)
    b = balances(loans, inst, day).row(0, named=True)
    s = loans.row(0, named=True)
    waived = (inst["waived_principal"].sum() + inst["waived_interest"].sum() + s["penalty_waived"]
              + s["fees_waived"])
    return b["total_outstanding"] - b["credit"] + waived, waived - s["written_off"], s["status"]


@settings(max_examples=40, **SETTINGS)
@given(books(), st.data())
def test_charge_off_write_off_and_waiving_restructure_record_what_they_take(case, data):
    # Receivable = what was due - paid - waived - written off: an adjustment that ends the running
    # period early may move amounts from "owed" to "waived" (written_off is a record of part of
    # the waivers) but never make them vanish. Compared on the adjustment's day with the same book
    # without it (the loan's payments that day left out of both, so only the adjustment differs).
    terms, sched, payments, prods, until = case
    row = terms.row(data.draw(st.integers(0, terms.height - 1)), named=True)
    lid = row["loan_id"]
    day = row["disbursed_on"] + dt.timedelta(days=data.draw(st.integers(1, max(1, (until - row["disbursed_on"]).days))))
    payments = payments.filter((pl.col("loan_id") != lid) | (pl.col("paid_on") != day))
    kind = data.draw(st.sampled_from(["charge_off", "write_off", "restructure"]))
    params = None
    if kind == "restructure":
        params = json.dumps({"term": data.draw(st.integers(1, 4)), "reason": "hardship",
                             "arrears": {"penalty": "waive", "interest": "waive", "fees": "waive"}})
    before = replay(terms, sched, payments, day - dt.timedelta(days=1), schemes(prods)).book.loans
    b = before.filter(pl.col("loan_id") == lid).row(0, named=True)
    if b["status"] not in ("current", "delinquent", "restructured"):
        return  # the decisions are taken on open loans (a restructure of a closed one is refused at import)
    adj = pl.DataFrame([{"adjustment_id": "a1", "loan_id": lid, "type": kind, "effective_on": day, "amount": None,
                         "params": params, "approved_by": "u1"}], schema=ADJUSTMENTS)
    without = replay(terms, sched, payments, day, schemes(prods))
    with_it = replay(terms, sched, payments, day, schemes(prods), adj)
    owed0, waived_not_written0, _ = _owed_and_recorded(without, lid, day)
    owed1, waived_not_written1, status = _owed_and_recorded(with_it, lid, day)
    assert owed1 == owed0, (kind, owed0, owed1)
    assert status == {"charge_off": "charged_off", "write_off": "written_off", "restructure": "restructured"}[kind]
    if kind != "restructure":
        # Everything a charge-off or write-off takes off the receivable is recorded as written off.
        assert waived_not_written1 == waived_not_written0
