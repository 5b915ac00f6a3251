"""The command line: parse arguments, open the unit of work, call the core, print. Nothing else.

Exit status: 0 success; 2 bad input (nothing changed); 1 anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Arrears: loans in arrears, collected fairly.", no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)


class Exit:
    OK, FAILED, BAD_INPUT = 0, 1, 2


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: $ARREARS_DB or sqlite:///arrears.db).")] = None,
) -> None:
    ctx.obj = {"db": db}


def _engine(ctx: typer.Context):
    from arrears.store.db import database_url, make_engine

    return make_engine(database_url(ctx.obj.get("db")))


def _fail(message: str, code: int = Exit.FAILED) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)", Exit.BAD_INPUT)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema. Refuses a schema newer than this code."""
    from arrears.store.db import SchemaError, upgrade

    try:
        head = upgrade(_engine(ctx))
    except SchemaError as e:
        _fail(str(e))
    out.print(f"schema at revision {head}")


@app.command("import")
def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="products, borrowers, references or loans")],
    file: Annotated[Path, typer.Argument(help="A .csv or .parquet file (.toml for products)")],
    date: Annotated[Optional[str], typer.Option("--date", help="Business date the data is valid from (contact details are versioned by it). Default: today.")] = None,
    allow_extra_columns: Annotated[bool, typer.Option("--allow-extra-columns", help="Ignore unknown columns instead of refusing the file.")] = False,
) -> None:
    """Import a file atomically and idempotently: all of it, or (exit 2) none of it."""
    from arrears.ingest.runner import KINDS, import_file
    from arrears.problems import BadInput
    from arrears.store.db import SchemaError

    if kind not in KINDS:
        _fail(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}", Exit.BAD_INPUT)
    business_date = _parse_date(date, "--date") or dt.date.today()
    now = dt.datetime.now(dt.timezone.utc)
    try:
        result = import_file(
            _engine(ctx), kind, file, business_date=business_date, now=now,
            allow_extra_columns=allow_extra_columns,
        )
    except BadInput as e:
        err.print(f"{file}: {len(e.problems)} problem(s); nothing was imported", highlight=False)
        for p in e.problems:
            err.print(f"  {p}", highlight=False, markup=False)
        raise typer.Exit(Exit.BAD_INPUT) from None
    except SchemaError as e:
        _fail(str(e))
    out.print(f"{kind}: {result.rows_in_file} rows read, {result.rows_added} added", highlight=False)


@app.command("account")
def account(
    ctx: typer.Context,
    loan_id: str,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Business date (default: today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """One account: schedule and status as of a business date."""
    from arrears.book.account import account_view
    from arrears.store import queries
    from arrears.store.db import SchemaError, unit_of_work

    day = _parse_date(as_of, "--as-of") or dt.date.today()
    try:
        with unit_of_work(_engine(ctx)) as conn:
            loan = queries.loan(conn, loan_id)
            if loan is None:
                _fail(f"no loan {loan_id!r}", Exit.BAD_INPUT)
            view = account_view(loan, queries.schedule(conn, loan_id), day)
    except SchemaError as e:
        _fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        return
    _print_account(view)


def _print_account(view: dict) -> None:
    out.print(
        f"[bold]{view['loan_id']}[/bold]  borrower {view['borrower_id']}  product {view['product']}\n"
        f"{view['currency']} {view['principal']} at {view['annual_rate']} ({view['method']}), "
        f"disbursed {view['disbursed_on']}\n"
        f"as of {view['as_of']}: [bold]{view['status']}[/bold]",
        highlight=False,
    )
    table = Table("n", "due", "pay by", "principal", "interest", "amount", "status")
    for i in view["schedule"]:
        table.add_row(str(i["n"]), i["due_on"], i["adjusted_due_on"], i["principal"], i["interest"], i["amount"], i["status"])
    out.print(table)


def main() -> None:
    app()
