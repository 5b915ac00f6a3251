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

# Piped output (CI logs, files) gets a wide fixed width instead of Rich's 80 columns; lines of text
# (one problem per line, which tools and tests parse) are never wrapped, only tables fit the width.
out = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=True)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, soft_wrap=True)


class Exit:
    OK, FAILED, BAD_INPUT = 0, 1, 2


_ROLE_HELP = "Who collects: first_party (the lender), third_party (an agency) or debt_buyer. Decides which US rules bind."


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


def _refuse(what: object, problems, outcome: str = "") -> None:
    """Every problem of a bad input, one per line (``row N, column C: ...``), then exit 2."""
    err.print(f"{what}: {len(problems)} problem(s){'; ' + outcome if outcome else ''}", highlight=False)
    for p in problems:
        err.print(f"  {p}", highlight=False, markup=False)
    raise typer.Exit(Exit.BAD_INPUT)


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
    kind: Annotated[str, typer.Argument(help="products, borrowers, references, loans, payments, contacts, flags or agents")],
    file: Annotated[Path, typer.Argument(help="A .csv or .parquet file (.toml for products)")],
    date: Annotated[Optional[str], typer.Option("--date", help="Business date the data is valid from (contact details are versioned by it). Default: today.")] = None,
    allow_extra_columns: Annotated[bool, typer.Option("--allow-extra-columns", help="Ignore unknown columns instead of refusing the file.")] = False,
    collector_role: Annotated[str, typer.Option("--collector-role", help="contacts: who made them, for the audit log's verdict on each. " + _ROLE_HELP)] = "first_party",
) -> None:
    """Import a file atomically and idempotently: all of it, or (exit 2) none of it.

    Contacts: each outbound contact is also recorded in the audit log with the compliance engine's
    verdict on it as it happened (``executed_contact``), in the same transaction."""
    from arrears.ingest.runner import KINDS, import_file
    from arrears.problems import BadInput
    from arrears.store.db import SchemaError

    if kind not in KINDS:
        _fail(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}", Exit.BAD_INPUT)
    business_date = _parse_date(date, "--date") or dt.date.today()
    now = dt.datetime.now(dt.timezone.utc)
    after = None
    if kind == "contacts":
        packs = _packs(collector_role, None)

        def after(conn) -> None:
            from arrears.comply.service import record_executed
            from arrears.store.policy_queries import contacts_recorded_at

            record_executed(conn, contacts_recorded_at(conn, now), business_date, packs, now)
    try:
        result = import_file(
            _engine(ctx), kind, file, business_date=business_date, now=now,
            allow_extra_columns=allow_extra_columns, after=after,
        )
    except BadInput as e:
        _refuse(file, e.problems, "nothing was imported")
    except SchemaError as e:
        _fail(str(e))
    out.print(f"{kind}: {result.rows_in_file} rows read, {result.rows_added} added", highlight=False)


