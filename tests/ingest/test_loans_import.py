"""Loans import on both backends: every problem listed, atomic, idempotent, schedules stored.

INTERFACE.md (Conventions; loans): a bad file exits 2, lists every problem as ``row N, column C: …``
and changes nothing; the same file twice changes nothing; a stored key with other content is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from arrears.book.products import DEFAULT, parse_products
from arrears.book.schedule import LoanTerms, build
from arrears.ingest.runner import import_file
from arrears.problems import BadInput
from arrears.rates import NANO
from arrears.store import tables as t
from tests.ingest.support import PROBLEM_LINE, flat, problem_lines, snapshot, write_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = dt.date(2026, 1, 1)
NOW = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
LOAN_COLUMNS = (
    "loan_id", "borrower_id", "product", "currency", "principal", "annual_rate", "term",
    "frequency", "period_days", "method", "disbursed_on",
)


# --------------------------------------------------------------------------- helpers


def loan(loan_id: str, **over: str) -> dict:
    row = {
        "loan_id": loan_id, "borrower_id": "B001", "product": "cn_online", "currency": "CNY",
        "principal": "10000.00", "annual_rate": "0.18", "term": "12", "frequency": "monthly",
        "period_days": "", "method": "annuity", "disbursed_on": "2026-01-15",
    }
    row.update(over)
    return row


def imp(engine, kind: str, path: Path, day: dt.date = DAY, **kw):
    return import_file(engine, kind, path, business_date=day, now=NOW, **kw)


@pytest.fixture
def book(engine):
    """The sample products and borrowers, imported."""
    imp(engine, "products", EXAMPLES / "products.toml")
    imp(engine, "borrowers", EXAMPLES / "borrowers.csv")
    return engine


# --------------------------------------------------------------------------- every problem, nothing changed


def test_five_problems_are_all_listed_and_nothing_changes(book, db_url, cli, tmp_path):
    imp(book, "loans", EXAMPLES / "loans.csv")
    before = snapshot(book)
    path = write_csv(
        tmp_path / "bad.csv",
        [
            loan("N001"),  # row 1: fine
            loan("N002", currency="XYZ"),  # row 2
            loan("N003", principal="1000.123"),  # row 3: CNY has 2 decimals
            loan("N004"),  # row 4: fine
            loan("N005", disbursed_on="2026-02-30"),  # row 5
            loan("N006", frequency="days", term="1", method="bullet"),  # row 6: no period_days
            loan("N007", borrower_id="B999"),  # row 7: unknown borrower
        ],
        LOAN_COLUMNS,
    )

    result = cli("import", "loans", path, "--date", "2026-01-02", db=db_url)

    assert result.exit_code == 2, result.output
    assert problem_lines(result.output) == [
        (2, "currency"),
        (3, "principal"),
        (5, "disbursed_on"),
        (6, "period_days"),
        (7, "borrower_id"),
    ], result.output
    text = flat(result.output)
    assert "5 problem(s)" in text
    assert "'XYZ' is not a known ISO 4217 currency" in text
    assert "'1000.123' has more decimals than CNY allows (2)" in text
    assert "'2026-02-30' is not a date" in text
    assert "is required when frequency is days" in text
    assert "borrower 'B999' is not known" in text
    assert snapshot(book) == before


def test_problems_are_listed_in_row_order_with_file_columns(book, db_url, cli, tmp_path):
    """Several problems in one row are all listed; rows are counted from 1 (CSV line = row + 1)."""
    path = write_csv(
        tmp_path / "bad.csv",
        [loan("N001"), loan("N002", term="0", method="annuities", annual_rate="18")],
        LOAN_COLUMNS,
    )
    before = snapshot(book)
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2
    assert sorted(problem_lines(result.output)) == [(2, "annual_rate"), (2, "method"), (2, "term")]
    assert snapshot(book) == before


# --------------------------------------------------------------------------- idempotence


def test_same_file_twice_changes_nothing(book, db_url, cli):
    first = cli("import", "loans", EXAMPLES / "loans.csv", "--date", "2026-01-01", db=db_url)
    assert first.exit_code == 0, first.output
    assert "6 rows read, 6 added" in first.output
    after_first = snapshot(book)
    assert len(after_first["loans"]) == 6
    assert len([r for r in after_first["imports"] if r[1] == "loans"]) == 1

    second = cli("import", "loans", EXAMPLES / "loans.csv", "--date", "2026-01-05", db=db_url)
    assert second.exit_code == 0, second.output
    assert "6 rows read, 0 added" in second.output
    assert snapshot(book) == after_first  # every table, the imports log included


def test_identical_repeated_rows_in_one_file_are_harmless(book, tmp_path):
    path = write_csv(tmp_path / "l.csv", [loan("N001"), loan("N001")], LOAN_COLUMNS)
    result = imp(book, "loans", path)
    assert (result.rows_added, len(snapshot(book)["loans"])) == (1, 1)


def test_new_rows_in_a_later_file_are_added_alongside_known_ones(book, tmp_path):
    imp(book, "loans", EXAMPLES / "loans.csv")
    path = write_csv(tmp_path / "more.csv", [loan("L001", principal="10000.00", term="12",
                     annual_rate="0.18", disbursed_on="2026-01-15", penalty_rate_daily="0.0005",
                     lender_type="licensed"), loan("N100")],
                     (*LOAN_COLUMNS, "penalty_rate_daily", "lender_type"))
    assert imp(book, "loans", path).rows_added == 1
    assert len(snapshot(book)["loans"]) == 7


# --------------------------------------------------------------------------- changed content


def test_same_loan_id_with_other_content_is_refused(book, db_url, cli, tmp_path):
    imp(book, "loans", EXAMPLES / "loans.csv")
    before = snapshot(book)
    rows = list(csv.DictReader((EXAMPLES / "loans.csv").open(encoding="utf-8")))
    rows[2]["principal"] = "1600.00"  # L003, row 3
    rows.append(loan("N001"))  # a new, valid loan must not land either
    path = write_csv(tmp_path / "changed.csv", rows, tuple(rows[0]))

    result = cli("import", "loans", path, db=db_url)

    assert result.exit_code == 2, result.output
    assert problem_lines(result.output) == [(3, "principal")]
    text = flat(result.output)
    assert "loan 'L003' already exists" in text
    assert "correction adjustment" in text
    assert snapshot(book) == before


def test_same_loan_id_twice_in_one_file_with_other_content_is_refused(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(
        tmp_path / "dup.csv", [loan("N001"), loan("N002"), loan("N001", term="6")], LOAN_COLUMNS
    )
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2
    assert problem_lines(result.output) == [(3, "loan_id")]
    assert "first at row 1" in flat(result.output)
    assert snapshot(book) == before


# --------------------------------------------------------------------------- columns


def test_unknown_extra_column_is_refused_unless_allowed(book, db_url, cli, tmp_path):
    rows = [dict(loan("N001"), branch_code="HZ-01")]
    path = write_csv(tmp_path / "extra.csv", rows, (*LOAN_COLUMNS, "branch_code"))
    before = snapshot(book)

    refused = cli("import", "loans", path, db=db_url)
    assert refused.exit_code == 2
    assert "column branch_code: unknown column" in flat(refused.output)
    assert "--allow-extra-columns" in flat(refused.output)
    assert snapshot(book) == before

    allowed = cli("import", "loans", path, "--allow-extra-columns", db=db_url)
    assert allowed.exit_code == 0, allowed.output
    assert [r[0] for r in snapshot(book)["loans"]] == ["N001"]


def test_missing_required_column_is_refused(book, db_url, cli, tmp_path):
    path = write_csv(tmp_path / "l.csv", [loan("N001")], tuple(c for c in LOAN_COLUMNS if c != "term"))
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2
    assert "column term: required column is missing" in flat(result.output)


def test_unknown_product_is_refused(book, db_url, cli, tmp_path):
    before = snapshot(book)
    path = write_csv(tmp_path / "l.csv", [loan("N001"), loan("N002", product="cn_offline")], LOAN_COLUMNS)
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2
    assert problem_lines(result.output) == [(2, "product")]
    assert "product 'cn_offline' is not known" in flat(result.output)
    assert snapshot(book) == before


# --------------------------------------------------------------------------- schedules


def _terms(row: dict) -> LoanTerms:
    def opt_date(v: str) -> dt.date | None:
        return dt.date.fromisoformat(v) if v else None

    return LoanTerms(
        principal=int(Decimal(row["principal"]) * 100),  # the examples are all 2-decimal currencies
        annual_rate_nano=int(Decimal(row["annual_rate"]) * NANO),
        term=int(row["term"]),
        frequency=row["frequency"],
        method=row["method"],
        disbursed_on=dt.date.fromisoformat(row["disbursed_on"]),
        first_due_on=opt_date(row.get("first_due_on", "")),
        period_days=int(row["period_days"]) if row.get("period_days") else None,
    )


def test_schedule_rows_are_stored_for_each_loan_and_match_build(book):
    imp(book, "loans", EXAMPLES / "loans.csv")
    products = parse_products((EXAMPLES / "products.toml").read_text(encoding="utf-8"))
    products["default"] = DEFAULT
    with book.connect() as conn:
        stored = conn.execute(
            select(t.schedule).order_by(t.schedule.c.loan_id, t.schedule.c.n)
        ).mappings().all()
    by_loan: dict[str, list] = {}
    for r in stored:
        by_loan.setdefault(r["loan_id"], []).append(
            (r["n"], _d(r["due_on"]), _d(r["adjusted_due_on"]), r["principal_minor"], r["interest_minor"])
        )

    rows = list(csv.DictReader((EXAMPLES / "loans.csv").open(encoding="utf-8")))
    assert set(by_loan) == {r["loan_id"] for r in rows}
    for row in rows:
        product = products[row["product"] or "default"]
        expected = [
            (i.n, i.due_on, i.adjusted_due_on, i.principal, i.interest)
            for i in build(_terms(row), business_day_rule=product.business_day_rule, calendar=product.calendar)
        ]
        assert by_loan[row["loan_id"]] == expected, row["loan_id"]
        assert len(expected) == (1 if row["method"] == "bullet" else int(row["term"]))
        assert sum(p for _, _, _, p, _ in expected) == _terms(row).principal


def _d(v) -> dt.date:
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


# --------------------------------------------------------------------------- Parquet


def _parquet_frame(money: pl.Series) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": ["P001", "P002"],
            "borrower_id": ["B001", "B003"],
            "product": ["cn_online", None],
            "currency": ["CNY", "USD"],
            "principal": money,
            "annual_rate": ["0.18", "0.2399"],
            "term": pl.Series([12, 24], dtype=pl.Int32),
            "frequency": ["monthly", "monthly"],
            "method": ["annuity", "equal_principal"],
            "disbursed_on": [dt.date(2026, 1, 15), dt.date(2025, 12, 31)],
        }
    )


def test_parquet_with_string_money_is_imported_like_csv(book, db_url, cli, tmp_path):
    path = tmp_path / "loans.parquet"
    _parquet_frame(pl.Series(["10000.00", "3000.5"])).write_parquet(path)

    result = cli("import", "loans", path, db=db_url)

    assert result.exit_code == 0, result.output
    loans = {r.loan_id: r for r in _loans(book)}
    assert loans["P001"].principal_minor == 1_000_000
    assert loans["P002"].principal_minor == 300_050
    assert loans["P002"].product == "default"
    assert loans["P001"].term == 12
    assert _d(loans["P002"].disbursed_on) == dt.date(2025, 12, 31)
    assert len(snapshot(book)["schedule"]) == 12 + 24
    # and the same Parquet file again adds nothing
    before = snapshot(book)
    assert cli("import", "loans", path, db=db_url).exit_code == 0
    assert snapshot(book) == before


def test_parquet_decimal_money_is_accepted(book, tmp_path):
    path = tmp_path / "loans.parquet"
    money = pl.Series([Decimal("10000.10"), Decimal("3000.00")], dtype=pl.Decimal(18, 4))
    _parquet_frame(money).write_parquet(path)
    imp(book, "loans", path)
    assert {r.loan_id: r.principal_minor for r in _loans(book)} == {"P001": 1_000_010, "P002": 300_000}


def test_parquet_decimal_money_with_too_many_decimals_is_refused(book, tmp_path):
    path = tmp_path / "loans.parquet"
    money = pl.Series([Decimal("10000.1234"), Decimal("3000.00")], dtype=pl.Decimal(18, 4))
    _parquet_frame(money).write_parquet(path)
    with pytest.raises(BadInput) as e:
        imp(book, "loans", path)
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "principal")]
    assert _loans(book) == []


def test_parquet_float_money_is_refused(book, db_url, cli, tmp_path):
    path = tmp_path / "loans.parquet"
    _parquet_frame(pl.Series([10000.0, 3000.5], dtype=pl.Float64)).write_parquet(path)
    before = snapshot(book)

    result = cli("import", "loans", path, db=db_url)

    assert result.exit_code == 2, result.output
    text = flat(result.output)
    assert "column principal:" in text
    assert "float" in text
    assert snapshot(book) == before


def _loans(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(t.loans).order_by(t.loans.c.loan_id)))


# --------------------------------------------------------------------------- output format


def test_a_long_problem_line_stays_on_one_line(book, db_url, cli, tmp_path):
    """Piped output is not wrapped at 80 columns: each problem is one `row N, column C: …` line."""
    path = write_csv(tmp_path / "l.csv", [loan("N001", borrower_id="B" + "9" * 60)], LOAN_COLUMNS)
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2
    line = next(ln for ln in result.output.splitlines() if PROBLEM_LINE.match(ln))
    assert line.rstrip().endswith("is not known (import borrowers first)"), result.output


# --------------------------------------------------------------------------- a big load: indexes rebuilt


def _schedule_indexes(engine) -> list[str]:
    from sqlalchemy import inspect

    return sorted(ix["name"] for ix in inspect(engine).get_indexes("schedule"))


def test_a_big_load_rebuilds_the_schedule_index_and_a_failure_leaves_it(book, tmp_path, monkeypatch):
    """A load that outnumbers the stored schedule drops its secondary index and builds it again in
    the import's transaction: afterwards the index is there; when the import fails after the
    schedule was written (here in ``after``), nothing of it lands and the index is still there."""
    from arrears.store import bulk

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    assert _schedule_indexes(book) == ["ix_schedule_adjusted_due_on"]
    path = write_csv(tmp_path / "loans.csv", [loan(f"L{i:03d}") for i in range(30)], LOAN_COLUMNS)
    before = snapshot(book)

    def fail(conn):
        # The rows and the rebuilt index are visible inside the transaction...
        assert conn.execute(select(t.schedule.c.n)).all()
        raise RuntimeError("after the schedule was written")

    with pytest.raises(RuntimeError):
        imp(book, "loans", path, after=fail)
    assert snapshot(book) == before
    assert _schedule_indexes(book) == ["ix_schedule_adjusted_due_on"]

    # ... and a load that succeeds keeps both, and the index answers queries by due date.
    assert imp(book, "loans", path).rows_added == 30
    assert _schedule_indexes(book) == ["ix_schedule_adjusted_due_on"]
    with book.connect() as conn:
        due = conn.execute(select(t.schedule.c.loan_id).where(t.schedule.c.adjusted_due_on <= dt.date(2026, 2, 28))).all()
    assert len(due) == 30  # the first instalment of each (15 February 2026)
    # Re-running the same file changes nothing (and rebuilds nothing: nothing is new).
    after = snapshot(book)
    assert imp(book, "loans", path).rows_added == 0
    assert snapshot(book) == after


def test_a_big_load_through_the_staging_file_stores_what_the_row_path_stores(engine, second_db_url, tmp_path,
                                                                               monkeypatch):
    """On a SQLite file a big load goes through an ADBC staging file and INSERT ... SELECT; what
    it stores (values and SQLite storage classes) is what the row-by-row path stores, and the
    staging file is gone afterwards. (On PostgreSQL both imports take the COPY path.)"""
    from sqlalchemy import text

    from arrears.store import bulk
    from arrears.store.db import make_engine, upgrade

    rows = [loan(f"L{i:03d}", principal=f"{1000 + i}.{i % 100:02d}", method=m, term=str(3 + i % 9),
                 first_due_on="2026-02-01" if i % 3 == 0 else "", penalty_rate_daily="0.0005" if i % 2 else "")
            for i, m in zip(range(40), ["annuity", "equal_principal", "interest_only", "bullet"] * 10)]
    # Out of key order in the file: the staged load sorts by primary key before staging.
    rows = rows[::2] + rows[1::2][::-1]
    path = write_csv(tmp_path / "loans.csv", rows, (*LOAN_COLUMNS, "first_due_on", "penalty_rate_daily"))
    other = make_engine(second_db_url)
    upgrade(other)
    from arrears.ingest import loans as loans_module

    staged = []
    monkeypatch.setattr(loans_module, "insert_frames_staged",
                        lambda conn, loads: staged.append(bulk.insert_frames_staged(conn, loads)) or staged[-1])
    stored = []
    for eng, threshold in ((engine, 1), (other, 10**9)):  # staged (on SQLite), then row by row
        monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", threshold)
        imp(eng, "products", EXAMPLES / "products.toml")
        imp(eng, "borrowers", EXAMPLES / "borrowers.csv")
        assert imp(eng, "loans", path).rows_added == 40
        with eng.connect() as conn:
            kinds = "" if eng.dialect.name != "sqlite" else ", " + ", ".join(
                f'typeof("{c.name}")' for c in t.loans.columns if c.name != "recorded_at")
            stored.append((
                conn.execute(text(f"SELECT *{kinds} FROM loans ORDER BY loan_id")).all(),
                conn.execute(text("SELECT * FROM schedule ORDER BY loan_id, n")).all(),
            ))
    other.dispose()
    assert staged == [engine.dialect.name == "sqlite", False]
    assert stored[0] == stored[1]
    assert len(stored[0][1]) == sum(1 if r["method"] == "bullet" else int(r["term"]) for r in rows)
    assert not list(tmp_path.glob("arrears-stage-*"))


def _foreign_keys_enforced(engine) -> bool:
    """Whether the pool's connection refuses a schedule row of a loan that does not exist."""
    from sqlalchemy.exc import IntegrityError

    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        try:
            conn.execute(t.schedule.insert(), [{"loan_id": "NO-SUCH-LOAN", "n": 1, "due_on": DAY, "adjusted_due_on": DAY,
                                                "principal_minor": 1, "interest_minor": 0}])
        except IntegrityError:
            return True
        finally:
            conn.rollback()
    return False


