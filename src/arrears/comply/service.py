"""The compliance engine's doors: a file of proposed actions, one action an agent is about to take,
and the contacts that were executed. Each decision is recorded in the audit log, in the caller's
transaction, partitioned by the borrower's jurisdiction and chained per business day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

import polars as pl
from sqlalchemy import Connection

from arrears.audit.log import append_frames
from arrears.comply.actions_file import as_engine_input, read_actions, write_decisions
from arrears.policy.check.engine import evaluate
from arrears.policy.check.params import Packs
from arrears.policy.check.world import World, actions_frame
from arrears.store.policy_queries import load_world


@dataclass(frozen=True)
class CheckReport:
    actions: int
    allowed: int
    blocked: int
    audit_rows: int
    decisions: pl.DataFrame


def _utc_text(frame: pl.DataFrame, column: str) -> pl.Expr:
    """As ``audit.chain.utc_text`` writes an instant: microseconds, ``+00:00``. Each distinct instant
    is formatted once and looked up: a batch's instants are few (planned on a minute grid, windows
    on local day boundaries; 6,000 for 800,000 at 200,000 actions), and formatting is what costs
    (a quarter of the time)."""
    instants = frame.get_column(column).unique()
    return pl.col(column).replace_strict(
        instants, instants.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"),
        default=None, return_dtype=pl.String)


def audit_records(decisions: pl.DataFrame, kind: str, extra: dict | None = None) -> pl.DataFrame:
    """One audit record per decision (``audit.chain.TEXT_RECORD``): ``rules`` a JSON list of rule
    ids and ``payload`` canonical JSON (sorted keys, no whitespace; absent values are null)."""
    fields = {
        "action": pl.col("action"), "allowed_end": _utc_text(decisions, "allowed_end"),
        "allowed_start": _utc_text(decisions, "allowed_start"), "channel": pl.col("channel"),
        "end": _utc_text(decisions, "end"), "explanation": pl.col("explanation"), "party": pl.col("party"),
        "start": _utc_text(decisions, "start"), "template_id": pl.col("template_id"),
        **{k: pl.lit(v) for k, v in (extra or {}).items()},
    }
    payload = pl.struct(*(fields[k].alias(k) for k in sorted(fields))).struct.json_encode()
    rules = pl.when(pl.col("rules") == "").then(pl.lit("[]")).otherwise(
        pl.concat_str(pl.lit('["'), pl.col("rules").str.replace_all(";", '","', literal=True), pl.lit('"]')))
    return decisions.select(
        pl.lit(kind).alias("kind"), "borrower_id", "loan_id", "action_id", "decision",
        rules.alias("rules"), payload.alias("payload"),
    )


PLATFORM = "platform"  # the audit partition of a borrower whose jurisdiction is unknown


def _partitions(borrower_ids: pl.DataFrame, world_borrowers: pl.DataFrame) -> pl.Series:
    """Per row of ``borrower_ids``, the audit partition: the borrower's jurisdiction, or ``platform``."""
    return borrower_ids.select("borrower_id").join(
        world_borrowers.select("borrower_id", "jurisdiction").unique("borrower_id"), on="borrower_id", how="left",
        maintain_order="left",
    )["jurisdiction"].fill_null(PLATFORM)


def record(conn: Connection, decisions: pl.DataFrame, kind: str, day: dt.date, recorded_at: dt.datetime,
           world_borrowers: pl.DataFrame, extra: dict | None = None) -> int:
    """Append one audit row per decision, in the batch's order, to the segment of the borrower's
    jurisdiction (``platform`` when unknown) for ``day``."""
    records = audit_records(decisions, kind, extra).with_columns(
        _partitions(decisions, world_borrowers).alias("_partition"))
    parts = sorted(records.partition_by("_partition", as_dict=True, maintain_order=True).items())
    return append_frames(conn, day, [(str(p), part.drop("_partition")) for (p,), part in parts], recorded_at=recorded_at)


Part = tuple[str, pl.Series, pl.DataFrame, Callable[[], World]]

# How ``decide_and_record`` cuts a batch into the chunks the engine decides one after the other.
# The first chunk is decided with nothing beside it and the last one's audit rows are written with
# nothing beside them, so both are small (a thirty-second of the batch each: at 1M actions the
# last one's audit rows, after the engine has finished, took about 0.5 s at a sixteenth, and the
# engine's cost per call, about 0.1 CPU-s, is paid no more often); the chunks between hold at
# most a quarter of the batch (a partition bigger than that is cut), so that a lender in one
# jurisdiction is overlapped too, without paying the engine's per-call cost more than about six
# times. Below ``CHUNKED_FROM`` actions a batch is cut by partition only.
CHUNKED_FROM = 50_000
_EDGE_SHARE = 32
_MIDDLE_SHARE = 4
AUDIT_ORDER = ("borrower_id", "start", "action_id")  # a segment's rows, as the engine decides them