@app.command("close-day")
def close_day(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="The business day to close (and every unclosed day before it).")],
    allow_future: Annotated[bool, typer.Option("--allow-future", help="Allow closing more than one day past the system date.")] = False,
) -> None:
    """Close business day D: every unclosed day up to D, in order, each committed on its own."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arrears.close.lock import Busy
    from arrears.close.run import close_days
    from arrears.problems import BadInput
    from arrears.store.db import SchemaError

    target = _parse_date(date, "--date")
    progress = Progress(TextColumn("closing {task.fields[day]}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    task = None

    def tick(report, done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("close", total=total, day=report.day)
        progress.update(task, completed=done, day=report.day)

    try:
        with progress:
            reports = close_days(_engine(ctx), target, today=dt.date.today(), allow_future=allow_future, on_day=tick)
    except BadInput as e:
        for p in e.problems:
            err.print(f"error: {p}", highlight=False, markup=False)
        raise typer.Exit(Exit.BAD_INPUT) from None
    except Busy as e:
        _fail(str(e))
    except SchemaError as e:
        _fail(str(e))
    if not reports:
        out.print(f"nothing to close: every day through {target} is closed", highlight=False)
        return
    seconds = sum(r.seconds for r in reports)
    out.print(
        f"closed {len(reports)} day(s) {reports[0].day} .. {reports[-1].day}: "
        f"{reports[-1].loans_stepped} loans, {sum(r.loans_rederived for r in reports)} re-derived, {seconds:.2f}s",
        highlight=False,
    )


@app.command("account")
def account(
    ctx: typer.Context,
    loan_id: str,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="End of this business day (default: the last closed day, else today).")] = None,
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="Only facts recorded before this timestamp (ISO 8601 with offset).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    locale: Annotated[str, typer.Option("--locale", help="How amounts are shown (en, zh-CN, en-GB, ...); JSON is unaffected.")] = "en",
) -> None:
    """One account: balances, dpd, bucket, schedule and history as of a business date."""
    from arrears.book.account import account_view
    from arrears.store import book_io as io
    from arrears.store import contact_queries, queries
    from arrears.store.db import SchemaError, unit_of_work

    day = _parse_date(as_of, "--as-of")
    known = None
    if known_at is not None:
        try:
            known = dt.datetime.fromisoformat(known_at)
        except ValueError:
            known = None
        if known is None or known.tzinfo is None:
            _fail(f"--known-at: {known_at!r} is not a timestamp with an offset", Exit.BAD_INPUT)
    try:
        with unit_of_work(_engine(ctx)) as conn:
            loan = queries.loan(conn, loan_id)
            if loan is None:
                _fail(f"no loan {loan_id!r}", Exit.BAD_INPUT)
            if day is None:
                day = io.last_closed(conn) or dt.date.today()
            products = io.load_products(conn)
            borrower = loan["borrower_id"]
            view = account_view(
                loan, io.load_terms(conn, products, [loan_id]), io.load_schedule(conn, [loan_id]),
                io.load_payments(conn, [loan_id]), io.schemes(products), day, known,
                flags=contact_queries.flags(conn, borrower, loan_id, day, known),
                contacts=contact_queries.contacts(conn, borrower, loan_id, day, known),
                promises=_promises_as_of(conn, loan_id, day, known),
                adjustments=io.load_adjustments(conn, [loan_id]),
            )
    except SchemaError as e:
        _fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        return
    _print_account(view, locale)


def _promises_as_of(conn, loan_id: str, day: dt.date, known: dt.datetime | None) -> list[dict]:
    """The loan's promises, each kept, broken or open as of ``day`` (not as the close last left it)."""
    from arrears.book import payments as pay
    from arrears.book.promises import PROMISES, decide
    from arrears.money import format_plain
    from arrears.store import book_io as io
    from arrears.store import contact_queries

    rows = contact_queries.promises(conn, loan_id, day, known)
    if not rows:
        return rows
    outcome = decide(io.load_promises(conn, [loan_id]).select(PROMISES.names()),
                     pay.effective(io.load_payments(conn, [loan_id]), known), day)
    by_id = {r["promise_id"]: r for r in outcome.iter_rows(named=True)}
    currency = io.load_terms(conn, io.load_products(conn), [loan_id])["currency"][0]
    for r in rows:
        o = by_id.get(r["promise_id"])
        if o is not None:
            r["status"] = o["status"]
            r["decided_on"] = o["decided_on"].isoformat() if o["decided_on"] else None
            r["paid_toward"] = format_plain(o["paid_toward"], currency)
    return rows


def _print_account(view: dict, locale: str = "en") -> None:
    from arrears.money import display, parse_amount

    cur = view["currency"]
    b = {k: display(parse_amount(v, cur, allow_negative=True), cur, locale) for k, v in view["balances"].items()}
    out.print(
        f"[bold]{view['loan_id']}[/bold]  borrower {view['borrower_id']}  product {view['product']}  "
        f"as of {view['as_of']}\n"
        f"status [bold]{view['status']}[/bold]  dpd {view['dpd']}  bucket {view['bucket']}  "
        f"dofd {view['dofd'] or '-'}",
        highlight=False,
    )
    bal = Table("principal", "interest due", "accrued", "penalty", "fees", "overdue", "total", "payoff", "credit",
                title="balances")
    bal.add_row(*(b[k] for k in ("principal_outstanding", "interest_due", "accrued_interest", "penalty", "fees",
                                 "overdue", "total_outstanding", "payoff_amount", "credit")))
    out.print(bal)
    table = Table("n", "due", "pay by", "principal", "interest", "paid principal", "paid interest", "status")
    for i in view["schedule"]:
        table.add_row(str(i["n"]), i["due_on"], i["adjusted_due_on"], i["principal"], i["interest"],
                      i["paid_principal"], i["paid_interest"], i["status"])
    out.print(table)
    for p in view.get("pauses", []):
        out.print(f"pause: {p['reason']} ({', '.join(p['effects'])}) {p['from']} .. {p['to'] or 'now'}",
                  highlight=False)
    for f in view.get("flags", []):
        out.print(f"flag: {f['flag']}{' ' + f['value'] if f.get('value') else ''} since {f['since']} "
                  f"({f['source']})", highlight=False)
    for p in view.get("promises", []):
        out.print(f"promise: {p['amount']} by {p['date']}: {p['status']}", highlight=False)
    contacts = view.get("contacts", [])
    if contacts:
        c = Table("at", "channel", "direction", "party", "outcome", title=f"last {len(contacts)} contacts")
        for e in contacts[:10]:
            c.add_row(str(e.get("at")), e.get("channel"), e.get("direction"), e.get("party"), e.get("outcome"))
        out.print(c)