def test_a_staged_load_checks_foreign_keys_set_wise_and_restores_the_pragma(book, tmp_path, monkeypatch):
    """SQLite: the staged load switches per-row foreign-key checks off for its unit of work and looks
    the distinct references up once each instead. A loan whose borrower is missing at write time
    (here: the earlier borrower check is bypassed) fails the import naming the row and the field,
    nothing lands, and the pragma is on again afterwards: after that failure, after a failure later
    in the same unit of work (``after``), and after a load that succeeds."""
    if book.dialect.name != "sqlite":
        pytest.skip("the staging file is SQLite's (PostgreSQL takes COPY)")
    from arrears.ingest import loans as loans_module
    from arrears.store import bulk

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    staged = []
    monkeypatch.setattr(loans_module, "insert_frames_staged",
                        lambda conn, loads: staged.append(bulk.insert_frames_staged(conn, loads)) or staged[-1])
    assert _foreign_keys_enforced(book)
    before = snapshot(book)

    good = [loan(f"L{i:03d}") for i in range(20)]
    bad = write_csv(tmp_path / "bad.csv", [*good[:7], loan("L900", borrower_id="B-GONE"), *good[7:]], LOAN_COLUMNS)
    monkeypatch.setattr(loans_module, "unknown_borrowers", lambda conn, frame: [])
    with pytest.raises(BadInput) as err:
        imp(book, "loans", bad)
    # (Only the staged load's check says "is not in": the row path would fail on the foreign key.)
    assert [str(p) for p in err.value.problems] == ["row 8, column borrower_id: 'B-GONE' is not in borrowers"]
    assert snapshot(book) == before
    assert _foreign_keys_enforced(book)

    path = write_csv(tmp_path / "loans.csv", good, LOAN_COLUMNS)

    def fail(conn):
        raise RuntimeError("later in the unit of work")

    with pytest.raises(RuntimeError):
        imp(book, "loans", path, after=fail)
    assert snapshot(book) == before
    assert _foreign_keys_enforced(book)

    assert imp(book, "loans", path).rows_added == 20
    assert staged == [True, True]
    assert _foreign_keys_enforced(book)
    assert not list(tmp_path.glob("arrears-stage-*"))