def _cuts(size: int, n: int, first: bool, last: bool) -> list[int]:
    """Where a partition of ``size`` actions (of a batch of ``n``) is cut, in actions from its start:
    the batch's first and last chunk a thirty-second of it, the others at most a quarter."""
    if n < CHUNKED_FROM:
        return []
    edge, middle = max(1, n // _EDGE_SHARE), max(1, n // _MIDDLE_SHARE)
    lo, hi = min(edge, size) if first else 0, max(size - edge, 0) if last else size
    cuts = [lo] if first else []
    pieces = max(1, -(-(hi - lo) // middle))
    cuts += [lo + (hi - lo) * j // pieces for j in range(1, pieces)]
    return [*cuts, hi] if last else cuts


def _chunks_of(part: pl.DataFrame, cuts: list[int]) -> list[pl.DataFrame]:
    """``part`` (one partition's actions) cut into runs of borrowers in ``borrower_id`` order, about
    at ``cuts``: the borrowers where a run ends are read off a sorted sample of the actions (a few
    thousand), not a sort of them all. A borrower's actions stay in one run, in the batch's order."""
    if not cuts or part.height < 2:
        return [part]
    ids = part.get_column("borrower_id")
    sample = ids.gather_every(max(1, part.height // 4096)).sort()
    bounds = sample.gather([min(len(sample) - 1, c * len(sample) // part.height) for c in cuts]).unique(maintain_order=True)
    runs = part.with_columns(bounds.search_sorted(ids, side="right").alias("_run"))
    return [run.drop("_run") for _, run in sorted(runs.partition_by("_run", as_dict=True, maintain_order=True).items())]


def _by_chunk(actions: pl.DataFrame, world: World) -> tuple[list[Part], Callable[[], None]]:
    """The batch cut into chunks, each a run of one audit partition's borrowers (``_cuts``,
    ``_chunks_of``): per
    chunk, in the order they are decided, its partition, the positions of its actions in the batch,
    those actions (in batch order) and how to cut the world of their borrowers. Every fact the
    engine reads about a borrower (references, contacts, flags) goes with the borrower's actions;
    the loans are looked up by id and stay whole. A world is cut when it is needed (by the worker
    deciding it, while the chunk before is being recorded): three million contacts are not copied
    up front.

    Nothing can be decided before the first chunk is cut, so only that is done up front: its world
    is the rows of its borrowers (one ``is_in`` per frame). The other chunks' worlds are cut by each
    world row's chunk (one join per frame), which the second value returned works out: the caller
    runs it while the first chunk is being decided (the cuts run it if not)."""
    if actions.is_empty():
        return [], lambda: None
    frame = actions.with_row_index("_i").with_columns(_partitions(actions, world.borrowers).alias("_part"))
    parts = sorted(frame.partition_by("_part", as_dict=True, maintain_order=True).items())
    runs = [run for k, (_, part) in enumerate(parts)
            for run in _chunks_of(part, _cuts(part.height, frame.height, k == 0, k == len(parts) - 1))]
    frames = {"borrowers": world.borrowers, "references": world.references, "contacts": world.contacts,
              "flags": world.flags}
    tags: dict[str, pl.Series] = {}
    tagging = Lock()

    def tag() -> None:
        with tagging:
            if tags:
                return
            by = pl.concat([run.select("borrower_id").unique().with_columns(pl.lit(c, pl.Int64).alias("_chunk"))
                            for c, run in enumerate(runs)])  # a borrower is in one chunk
            tags.update((name, f.select("borrower_id").join(by, on="borrower_id", how="left", maintain_order="left")
                         .get_column("_chunk")) for name, f in frames.items())

    def first(borrowers: pl.Series) -> Callable[[], World]:
        return lambda: World(**{name: f.filter(pl.col("borrower_id").is_in(borrowers.implode()))
                                for name, f in frames.items()}, loans=world.loans)

    def cut(chunk: int) -> Callable[[], World]:
        def world_of() -> World:
            tag()
            return World(**{name: f.filter(tags[name] == chunk) for name, f in frames.items()}, loans=world.loans)
        return world_of

    return [(str(run["_part"][0]), run["_i"], run.drop("_i", "_part"),
             first(run["borrower_id"].unique()) if c == 0 else cut(c))
            for c, run in enumerate(runs)], tag


def _in_audit_order(records: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """``records`` (one per row of ``decisions``) in ``AUDIT_ORDER``, the batch's order among equals.
    The records are made first and sorted with the decisions' keys beside them: the sort then moves
    the records' seven columns, not the decisions' twenty (a list among them), and the row's
    position as the last key makes the order total, so an unstable sort gives the stable one
    (0.22 against 0.34 CPU-s for 200,000 decisions)."""
    keys = [f"_key_{c}" for c in AUDIT_ORDER]
    return (records.with_columns(decisions.select(pl.col(c).alias(k) for c, k in zip(AUDIT_ORDER, keys)))
            .with_row_index("_key_at").sort([*keys, "_key_at"]).drop(*keys, "_key_at"))


def decide_and_record(conn: Connection, actions: pl.DataFrame, world: World, packs: Packs, kind: str, day: dt.date,
                      recorded_at: dt.datetime, extra: dict | None = None) -> tuple[pl.DataFrame, int]:
    """``evaluate`` the batch and record its decisions, the two overlapped: the batch is decided one
    chunk of an audit partition's borrowers at a time (``_by_chunk``), in a worker thread, while the
    chunk decided before it is turned into audit rows, chained and written. The engine decides each
    borrower on that borrower's facts alone, so the decisions are those of the whole batch at once.
    The audit rows are those ``record`` writes, but in each segment in ``AUDIT_ORDER`` (borrower,
    planned start, action id; the batch's order among equals) instead of the batch's order: the
    order the chunks are decided in. Returns the decisions, in the batch's order, and the number of
    audit rows."""
    actions = actions_frame(actions)
    world = world.conformed()
    parts, tag = _by_chunk(actions, world)
    if not parts:
        return evaluate(actions, world, packs), 0
    decided: list[pl.DataFrame] = []

    def in_batch_order() -> pl.DataFrame:
        return pl.concat(decided).sort("_i").drop("_i")

    with ThreadPoolExecutor(max_workers=1) as pool:
        ordered = []

        def segments() -> Iterator[tuple[str, pl.DataFrame]]:
            ahead = [pool.submit(lambda a=a, w=w: evaluate(a, w(), packs)) for _, _, a, w in parts[:1]]
            tag()  # while the first chunk is decided
            for i, (partition, positions, _, _) in enumerate(parts):
                decisions = ahead.pop().result()
                decided.append(decisions.with_columns(positions.alias("_i")))
                if i + 1 < len(parts):
                    _, _, a, w = parts[i + 1]
                    ahead.append(pool.submit(lambda a=a, w=w: evaluate(a, w(), packs)))
                else:  # the worker is free: it puts the decisions back in order while the last are recorded
                    ordered.append(pool.submit(in_batch_order))
                yield partition, _in_audit_order(audit_records(decisions, kind, extra), decisions)

        rows = append_frames(conn, day, segments(), recorded_at=recorded_at, rows=actions.height,
                             partitions=[p for p, *_ in parts])
        return (ordered[0].result() if ordered else in_batch_order()), rows


def check_file(conn: Connection, path: Path, out: Path, day: dt.date, packs: Packs, recorded_at: dt.datetime) -> CheckReport:
    """``arrears policy check``: decide every proposed action, record each decision, write the file."""
    frame, actions = read_actions(conn, path)
    world = load_world(conn, actions["borrower_id"].unique().to_list(), day)
    decisions, rows = decide_and_record(conn, as_engine_input(actions), world, packs, "policy_check", day, recorded_at,
                                        {"collector_role": packs.collector_role})
    write_decisions(frame, actions, decisions, out)
    allowed = int((decisions["decision"] == "allow").sum())
    return CheckReport(decisions.height, allowed, decisions.height - allowed, rows, decisions)


def check_action(conn: Connection, action: dict, day: dt.date, packs: Packs, recorded_at: dt.datetime) -> dict:
    """An agent about to act: the batch engine on one row, recorded as an ``agent_check``."""
    one = actions_frame([action])
    world = load_world(conn, one["borrower_id"].to_list(), day)
    decision = evaluate(one, world, packs)
    record(conn, decision, "agent_check", day, recorded_at, world.borrowers,
           {"collector_role": packs.collector_role})
    return decision.row(0, named=True)


def record_executed(conn: Connection, contacts: pl.DataFrame, day: dt.date, packs: Packs, recorded_at: dt.datetime) -> int:
    """Executed outbound contacts, each with the engine's verdict on it as it happened (against the
    history before it): ``allow``, or ``block`` with the rules it broke. Contacts are history, so
    they are not counted again as a batch."""
    outbound = contacts.filter(pl.col("direction") == "outbound")
    if outbound.is_empty():
        return 0
    actions = actions_frame(outbound.select(
        pl.col("event_id").alias("action_id"), "borrower_id", "loan_id",
        pl.col("loan_ids"), pl.col("channel").alias("action"), "channel", "party",
        pl.col("at").alias("start"), "address", "recording_ref",
    ))
    # Only a visit is judged on a balance (ARREARS-VISIT-MIN): executed contacts carry no offer amount.
    visited = actions.filter(pl.col("action") == "field_visit")["borrower_id"].unique().to_list()
    world = load_world(conn, actions["borrower_id"].unique().to_list(), day, receivable_for=visited)
    decisions = evaluate(actions, world, packs, batch=False, skip=("ARREARS-TEMPLATE",))
    return record(conn, decisions, "executed_contact", day, recorded_at, world.borrowers, {"executed": True})
