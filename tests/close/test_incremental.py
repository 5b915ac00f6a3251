"""The incremental close equals a full recomputation, account by account.

The close steps only the loans with something to do (``book.quiet``) and leaves the others' rows
alone. These tests put random books (tests/book/test_properties.py's strategy: every product rule,
every frequency and method, payments on, after and between due dates, early payoffs, residuals) in a
database, close them day by day through ``close_days``, and compare with the whole book stepped
every calendar day in memory (``step``, as the close did before it was incremental):
- every loan's state on the last day (its stored row, whatever day it is dated) and every
  instalment;
- the portfolio snapshot of every day, which counts the quiet loans from their watch rows;
- and, with a batch of payments imported late (backdated), the re-derivation of their loans.

The partition property of the day step (run per borrower partition, concatenated, it equals the
whole book) is tests/book/test_partitions.py; ``test_touched_subset_is_a_partition`` below checks
the close's own use of it: stepping only the touched loans gives, for them, what stepping the
whole book gives.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from arrears.book.quiet import watch
from arrears.book.snapshot import portfolio_snapshot
from arrears.book.state import LOAN_STATE, PAYMENTS, initial_state
from arrears.book.step import Book, step
from arrears.close.run import close_days
from arrears.ingest.products import canonical
from arrears.store import tables as t
from arrears.store.bulk import insert_frame
from arrears.store.db import make_engine, upgrade
from tests.book.test_properties import SETTINGS, books, schemes

NOW = dt.datetime(2025, 12, 1, tzinfo=dt.timezone.utc)


def _full(terms, sched, payments, prods, until):
    """The whole book stepped every calendar day; the snapshot of each day."""
    loans, inst = initial_state(terms, sched)
    day = terms["disbursed_on"].min() - dt.timedelta(days=1)
    book = Book(loans.with_columns(pl.lit(day, pl.Date).alias("as_of")), inst)
    snaps = []
    while day < until:
        day += dt.timedelta(days=1)
        # As the close: a loan enters the book on its disbursement day.
        started = terms.filter(pl.col("disbursed_on") <= day).select("loan_id")
        r = step(Book(book.loans.join(started, on="loan_id"), book.inst.join(started, on="loan_id")),
                 terms, payments.filter(pl.col("paid_on") == day), day, schemes(prods))
        book = Book(pl.concat([r.book.loans, book.loans.join(started, on="loan_id", how="anti")
                               .with_columns(pl.lit(day, pl.Date).alias("as_of"))]),
                    pl.concat([r.book.inst, book.inst.join(started, on="loan_id", how="anti")]))
        snaps.append(portfolio_snapshot(r.book.loans, r.book.inst, terms, r.movements, day))
    return book, pl.concat(snaps)


def _load(url: str, terms, sched, payments, prods) -> None:
    engine = make_engine(url)
    upgrade(engine)
    loans = terms.select("loan_id", "borrower_id", "product", "currency", pl.col("principal").alias("principal_minor"),
                        "annual_rate_nano", "term", "frequency", "period_days", "method", "disbursed_on",
                        "first_due_on", "contract_date", pl.col("penalty_rate_nano").alias("penalty_rate_daily_nano"))
    with engine.begin() as conn:
        insert_frame(conn, t.products, pl.DataFrame({
            "code": list(prods), "definition": [canonical(p) for p in prods.values()], "recorded_at": [NOW] * len(prods)}))
        insert_frame(conn, t.borrowers, loans.select(
            "borrower_id", pl.lit("X").alias("name"), pl.lit("zh-CN").alias("language"),
            pl.lit("CN").alias("jurisdiction"), pl.lit(NOW).alias("recorded_at")).unique("borrower_id"))
        insert_frame(conn, t.loans, loans.with_columns(pl.lit(NOW).alias("recorded_at")))
        insert_frame(conn, t.schedule, sched.select("loan_id", "n", "due_on", "adjusted_due_on",
                                                    pl.col("principal").alias("principal_minor"),
                                                    pl.col("interest").alias("interest_minor")))
        _pay(conn, payments)
    engine.dispose()


def _pay(conn, payments: pl.DataFrame) -> None:
    insert_frame(conn, t.payments, payments.select(
        "payment_id", "loan_id", pl.col("amount").alias("amount_minor"), pl.lit("CNY").alias("currency"), "paid_on",
        pl.lit("wallet").alias("method"), pl.lit(NOW).alias("recorded_at")))


def _stored(url: str):
    engine = make_engine(url)
    with engine.connect() as conn:
        loans = pl.read_database("SELECT * FROM loan_state", conn)
        inst = pl.read_database("SELECT * FROM instalment_state", conn)
        snaps = pl.read_database("SELECT * FROM portfolio_snapshots", conn)
        stepped = conn.execute(text("SELECT SUM(loans_stepped) FROM closed_days")).scalar()
    engine.dispose()
    return loans, inst, snaps, stepped


def _norm(frame: pl.DataFrame, schema, keys) -> pl.DataFrame:
    out = frame.select(schema.names() if hasattr(schema, "names") else list(schema))
    for c, dtype in (schema.items() if hasattr(schema, "items") else []):
        if dtype == pl.Date and out[c].dtype == pl.String:
            out = out.with_columns(pl.col(c).str.to_date())
    return out.cast(dict(schema)).sort(keys)


def _compare(url, terms, sched, payments, prods, until, snapshots_from):
    expected, snaps = _full(terms, sched, payments, prods, until)
    loans, inst, stored_snaps, stepped = _stored(url)
    # A stored row is dated the day its loan last changed; its state holds through the last closed day.
    got = _norm(loans, LOAN_STATE, "loan_id").with_columns(pl.lit(until, pl.Date).alias("as_of"))
    want = expected.loans.filter(pl.col("loan_id").is_in(got["loan_id"].implode())).sort("loan_id")
    assert got.equals(want), (got, want)
    got_i = _norm(inst, dict(expected.inst.schema), ["loan_id", "n"])
    want_i = expected.inst.filter(pl.col("loan_id").is_in(got["loan_id"].implode())).sort("loan_id", "n")
    assert got_i.equals(want_i)
    snap_schema = dict(snaps.schema)
    got_s = _norm(stored_snaps, snap_schema, ["day", "currency", "bucket"]).filter(pl.col("day") >= snapshots_from)
    want_s = snaps.filter(pl.col("day") >= snapshots_from).sort("day", "currency", "bucket")
    assert got_s.equals(want_s), (got_s, want_s)
    return stepped


@settings(max_examples=12, **SETTINGS)
@given(books(n_loans=(2, 4), max_days=110, max_payments=4), st.data())
def test_incremental_close_equals_the_whole_book_stepped_every_day(tmp_path_factory, case, data):
    terms, sched, payments, prods, until = case
    url = f"sqlite:///{tmp_path_factory.mktemp('inc')}/book.db"
    # Some payments arrive late: imported after their value date was closed, they re-derive their loan.
    late_day = terms["disbursed_on"].min() + dt.timedelta(days=data.draw(st.integers(5, 60)))
    late = payments.filter(pl.col("paid_on") <= late_day).sample(
        fraction=data.draw(st.sampled_from([0.0, 0.5, 1.0])), seed=1) if late_day < until else payments.clear()
    _load(url, terms, sched, payments.join(late, on="payment_id", how="anti"), prods)
    engine = make_engine(url)
    if not late.is_empty():
        close_days(engine, late_day, today=late_day)
        with engine.begin() as conn:
            _pay(conn, late)
    close_days(engine, until, today=until)
    engine.dispose()
    first = late_day + dt.timedelta(days=1) if not late.is_empty() else terms["disbursed_on"].min()
    _compare(url, terms, sched, payments, prods, until, first)


def test_incremental_close_on_both_databases(db_url):
    # A fixed book through the same comparison, on SQLite and PostgreSQL (ADBC reads, COPY and
    # array deletes there).
    terms, sched, payments, prods, until = _fixed_case()
    _load(db_url, terms, sched, payments, prods)
    engine = make_engine(db_url)
    close_days(engine, until, today=until)
    engine.dispose()
    stepped = _compare(db_url, terms, sched, payments, prods, until, terms["disbursed_on"].min())
    days = (until - terms["disbursed_on"].min()).days + 1
    # Incremental: far fewer loan-days stepped than the book's.
    assert stepped < 0.6 * days * terms.height, stepped


def test_incremental_close_stepped_in_parts(db_url, monkeypatch):
    # The close steps a big day in parts, two at a time, each written while the next is stepped:
    # forced here on a small book (every day with two stored touched loans or more), on both
    # databases, the same result.
    from arrears.close import run

    monkeypatch.setattr(run, "_PARTS_FROM", {"postgresql": 1, "sqlite": 1})
    seen = []
    day_parts = run.day_parts
    monkeypatch.setattr(run, "day_parts", lambda *a: seen.append(p := day_parts(*a)) or p)
    terms, sched, payments, prods, until = _fixed_case()
    _load(db_url, terms, sched, payments, prods)
    engine = make_engine(db_url)
    close_days(engine, until, today=until)
    engine.dispose()
    _compare(db_url, terms, sched, payments, prods, until, terms["disbursed_on"].min())
    assert any(sum(p.stepped for p in parts) >= 2 for parts in seen)


def test_a_payment_reversed_before_its_day_counts_for_nothing(db_url):
    # Payments dated ahead are reversed before their day comes: the reversals are taken in (their
    # loans re-derived) while the payments still wait. When a payment's day comes it is taken in
    # too, reversed: the close reads the reversals already applied on the day's paying loans, so
    # the book is the one without those payments.
    terms, sched, payments, prods, until = _fixed_case()
    ahead = pl.DataFrame({"payment_id": ["X"], "loan_id": ["L1"], "amount": [900_000],
                          "paid_on": [dt.date(2026, 3, 10)]}, schema=PAYMENTS)
    _load(db_url, terms, sched, pl.concat([payments, ahead]), prods)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        insert_frame(conn, t.payments, pl.DataFrame({
            "payment_id": ["RX", "RB"], "loan_id": ["L1", "L2"], "amount_minor": [900_000, 500_000],
            "currency": ["CNY", "CNY"], "paid_on": [dt.date(2026, 2, 1), dt.date(2026, 3, 20)],
            "method": ["wallet", "wallet"], "reverses": ["X", "B"], "recorded_at": [NOW, NOW]}))
    close_days(engine, until, today=until)
    with engine.connect() as conn:
        applied = dict(conn.execute(text("SELECT payment_id, applied_by_close FROM payments")).all())
    engine.dispose()
    # (A reversal is taken in at the first close that sees it, whatever its date.)
    assert str(applied["RX"])[:10] < "2026-03-10" and str(applied["X"])[:10] == "2026-03-10"
    counted = payments.filter(pl.col("payment_id") != "B")
    _compare(db_url, terms, sched, counted, prods, until, terms["disbursed_on"].min())


def _fixed_case():
    """A small fixed book: current, late and paid-off loans on a capped and an uncapped product."""
    from arrears.book.products import Fee, Product
    from arrears.book.schedule import schedule_frame
    from arrears.book.terms import loan_terms
    from arrears.rates import parse_rate

    prods = {
        "cap": Product("cap", cap="cn_licensed_24", grace_days=3, calendar="CN", business_day_rule="next_business_day",
                       fees=(Fee("late", "15.00", max_per_period=1, max_total="40.00"),)),
        "free": Product("free", cap="none", prepayment="reduce_term"),
    }
    rows = []
    for i, (prod, rate, method) in enumerate([("cap", "0.18", "annuity"), ("cap", "0.30", "equal_principal"),
                                              ("free", "0.06", "annuity"), ("free", "0.18", "bullet")]):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=3 * i)
        rows.append({"loan_id": f"L{i}", "borrower_id": f"B{i}", "product": prod, "currency": "CNY",
                     "principal_minor": 1_000_000 + 1_000 * i, "annual_rate_nano": parse_rate(rate), "term": 4,
                     "frequency": "monthly", "period_days": None, "method": method, "disbursed_on": start,
                     "first_due_on": None, "contract_date": start,
                     "penalty_rate_daily_nano": parse_rate("0.0005"), "lender_type": None})
    frame = pl.DataFrame(rows, schema_overrides={"period_days": pl.Int64, "first_due_on": pl.Date,
                                                 "lender_type": pl.String})
    terms = loan_terms(frame, prods)
    sched = schedule_frame(terms, prods)
    first = sched.filter(pl.col("n") == 1)
    payments = pl.DataFrame({
        "payment_id": ["A", "B", "C"], "loan_id": ["L0", "L2", "L3"],
        "amount": [int(first.filter(pl.col("loan_id") == "L0")["principal"][0]
                       + first.filter(pl.col("loan_id") == "L0")["interest"][0]), 500_000, 2_000_000],
        "paid_on": [first.filter(pl.col("loan_id") == "L0")["due_on"][0], dt.date(2026, 2, 20), dt.date(2026, 3, 1)],
    }, schema=PAYMENTS)
    return terms, sched, payments, prods, dt.date(2026, 4, 30)


def test_touched_subset_is_a_partition():
    # The close steps the touched loans alone; for them that is the whole-book step, and every other
    # loan's step changes nothing but its date (which is what makes it quiet).
    terms, sched, payments, prods, until = _fixed_case()
    loans, inst = initial_state(terms, sched)
    day = dt.date(2026, 2, 5)
    book, _ = _full(terms, sched, payments, prods, day - dt.timedelta(days=1))
    w = watch(book, terms, day - dt.timedelta(days=1), schemes(prods))
    quiet = w.filter(pl.col("quiet_until") >= day).select("loan_id")
    touched = book.loans.select("loan_id").join(quiet, on="loan_id", how="anti")
    whole = step(book, terms, payments.filter(pl.col("paid_on") == day), day, schemes(prods))
    part = step(Book(book.loans.join(touched, on="loan_id"), book.inst.join(touched, on="loan_id")), terms,
                payments.filter(pl.col("paid_on") == day), day, schemes(prods))
    assert part.book.loans.sort("loan_id").equals(whole.book.loans.join(touched, on="loan_id").sort("loan_id"))
    rest = whole.book.loans.join(quiet, on="loan_id").drop("as_of").sort("loan_id")
    assert rest.equals(book.loans.join(quiet, on="loan_id").drop("as_of").sort("loan_id"))