audit_app = typer.Typer(help="The audit log: seal a day, verify the chains.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("seal")
def audit_seal(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="The business day whose segments are sealed.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the day's seal (JSON). Keep it outside the database.")],
) -> None:
    """Seal every segment of a day (no more rows on it after this) and export the seal.

    HMAC key: $ARREARS_AUDIT_KEY or the file named by $ARREARS_AUDIT_KEY_FILE; without one the seal
    carries root hashes only and says so. Sealing a sealed day exports the same seal again.
    """
    import os

    from arrears.audit.log import ChainBroken, seal_day
    from arrears.audit.seal import key_from_env, seal_document
    from arrears.audit.verify import EXIT_TAMPERED
    from arrears.store.db import SchemaError, unit_of_work

    day = _parse_date(date, "--date")
    try:
        key = key_from_env(os.environ)
    except (OSError, ValueError) as e:
        _fail(f"audit key: {e}", Exit.BAD_INPUT)
    try:
        with unit_of_work(_engine(ctx)) as conn:
            sealed = seal_day(conn, day, key=key, sealed_at=dt.datetime.now(dt.UTC))
    except SchemaError as e:
        _fail(str(e))
    except ChainBroken as e:
        for p in e.problems:
            out.print(p.line(), highlight=False, markup=False)
        _fail(f"not sealed: the audit log for {day} does not verify", EXIT_TAMPERED)
    try:
        out_file.write_text(seal_document(day, sealed), encoding="utf-8")
    except OSError as e:
        _fail(f"--out: {e.strerror or e}")
    keyed = sealed and all(s.hmac for s in sealed)
    out.print(
        f"sealed {day}: {len(sealed)} segments, {sum(s.rows for s in sealed)} rows"
        f"{'' if keyed or not sealed else ' (no key configured: root hashes only)'} -> {out_file}",
        highlight=False,
        markup=False,
    )


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    seals: Annotated[Optional[list[Path]], typer.Option("--seals", help="Exported seal files, or directories of them (repeatable).")] = None,
) -> None:
    """Recompute every chain and check it against the seals; exit 3 when anything was tampered with."""
    import os

    from arrears.audit.log import verify_log
    from arrears.audit.seal import SealFileError, key_from_env, read_seal_files
    from arrears.audit.verify import EXIT_TAMPERED
    from arrears.store.db import SchemaError, unit_of_work

    try:
        key = key_from_env(os.environ)
        exported = read_seal_files(seals or [])
    except (OSError, ValueError) as e:  # SealFileError is a ValueError
        _fail(str(e) if isinstance(e, SealFileError) else f"audit key: {e}", Exit.BAD_INPUT)
    try:
        with unit_of_work(_engine(ctx)) as conn:
            report = verify_log(conn, exported, key=key)
    except SchemaError as e:
        _fail(str(e))
    for p in report.problems:
        out.print(p.line(), highlight=False, markup=False)
    summary = (
        f"{report.segments} segments, {report.rows} rows, {report.seals_checked} seals checked"
        f"{'' if key else ' (no key: HMACs not checked)'}"
    )
    if not report.clean:
        out.print(f"TAMPERED: {len(report.problems)} problems; {summary}", highlight=False, markup=False)
        raise typer.Exit(EXIT_TAMPERED)
    out.print(f"audit log verified: {summary}", highlight=False, markup=False)


policy_app = typer.Typer(help="The compliance engine: the rules in force, and decisions on proposed actions.",
                         no_args_is_help=True)
app.add_typer(policy_app, name="policy")