def test_a_takeon_states_its_balances_together_and_may_leave_its_dates_and_credit_empty(book, db_url, cli, tmp_path):
    takeon = ("takeon_date", "takeon_principal_outstanding", "takeon_interest_due", "takeon_penalty_due",
              "takeon_fees_due", "takeon_oldest_unpaid_due_on", "takeon_dofd", "takeon_credit")
    up_to_date = dict(zip(takeon, ("2026-03-01", "9000.00", "0.00", "0.00", "0.00", "", "", "12.34")))
    no_interest = {**up_to_date, "takeon_interest_due": ""}
    path = write_csv(tmp_path / "bad.csv", [loan("T1", **up_to_date), loan("T2", **no_interest)], LOAN_COLUMNS + takeon)
    before = snapshot(book)
    result = cli("import", "loans", path, db=db_url)
    assert result.exit_code == 2 and snapshot(book) == before
    assert problem_lines(result.output) == [(2, "takeon_interest_due")]
    assert "takeon_interest_due: is required when any takeon_ column is given" in flat(result.output)
    ok = write_csv(tmp_path / "ok.csv", [loan("T1", **up_to_date)], LOAN_COLUMNS + takeon)
    imp(book, "loans", ok)
    with book.connect() as conn:
        row = conn.execute(select(t.loans.c.takeon_oldest_unpaid_due_on, t.loans.c.takeon_dofd,
                                  t.loans.c.takeon_credit_minor).where(t.loans.c.loan_id == "T1")).one()
    assert tuple(row) == (None, None, 1234)
