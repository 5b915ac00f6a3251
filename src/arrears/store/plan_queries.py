"""What the daily plan reads and writes: the loans in arrears as the last close left them, the
facts about their borrowers, earlier plans, agents, champion/challenger assignments.

Reads are limited to borrowers with a loan in arrears (a subquery, not a list of ids), so a quiet
book costs nothing here.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from sqlalchemy import Connection, func, select, update

from arrears.book.step import Book
from arrears.store import tables as t
from arrears.store.bulk import ArrowReader, _schema_of, insert_frame, read_where

_CLOSED = ("paid_off", "settled", "written_off", "pending")
_PERIOD_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 30}


def _arrears_loans():
    s = t.loan_state
    return select(s.c.loan_id).where(s.c.dpd > 0, s.c.status.not_in(_CLOSED))


def _arrears_borrowers():
    return select(t.loans.c.borrower_id).where(t.loans.c.loan_id.in_(_arrears_loans())).distinct()


def arrears_book(r: ArrowReader) -> tuple[Book, pl.DataFrame]:
    """The state of every loan in arrears and its instalments, and loan_id → borrower_id, currency.

    Read columnar (``bulk.ArrowReader``): at a million loans the 150,000 in arrears and their
    instalments are most of what the plan reads. The plan writes only after these reads."""
    from arrears.book.state import INSTALMENT_STATE, LOAN_STATE

    closed = ", ".join(f"'{c}'" for c in _CLOSED)
    where = f"s.dpd > 0 AND s.status NOT IN ({closed})"
    loans = r.frame(f"SELECT {r.columns(t.loan_state, 's')} FROM loan_state s WHERE {where}",
                    _schema_of(t.loan_state))
    # SQLite, without statistics, scans every instalment and probes the state for each; the
    # loans in arrears are few: start from them (CROSS JOIN fixes SQLite's join order).
    join = "CROSS JOIN" if r.dialect == "sqlite" else "JOIN"
    inst = r.frame(f"SELECT {r.columns(t.instalment_state, 'i')} FROM loan_state s "
                   f"{join} instalment_state i ON i.loan_id = s.loan_id WHERE {where}", _schema_of(t.instalment_state))
    owners = r.frame(f"SELECT l.loan_id AS loan_id, l.borrower_id AS borrower_id, l.currency AS currency "
                     f"FROM loans l JOIN loan_state s ON s.loan_id = l.loan_id WHERE {where}",
                     {"loan_id": pl.String, "borrower_id": pl.String, "currency": pl.String})
    return (Book(loans.cast(dict(LOAN_STATE)).select(LOAN_STATE.names()),
                 inst.cast(dict(INSTALMENT_STATE)).select(INSTALMENT_STATE.names())), owners)


# The borrowers with a loan in arrears, as SQL the columnar reader runs (the same set as above).
_IN_ARREARS = ("SELECT l.borrower_id FROM loans l JOIN loan_state s ON s.loan_id = l.loan_id "
               f"WHERE s.dpd > 0 AND s.status NOT IN ({', '.join(repr(c) for c in _CLOSED)})")


def among(keys: str) -> str:
    """SQL selecting the borrowers of key table ``keys`` (``ArrowReader.keys``), for ``among``."""
    return f'SELECT borrower_id FROM "{keys}"'


def borrowers(rd: ArrowReader, among: str = _IN_ARREARS) -> pl.DataFrame:
    """borrower_id, jurisdiction, language (the candidate zones are the world's, ``load_world``).

    ``among`` (here and below): SQL selecting the borrowers to read, those in arrears by default."""
    b = t.borrowers
    return rd.frame(f"SELECT {rd.columns(b, 'b', ['borrower_id', 'jurisdiction', 'language'])} FROM borrowers b "
                    f"WHERE b.borrower_id IN ({among})",
                    {"borrower_id": pl.String, "jurisdiction": pl.String, "language": pl.String})


def contacts(rd: ArrowReader, among: str = _IN_ARREARS) -> pl.DataFrame:
    return rd.frame(f"SELECT {rd.columns(t.contacts, 'c', ['borrower_id', 'local_date', 'outcome', 'party'])} "
                    f"FROM contacts c WHERE c.borrower_id IN ({among})",
                    {"borrower_id": pl.String, "local_date": pl.Date, "outcome": pl.String, "party": pl.String})


def promises(rd: ArrowReader, among: str = _IN_ARREARS) -> pl.DataFrame:
    return rd.frame(
        "SELECT p.promise_id AS promise_id, p.borrower_id AS borrower_id, c.local_date AS made_on, "
        "p.promise_date AS promise_date, p.status AS status, COALESCE(p.decided_on, '') AS decided_on "
        f"FROM promises p JOIN contacts c ON c.event_id = p.promise_id WHERE p.borrower_id IN ({among})"
        if rd.dialect == "sqlite" else
        "SELECT p.promise_id AS promise_id, p.borrower_id AS borrower_id, c.local_date AS made_on, "
        "p.promise_date AS promise_date, p.status AS status, p.decided_on AS decided_on "
        f"FROM promises p JOIN contacts c ON c.event_id = p.promise_id WHERE p.borrower_id IN ({among})",
        {"promise_id": pl.String, "borrower_id": pl.String, "made_on": pl.Date, "promise_date": pl.Date,
         "status": pl.String, "decided_on": pl.Date})


def arrangements(rd: ArrowReader, among: str = _IN_ARREARS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Open arrangements with their terms (from the plan offer the contact carried out, when it did)
    and the borrowers' payments: what ``strategy.derive.arrangement_holds`` reads."""
    from arrears.money import parse_amount

    found = rd.frame(
        f"SELECT a.borrower_id AS borrower_id, c.local_date AS made_on, {_text(rd, 'pa.offer')} AS offer, "
        f"{_text(rd, 'pa.currency')} AS currency FROM arrangements a JOIN contacts c ON c.event_id = a.arrangement_id "
        "LEFT JOIN plan_actions pa ON pa.action_id = c.action_id AND pa.action = 'plan_offer' "
        f"WHERE a.borrower_id IN ({among})",
        {"borrower_id": pl.String, "made_on": pl.Date, "offer": pl.String, "currency": pl.String})
    rows = []
    for borrower, made, offer, currency in found.iter_rows():
        terms = json.loads(offer) if offer else None
        if terms:
            rows.append((borrower, made, parse_amount(terms["instalment"], currency), int(terms["count"]),
                         _PERIOD_DAYS[terms["frequency"]], dt.date.fromisoformat(terms["first_due_on"])))
        else:
            rows.append((borrower, made, None, None, None, None))
    frame = pl.DataFrame(rows, orient="row", schema={
        "borrower_id": pl.String, "made_on": pl.Date, "instalment": pl.Int64, "count": pl.Int64,
        "period_days": pl.Int64, "first_due_on": pl.Date}).unique()
    paid = pl.DataFrame(schema={"borrower_id": pl.String, "paid_on": pl.Date, "amount": pl.Int64})
    if not frame.is_empty():
        keys = rd.keys("_plan_arranged", frame["borrower_id"].unique(), column="borrower_id")
        pay = rd.frame(
            f"SELECT p.payment_id AS payment_id, l.borrower_id AS borrower_id, p.paid_on AS paid_on, "
            f"p.amount_minor AS amount, {_text(rd, 'p.reverses')} AS reverses FROM payments p "
            f'JOIN loans l ON l.loan_id = p.loan_id JOIN "{keys}" k ON k.borrower_id = l.borrower_id',
            {"payment_id": pl.String, "borrower_id": pl.String, "paid_on": pl.Date, "amount": pl.Int64,
             "reverses": pl.String})
        reversed_ids = pay.filter(pl.col("reverses").is_not_null())["reverses"]
        paid = pay.filter(pl.col("reverses").is_null() & ~pl.col("payment_id").is_in(reversed_ids.implode())).select(
            "borrower_id", "paid_on", "amount")
    return frame, paid


def _text(rd: ArrowReader, column: str) -> str:
    """A nullable text column, read so that ADBC's SQLite type inference holds (see ArrowReader)."""
    return f"COALESCE({column}, '')" if rd.dialect == "sqlite" else column


def last_planned(rd: ArrowReader, day: dt.date, among: str = _IN_ARREARS) -> pl.DataFrame:
    """The last day before ``day`` each (borrower, action, template) was planned."""
    return rd.frame(
        f"SELECT pa.borrower_id AS borrower_id, pa.action AS action, {_text(rd, 'pa.template_id')} AS template_id, "
        f"MAX(pa.business_date) AS last_on FROM plan_actions pa WHERE pa.status = 'planned' "
        f"AND pa.business_date < '{day.isoformat()}' AND pa.borrower_id IN ({among}) "
        "GROUP BY pa.borrower_id, pa.action, pa.template_id",
        {"borrower_id": pl.String, "action": pl.String, "template_id": pl.String, "last_on": pl.Date})


def deferred(conn: Connection, day: dt.date) -> pl.DataFrame:
    """What the last run of the day before deferred for want of capacity: it goes first today."""
    pa, runs = t.plan_runs, t.plan_actions
    prev = day - dt.timedelta(days=1)
    last_run = conn.execute(select(func.max(pa.c.run)).where(pa.c.business_date == prev)).scalar()
    if last_run is None:
        return pl.DataFrame(schema={"borrower_id": pl.String, "action": pl.String, "since": pl.Date})
    rows = conn.execute(select(runs.c.borrower_id, runs.c.action).where(
        runs.c.business_date == prev, runs.c.run == last_run, runs.c.status == "deferred")).all()
    return pl.DataFrame([(r[0], r[1], prev) for r in rows], orient="row",
                        schema={"borrower_id": pl.String, "action": pl.String, "since": pl.Date})


def agents(conn: Connection, day: dt.date) -> pl.DataFrame:
    from arrears.strategy.capacity import AGENTS

    a = read_where(conn, t.agents, t.agents.c.valid_from <= day)
    if a.is_empty():
        return pl.DataFrame(schema=AGENTS)
    latest = a.sort("agent_id", "valid_from").group_by("agent_id", maintain_order=True).last()
    return latest.with_columns(
        pl.col("languages").str.split(";"), pl.col("jurisdictions").str.split(";"),
    ).select(pl.col(c).cast(tp) for c, tp in AGENTS.items())


def assignments(conn: Connection, experiment: str) -> pl.DataFrame:
    from arrears.strategy.assign import ASSIGNMENTS

    return read_where(conn, t.strategy_assignments, t.strategy_assignments.c.experiment == experiment).select(
        pl.col(c).cast(tp) for c, tp in ASSIGNMENTS.items())


def assignments_of(rd: ArrowReader, experiment: str, among: str = _IN_ARREARS) -> pl.DataFrame:
    """``assignments`` of the borrowers ``among`` selects, read columnar: the plan joins the stored
    draws to its borrowers' episodes, so the other borrowers' draws (every episode ever) are not
    read."""
    from arrears.strategy.assign import ASSIGNMENTS

    quoted = experiment.replace("'", "''")
    return rd.frame(
        f"SELECT {rd.columns(t.strategy_assignments, 'a', ASSIGNMENTS.names())} FROM strategy_assignments a "
        f"WHERE a.experiment = '{quoted}' AND a.borrower_id IN ({among})", dict(ASSIGNMENTS))


def save_plan(conn: Connection, day: dt.date, strategy: str, rows: pl.DataFrame, new_assignments: pl.DataFrame,
              now: dt.datetime) -> int:
    """A new run for ``day``: earlier runs' actions are cancelled, this run's rows and the new
    assignments written, all in the caller's transaction. Returns the run number."""
    runs = t.plan_runs
    run = (conn.execute(select(func.max(runs.c.run)).where(runs.c.business_date == day)).scalar() or 0) + 1
    conn.execute(update(t.plan_actions).where(t.plan_actions.c.business_date == day,
                                              t.plan_actions.c.status != "cancelled").values(status="cancelled"))
    counts = {s: int((rows["status"] == s).sum()) for s in ("planned", "deferred", "held")}
    conn.execute(runs.insert(), [{"business_date": day, "run": run, "strategy": strategy, **counts, "created_at": now}])
    insert_frame(conn, t.plan_actions, rows.with_columns(pl.lit(day).alias("business_date"), pl.lit(run).alias("run")))
    insert_frame(conn, t.strategy_assignments, new_assignments)
    return run


def experiment_inputs(conn: Connection, experiment: str) -> tuple[pl.DataFrame, ...]:
    """What ``strategy.results.arm_results`` reads for one experiment."""
    a = assignments(conn, experiment).select("borrower_id", "episode_start", "arm")
    ids = a["borrower_id"].unique().to_list()
    loans = read_where(conn, t.loans, t.loans.c.borrower_id.in_(ids)).select("loan_id", "borrower_id", "currency")
    lids = loans["loan_id"].to_list()
    transitions = read_where(conn, t.bucket_transitions, t.bucket_transitions.c.loan_id.in_(lids)).select(
        "loan_id", "day", "to_bucket")
    pay = read_where(conn, t.payments, t.payments.c.loan_id.in_(lids))
    reversed_ids = pay.filter(pl.col("reverses").is_not_null())["reverses"]
    payments = pay.filter(pl.col("reverses").is_null() & ~pl.col("payment_id").is_in(reversed_ids.implode())).select(
        "loan_id", "paid_on", pl.col("amount_minor").alias("amount"))
    return a, loans, transitions, payments