def _packs(collector_role: str, overrides: Optional[Path]):
    """The effective packs, or exit 2 (a loosened legal floor, an unknown rule or role)."""
    from arrears.policy.check.params import Packs
    from arrears.policy.overrides import load_overrides
    from arrears.problems import BadInput

    try:
        return Packs.load(collector_role, load_overrides(overrides) if overrides is not None else None)
    except OSError as e:
        _fail(f"--overrides: {e.strerror or e}", Exit.BAD_INPUT)
    except BadInput as e:
        _refuse(overrides or "policy", e.problems)


_SHOWN = 20  # decisions printed; all of them are in --out


@policy_app.command("check")
def policy_check(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="The business date the actions are for (the audit log's day).")],
    actions: Annotated[Path, typer.Option("--actions", help="Proposed actions (.csv or .parquet; INTERFACE.md).")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the input plus decision, rules, explanation, allowed_start, allowed_end.")],
    collector_role: Annotated[str, typer.Option("--collector-role", help=_ROLE_HELP)] = "first_party",
    overrides: Annotated[Optional[Path], typer.Option("--overrides", help="The portfolio's overrides (TOML): may tighten, never loosen a legal floor.")] = None,
) -> None:
    """Decide every proposed action (allow or block, the rules, why, and when it would be allowed),
    and record each decision in the audit log."""
    from arrears.comply.service import check_file
    from arrears.problems import BadInput
    from arrears.store.db import SchemaError, unit_of_work

    day = _parse_date(date, "--date")
    packs = _packs(collector_role, overrides)
    try:
        with unit_of_work(_engine(ctx)) as conn:
            report = check_file(conn, actions, out_file, day, packs, dt.datetime.now(dt.UTC))
    except BadInput as e:
        _refuse(actions, e.problems, "nothing was decided")
    except SchemaError as e:
        _fail(str(e))
    shown = report.decisions.head(_SHOWN)
    table = Table(title=f"{report.actions} actions: {report.allowed} allowed, {report.blocked} blocked")
    for c in ("action", "borrower", "decision", "rules", "allowed (UTC)"):
        table.add_column(c)
    for r in shown.iter_rows(named=True):
        window = (f"{r['allowed_start']:%m-%d %H:%M} → {r['allowed_end']:%m-%d %H:%M}" if r["allowed_start"] else "")
        table.add_row(r["action_id"], r["borrower_id"], r["decision"], r["rules"].replace(";", " "), window)
    out.print(table)
    more = f"{report.actions - shown.height} more, " if report.actions > shown.height else ""
    out.print(f"{more}{report.audit_rows} audit rows; explanations in {out_file}", highlight=False, markup=False)


@policy_app.command("show")
def policy_show(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="US, US-MA, CN or GB.")],
    collector_role: Annotated[str, typer.Option("--collector-role", help=_ROLE_HELP)] = "first_party",
    overrides: Annotated[Optional[Path], typer.Option("--overrides", help="The portfolio's overrides (TOML).")] = None,
) -> None:
    """The rules in force for a jurisdiction and collector role: each limit, floor or platform
    default, and who set it. Exit 2 if the overrides loosen a legal floor."""
    from arrears.policy.check.params import PACK_KEYS
    from arrears.policy.overrides import show

    if jurisdiction not in PACK_KEYS:
        _fail(f"--jurisdiction: {jurisdiction!r} is not one of {', '.join(PACK_KEYS)}", Exit.BAD_INPUT)
    pack = _packs(collector_role, overrides).packs[jurisdiction]
    table = Table(title=f"{pack.id}: {len(pack.rules)} rules")
    for c in ("rule", "citation", "limit", "value", "kind", "set by"):
        table.add_column(c)
    for r in pack.rules:
        if not r.params:
            table.add_row(r.id, r.citation, r.title, "", "", "")
        for p in r.params:
            table.add_row(r.id, r.citation, p.key, show(p.value), p.kind,
                          p.set_by + (f" ({p.overridden_by})" if p.overridden_by else ""))
    out.print(table)


