"""Flags: facts with a start and an end (a dispute, a cease, a bankruptcy, ...).

A flag is never edited, with one exception: it is *lifted*. The history stays: ``start_on`` and
everything else are kept, ``end_on`` is set, and the lift is stamped (``lifted_at``, ``lifted_by``).

How a row of a flags file is applied:

1. Its ``flag_id`` is stored with the same content: nothing changes.
2. Its ``flag_id`` is stored *open* (no ``end_on``) and the row is identical except that it gives
   ``end_on``: the flag is lifted on that date.
3. Its ``flag_id`` is stored already lifted and the row is the open original (no ``end_on``): nothing
   changes (an earlier file sent again). A lifted flag is never reopened: send a new flag_id.
4. Its ``flag_id`` is stored with any other difference: refused.
5. A new ``flag_id`` with ``end_on`` that *matches* open flags set by contacts (source ``contact``)
   lifts them instead of being stored as a flag of its own. Matching: the same ``borrower_id``, the
   same ``loan_id`` (both empty, or equal), the same ``flag`` and the same ``value`` (both empty, or
   equal); ``start_on``, ``source`` and ``written`` of the lifting row are not compared. Every
   matching open contact flag is lifted (two disputes raised on two calls end together), and each
   records the lifting row's flag_id in ``lifted_by``, so sending the same file again changes nothing.
   Flags from other sources are lifted by their own flag_id (rule 2).
6. Any other new row is stored (with ``end_on``, it records a flag that has already ended).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection, bindparam, update

from arrears.book.outcomes import FLAG_VOCABULARY
from arrears.ingest import checks as ck
from arrears.ingest.read import ROW
from arrears.problems import Problem
from arrears.store import tables as t
from arrears.store.bulk import insert_frame, read_table

REQUIRED = ("flag_id", "borrower_id", "flag", "start_on", "source")
OPTIONAL = ("loan_id", "value", "end_on", "written")
SOURCES = ("contact", "letter", "court", "agent", "import")
FIELDS = ("borrower_id", "loan_id", "flag", "value", "start_on", "source", "written")


def checks(frame: pl.DataFrame) -> list[ck.Check]:
    return [
        *[ck.required(c) for c in REQUIRED],
        ck.one_of("flag", FLAG_VOCABULARY),
        ck.one_of("source", SOURCES),
        ck.is_date("start_on"),
        ck.is_date("end_on"),
        ck.is_bool("written"),
        ck.Check("end_on", ck.date_expr("end_on") < ck.date_expr("start_on"),
                 pl.format("{} is before start_on ({})", pl.col("end_on"), pl.col("start_on"))),
    ]


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        ROW, "flag_id", "borrower_id", "loan_id", "flag", "value",
        ck.date_expr("start_on").alias("start_on"), ck.date_expr("end_on").alias("end_on"), "source",
        pl.when(pl.col("written").is_null()).then(None).otherwise(ck.bool_expr("written")).alias("written"),
    ).unique(subset=["flag_id", *FIELDS, "end_on"], keep="first", maintain_order=True)


def apply(
    conn: Connection, frame: pl.DataFrame, business_date: dt.date, now: dt.datetime
) -> tuple[int, list[Problem]]:
    frame = normalise(frame)
    problems = _owner_problems(conn, frame)
    stored = read_table(conn, t.flags, key="flag_id", keys=frame["flag_id"].to_list())
    known = frame.join(stored.select("flag_id", *[pl.col(c).alias(f"{c}__s") for c in (*FIELDS, "end_on")]),
                       on="flag_id", how="inner")
    lifts, more = _by_id(known)
    problems += more
    fresh = frame.filter(~pl.col("flag_id").is_in(stored["flag_id"].implode()))
    fresh, more = _already_lifted(conn, fresh)
    problems += more
    matched, more = _matching_contact_flags(conn, fresh)
    problems += more
    new = fresh.filter(~pl.col("flag_id").is_in(matched["lifted_by"].implode()))
    if problems:
        return 0, problems
    insert_frame(conn, t.flags, new.drop(ROW).with_columns(pl.lit(now).alias("recorded_at")))
    todo = pl.concat([lifts, matched.select("flag_id", "end_on", "lifted_by")])
    if not todo.is_empty():
        conn.execute(
            update(t.flags).where(t.flags.c.flag_id == bindparam("f_id"))
            .values(end_on=bindparam("f_end"), lifted_by=bindparam("f_by"), lifted_at=bindparam("f_at")),
            [{"f_id": f, "f_end": e, "f_by": b, "f_at": now} for f, e, b in todo.iter_rows()],
        )
    return new.height + todo.height, []


def _by_id(known: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """Rules 1-4 for rows whose flag_id is stored: the lifts to make, and the refusals."""
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}__s")) for c in FIELDS)
    lift = same & pl.col("end_on__s").is_null() & pl.col("end_on").is_not_null()
    harmless = same & (pl.col("end_on").eq_missing(pl.col("end_on__s")) | pl.col("end_on").is_null())
    problems = []
    for row in known.filter(~lift & ~harmless).iter_rows(named=True):
        col = next((c for c in FIELDS if row[c] != row[f"{c}__s"]), "end_on")
        old, new = row[f"{col}__s"], row[col]
        hint = ("it was already lifted; a lifted flag is never reopened or re-dated, send a new flag_id"
                if col == "end_on" else "a flag is a fact; lift it with end_on and send a new flag_id")
        problems.append(Problem(row[ROW], col, f"flag '{row['flag_id']}' already exists with {col} = "
                                f"{_show(old)}, not {_show(new)}; {hint}"))
    return known.filter(lift).select("flag_id", "end_on", pl.col("flag_id").alias("lifted_by")), problems


def _already_lifted(conn: Connection, fresh: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """Rule 5 again: a lifting row whose lift is already recorded changes nothing."""
    done = read_table(conn, t.flags, key="lifted_by", keys=fresh["flag_id"].to_list())
    if done.is_empty():
        return fresh, []
    j = fresh.join(done.group_by("lifted_by").agg(pl.col("end_on").first().alias("done_end")),
                   left_on="flag_id", right_on="lifted_by", how="inner")
    problems = [
        Problem(r, "end_on", f"flag '{f}' already lifted a contact's flag on {d}, not {e}")
        for r, f, e, d in j.filter(~pl.col("end_on").eq_missing(pl.col("done_end")))
        .select(ROW, "flag_id", "end_on", "done_end").iter_rows()
    ]
    return fresh.filter(~pl.col("flag_id").is_in(done["lifted_by"].implode())), problems


def _matching_contact_flags(conn: Connection, fresh: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """Rule 5: open contact flags a new row with end_on lifts (flag_id, end_on, lifted_by)."""
    empty = pl.DataFrame(schema={"flag_id": pl.String, "end_on": pl.Date, "lifted_by": pl.String})
    lifting = fresh.filter(pl.col("end_on").is_not_null())
    if lifting.is_empty():
        return empty, []
    open_ = read_table(conn, t.flags, key="borrower_id", keys=lifting["borrower_id"].to_list()).filter(
        (pl.col("source") == "contact") & pl.col("end_on").is_null())
    j = lifting.join(
        open_.select(pl.col("flag_id").alias("target"), "borrower_id", "loan_id", "flag", "value",
                     pl.col("start_on").alias("target_start")),
        on=["borrower_id", "loan_id", "flag", "value"], how="inner", nulls_equal=True,
    )
    problems = [
        Problem(r, "end_on", f"{e} is before the flag '{tg}' it lifts started ({s})")
        for r, e, tg, s in j.filter(pl.col("end_on") < pl.col("target_start"))
        .select(ROW, "end_on", "target", "target_start").iter_rows()
    ]
    twice = j.filter(pl.col("target").is_duplicated())
    problems += [
        Problem(r, "flag_id", f"contact flag '{tg}' is lifted by more than one row of this file")
        for r, tg in twice.select(ROW, "target").iter_rows()
    ]
    return j.select(pl.col("target").alias("flag_id"), "end_on", pl.col("flag_id").alias("lifted_by")), problems


def _owner_problems(conn: Connection, frame: pl.DataFrame) -> list[Problem]:
    known = read_table(conn, t.borrowers, key="borrower_id", keys=frame["borrower_id"].to_list())
    out = [
        Problem(r, "borrower_id", f"borrower '{b}' is not known (import borrowers first)")
        for r, b in frame.filter(~pl.col("borrower_id").is_in(known["borrower_id"].implode()))
        .select(ROW, "borrower_id").iter_rows()
    ]
    with_loan = frame.filter(pl.col("loan_id").is_not_null())
    loans = read_table(conn, t.loans, key="loan_id", keys=with_loan["loan_id"].to_list()).select(
        "loan_id", pl.col("borrower_id").alias("loan_borrower"))
    j = with_loan.join(loans, on="loan_id", how="left")
    out += [Problem(r, "loan_id", f"loan '{lid}' is not known")
            for r, lid in j.filter(pl.col("loan_borrower").is_null()).select(ROW, "loan_id").iter_rows()]
    out += [
        Problem(r, "loan_id", f"loan '{lid}' belongs to borrower '{lb}', not '{b}'")
        for r, lid, lb, b in j.filter(pl.col("loan_borrower").is_not_null() & (pl.col("loan_borrower") != pl.col("borrower_id")))
        .select(ROW, "loan_id", "loan_borrower", "borrower_id").iter_rows()
    ]
    return out


def _show(value: object) -> str:
    return "empty" if value is None else repr(str(value))