@app.command("plan")
def plan(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="The day to plan; the day before must be closed.")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the planned actions here (.csv or .parquet; INTERFACE.md actions).")] = None,
    strategy: Annotated[str, typer.Option("--strategy", "--policy", help="none, champion, a strategy file, or an experiment file.")] = "champion",
    collector_role: Annotated[str, typer.Option("--collector-role", help=_ROLE_HELP)] = "first_party",
    overrides: Annotated[Optional[Path], typer.Option("--overrides", help="The portfolio's overrides (TOML): may tighten, never loosen a legal floor.")] = None,
) -> None:
    """The compliant plan for a day: who gets which action, through which channel and when, and why.
    Re-planning a day replaces its plan. Refused (exit 1) unless the day before is closed."""
    from arrears.plan.service import NotClosed, make_plan, write_actions
    from arrears.problems import BadInput
    from arrears.store.db import SchemaError, unit_of_work

    day = _parse_date(date, "--date")
    packs = _packs(collector_role, overrides)
    try:
        with unit_of_work(_engine(ctx)) as conn:
            report = make_plan(conn, day, strategy, packs, dt.datetime.now(dt.UTC))
            if out_file is not None:
                write_actions(report.actions, out_file)
    except BadInput as e:
        _refuse(Path(strategy), e.problems, "nothing was planned")
    except (NotClosed, SchemaError) as e:
        _fail(str(e))
    shown = report.actions.head(_SHOWN)
    table = Table(title=f"plan for {day} (run {report.run}, {report.strategy}): {report.planned} planned, "
                        f"{report.deferred} deferred for capacity, {report.held} held by the compliance engine, "
                        f"{report.left_alone} borrowers left alone")
    for c in ("action", "borrower", "window", "assigned", "reason"):
        table.add_column(c)
    for r in shown.iter_rows(named=True):
        table.add_row(r["action"], r["borrower_id"], f"{r['window_start'][11:16]}–{r['window_end'][11:16]}",
                      r["assigned_to"] or "", r["reason"])
    out.print(table)
    more = f"{report.planned - shown.height} more planned; " if report.planned > shown.height else ""
    where = f"actions in {out_file}" if out_file else "no --out: nothing written to a file"
    out.print(f"{more}{where}", highlight=False, markup=False)


def _sim_progress(days: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("simulating {task.fields[day]}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    task = progress.add_task("simulate", total=days, day="")

    def tick(day, done: int) -> None:
        progress.update(task, completed=done, day=day)

    return progress, tick


def _sim_summary(outcome) -> None:
    r = outcome.report
    table = Table(title=f"{r['days']} simulated days from {r['start']}, strategy {r['strategy']}")
    for c in ("figure", "value"):
        table.add_column(c)
    for key in ("collected", "contact_cost", "agency_fees", "net_collected"):
        table.add_row(key, ", ".join(f"{v} {c}" for c, v in r[key].items()))
    table.add_row("actions", ", ".join(f"{k} {v}" for k, v in r["actions_by_type"].items()))
    table.add_row("contacts per delinquent borrower-week", str(r["contacts_per_delinquent_borrower_week"]))
    table.add_row("complaints", str(r["complaints"]))
    table.add_row("violations (independent re-check)", str(r["violations"]))
    table.add_row("roll rates", ", ".join(f"{k} {v:.0%}" for k, v in r["roll_rates"].items()))
    table.add_row("cure rate (90 days)", "n/a" if r["cure_rate"] is None else f"{r['cure_rate']:.0%}")
    out.print(table)
    out.print(f"charts: {outcome.charts}", highlight=False, markup=False)
    out.print(f"database: {outcome.database}", highlight=False, markup=False)


@app.command("simulate")
def simulate_cmd(
    world: Annotated[str, typer.Option("--world", help="package.module:Name or path/to/file.py:Name.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Days to simulate.")],
    strategy: Annotated[str, typer.Option("--strategy", "--policy", help="none, champion, a strategy file or an experiment file.")] = "champion",
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same report, byte for byte.")] = 0,
    start: Annotated[Optional[str], typer.Option("--start", help="The first simulated day (default: the earliest disbursement).")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="The report (JSON); the charts go beside it (.html).")] = None,
    workdir: Annotated[Path, typer.Option("--workdir", help="Where the simulation's own database and files go.")] = Path(".arrears-sim"),
    collector_role: Annotated[str, typer.Option("--collector-role", help=_ROLE_HELP)] = "first_party",
) -> None:
    """Run the real platform day after day against a world: plan, carry out, import, close.
    In a database of its own (--workdir), never the lender's."""
    from arrears.problems import BadInput
    from arrears.sim.load import load_world
    from arrears.sim.session import NotDemoData, run

    begin = _parse_date(start, "--start") if start else None
    packs = _packs(collector_role, None)
    progress, tick = _sim_progress(days)
    try:
        w = load_world(world)
        with progress:
            outcome = run(w, work=workdir, days=days, strategy=strategy, seed=seed, start=begin, packs=packs,
                          on_day=tick, out=out_file)
    except BadInput as e:
        _refuse(Path(world), e.problems, "nothing was simulated")
    except NotDemoData as e:
        _fail(str(e))
    _sim_summary(outcome)
    if out_file is not None:
        out.print(f"report: {out_file}", highlight=False, markup=False)


@app.command("demo")
def demo(
    loans: Annotated[int, typer.Option("--loans", min=100, help="Loans in the synthetic portfolio.")] = 20_000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do not start the web app afterwards.")] = False,
    workdir: Annotated[Path, typer.Option("--workdir", help="The demo's own directory (database, report, charts).")] = Path(".arrears-demo"),
    days: Annotated[int, typer.Option("--days", min=1, help="Days of simulated history.")] = 90,
) -> None:
    """A synthetic CN online-lending portfolio with 90 days of history simulated under the champion,
    in a database of its own. Refuses a database that holds non-demo data."""
    from arrears.sim.session import NotDemoData, run
    from arrears.sim.worlds import OnlineLendingCN

    world = OnlineLendingCN(loans=loans, take_on=True)
    progress, tick = _sim_progress(days)
    try:
        with progress:
            outcome = run(world, work=workdir, days=days, strategy="champion", seed=0, start=world.start_date,
                          packs=_packs("first_party", None), on_day=tick, out=workdir / "report.json")
    except NotDemoData as e:
        _fail(str(e))
    _sim_summary(outcome)
    out.print(f"report: {workdir / 'report.json'}", highlight=False, markup=False)
    if not no_serve:
        out.print("the web app comes with a later issue: nothing to serve yet", highlight=False, markup=False)


experiment_app = typer.Typer(help="Champion/challenger experiments.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("results")
def experiment_results(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Option("--experiment", help="The experiment's name (its file's [experiment] name).")],
    date: Annotated[str, typer.Option("--date", help="Count episodes at least 90 days old on this date.")],
) -> None:
    """Per arm: episodes 90 days old or more, the share cured and the amount collected per episode,
    each with its 95% interval."""
    from arrears.money import exponent
    from arrears.store import plan_queries as q
    from arrears.store.db import SchemaError, unit_of_work
    from arrears.strategy.results import arm_results

    day = _parse_date(date, "--date")
    try:
        with unit_of_work(_engine(ctx)) as conn:
            inputs = q.experiment_inputs(conn, experiment)
    except SchemaError as e:
        _fail(str(e))
    r = arm_results(*inputs, day)
    if r.is_empty():
        out.print(f"{experiment}: no episode is 90 days old yet on {day}", highlight=False, markup=False)
        return
    table = Table(title=f"{experiment} on {day}: episodes at least 90 days old")
    for c in ("arm", "episodes", "cured (95% interval)", "collected per episode (95% interval)"):
        table.add_column(c)
    for row in r.iter_rows(named=True):
        scale = 10 ** exponent(row["currency"])
        table.add_row(row["arm"], str(row["episodes"]),
                      f"{row['cure_rate']:.1%} ({row['cure_low']:.1%}–{row['cure_high']:.1%})",
                      f"{row['collected_mean'] / scale:,.2f} {row['currency']} "
                      f"({row['collected_low'] / scale:,.2f}–{row['collected_high'] / scale:,.2f})")
    out.print(table)


@audit_app.command("purge")
def audit_purge(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="Today: segments past their minimum retention on this date go.")],
    collector_role: Annotated[str, typer.Option("--collector-role", help=_ROLE_HELP)] = "first_party",
    overrides: Annotated[Optional[Path], typer.Option("--overrides", help="The portfolio's overrides (may lengthen retention).")] = None,
) -> None:
    """Delete whole sealed segments past the packs' minimum retention (CN 5 years; US 3 years after the
    last collection activity). Their seals stay, so verification still knows what was there."""
    from arrears.audit.log import purge
    from arrears.comply.retention import last_activity, retention_rules
    from arrears.store.db import SchemaError, unit_of_work

    today = _parse_date(date, "--date")
    rules = retention_rules(_packs(collector_role, overrides))
    try:
        with unit_of_work(_engine(ctx)) as conn:
            gone = purge(conn, today, rules=rules, last_activity=last_activity(conn))
    except SchemaError as e:
        _fail(str(e))
    for partition, day in gone:
        out.print(f"purged: partition {partition}, day {day}", highlight=False, markup=False)
    out.print(f"{len(gone)} segment(s) purged", highlight=False, markup=False)


def main() -> None:
    app()
