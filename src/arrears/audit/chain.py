"""The hash chain: canonical rows, their hashes, and how a batch of records joins a segment.

Pure: imports only the standard library and Polars, so it can be tested, and re-implemented by an
auditor, without a database.

A *segment* is the part of the log for one (partition, day); each segment is its own chain. Row ``seq``
runs 1, 2, 3, ... and each row carries ``prev_hash`` (the previous row's ``row_hash``, or
``GENESIS`` for the first) and ``row_hash = sha256(VERSION "\\n" prev_hash "\\n" canonical fields)``.

Two encodings of the canonical fields exist; a row's ``format`` column says which one its hash uses,
so rows written before format 2 still verify as they were written:

- format 1 (``arrears-audit-row/1``): the fields as a JSON array, ``json.dumps(fields,
  separators=(",", ":"), ensure_ascii=False)``.
- format 2 (``arrears-audit-row/2``, written since 2026-11-29): each field as ``-`` when null, else
  as its UTF-8 length in bytes, ``:`` and its UTF-8 bytes (``6:policy``), the fields concatenated
  with nothing between them. Self-delimiting like JSON, but built for a million rows with a few
  string concatenations instead of a JSON encoder, and no escaping to get right.

What is hashed is the same in both: the text of every field as stored.

``seq`` is deliberately *not* among the hashed fields: a row's place is already fixed by
``prev_hash``, which is hashed. Keeping ``seq`` out is what lets verification tell a *reordered* row
(its own hash still checks, its link does not) from an *edited* one (its own hash fails).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import polars as pl

VERSION = "arrears-audit-row/1"
VERSION_2 = "arrears-audit-row/2"
FORMAT = 2  # what appends write; ``row_hash`` reads a row's own ``format`` (absent: 1)
GENESIS = "0" * 64
_SLICE = 2048  # rows hashed between two releases of the GIL (``chain_frame``): about 2 ms
KINDS = frozenset(
    {"planned_action", "agent_check", "policy_check", "screened_count", "executed_contact"}
)
# The columns a record may carry, besides kind (required) and recorded_at (optional per record).
SUBJECTS = ("borrower_id", "loan_id", "action_id")
HASHED = ("partition", "day", "kind", *SUBJECTS, "decision", "rules", "payload", "recorded_at")


class AuditRecordError(ValueError):
    """A record cannot go into the log as given (unknown kind, naive timestamp, float money, ...)."""


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        # Money is integer minor units and rates integer nano units; a float has no place in a fact
        # whose hash must be the same on every machine and every reading.
        raise AuditRecordError(f"float {value!r} in an audit record: use integers or strings")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise AuditRecordError(f"{type(value).__name__} value {value!r} cannot go into an audit record")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept as is: one text per value, on every machine."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp in UTC. A naive one is read as UTC: that is how SQLite gives them back."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def utc_text(value: dt.datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")


def _fields(row: Mapping[str, Any]) -> list[Any]:
    return [
        row["partition"],
        row["day"].isoformat() if isinstance(row["day"], dt.date) else str(row["day"]),
        row["kind"],
        *(row.get(s) for s in SUBJECTS),
        row.get("decision"),
        row.get("rules"),
        row["payload"],
        utc_text(row["recorded_at"]),
    ]


def field_bytes(value: str | None) -> bytes:
    """Format 2's encoding of one field: ``-`` for null, else ``<UTF-8 length>:<UTF-8 bytes>``."""
    if value is None:
        return b"-"
    data = str(value).encode("utf-8")
    return b"%d:%s" % (len(data), data)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """The hash of a row as stored: ``rules`` and ``payload`` are hashed as their stored text, in
    the encoding of the row's ``format`` (1 when the row has none: it predates the column)."""
    fields = _fields(row)
    fmt = row.get("format") or 1
    if fmt == 1:
        text = f"{VERSION}\n{prev_hash}\n" + json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    if fmt == 2:
        body = b"".join(field_bytes(f) for f in fields)
        return hashlib.sha256(f"{VERSION_2}\n{prev_hash}\n".encode() + body).hexdigest()
    raise AuditRecordError(f"audit row format {fmt!r} is unknown to this version")


def chain_records(
    records: pl.DataFrame | Iterable[Mapping[str, Any]],
    *,
    partition: str,
    day: dt.date,
    recorded_at: dt.datetime,
    last_seq: int = 0,
    last_hash: str = GENESIS,
) -> list[dict[str, Any]]:
    """Rows ready to store for ``records`` appended, in order, after (``last_seq``, ``last_hash``).

    A record is a mapping (or a frame row) with ``kind`` and any of ``borrower_id``, ``loan_id``,
    ``action_id``, ``decision``, ``rules`` (a list of rule ids), ``payload`` (a mapping) and
    ``recorded_at`` (default: the batch's). Timestamps must carry a zone; they are stored in UTC.
    """
    if not partition:
        raise AuditRecordError("an audit segment needs a partition")
    if recorded_at.tzinfo is None:
        raise AuditRecordError("recorded_at must carry a time zone")
    rows = records.to_dicts() if isinstance(records, pl.DataFrame) else list(records)
    out: list[dict[str, Any]] = []
    seq, prev = last_seq, last_hash
    for i, rec in enumerate(rows):
        unknown = set(rec) - {"kind", *SUBJECTS, "decision", "rules", "payload", "recorded_at"}
        if unknown:
            raise AuditRecordError(f"record {i + 1}: unknown fields {sorted(unknown)}")
        kind = rec.get("kind")
        if kind not in KINDS:
            raise AuditRecordError(f"record {i + 1}: kind {kind!r} is not one of {sorted(KINDS)}")
        at = rec.get("recorded_at") or recorded_at
        if at.tzinfo is None:
            raise AuditRecordError(f"record {i + 1}: recorded_at must carry a time zone")
        rules = rec.get("rules")
        seq += 1
        row = {
            "partition": partition,
            "day": day,
            "seq": seq,
            "kind": kind,
            **{s: (None if rec.get(s) is None else str(rec[s])) for s in SUBJECTS},
            "decision": rec.get("decision"),
            "rules": None if rules is None else canonical_json(list(rules)),
            "payload": canonical_json(rec.get("payload") or {}),
            "recorded_at": as_utc(at),
            "prev_hash": prev,
            "format": FORMAT,
        }
        row["row_hash"] = prev = row_hash(prev, row)
        out.append(row)
    return out


# --------------------------------------------------------------------------- many rows at once

TEXT_RECORD = pl.Schema({
    "kind": pl.String, "borrower_id": pl.String, "loan_id": pl.String, "action_id": pl.String,
    "decision": pl.String, "rules": pl.String, "payload": pl.String,
})


def chain_frame(
    records: pl.DataFrame,
    *,
    partition: str,
    day: dt.date,
    recorded_at: dt.datetime,
    last_seq: int = 0,
    last_hash: str = GENESIS,
) -> pl.DataFrame:
    """``chain_records`` for a frame whose ``rules`` and ``payload`` are already canonical JSON text
    (``TEXT_RECORD``): the same rows and hashes, built for a million rows.

    Format 2's bytes are built by Polars (a length prefix and the text per field; the tests hold
    them equal to ``row_hash``'s); only the chain itself, one SHA-256 per row, is a Python loop.
    """
    if not partition:
        raise AuditRecordError("an audit segment needs a partition")
    if recorded_at.tzinfo is None:
        raise AuditRecordError("recorded_at must carry a time zone")
    unknown = set(records["kind"].unique().to_list()) - KINDS
    if unknown:
        raise AuditRecordError(f"kinds {sorted(map(str, unknown))} are not in {sorted(KINDS)}")
    at = as_utc(recorded_at)
    frame = records.select(pl.col(c).cast(t) for c, t in TEXT_RECORD.items())

    def encoded(column: str) -> pl.Expr:
        c = pl.col(column)
        return pl.when(c.is_null()).then(pl.lit("-")).otherwise(
            pl.concat_str(c.str.len_bytes().cast(pl.String), pl.lit(":"), c))

    # partition, day ... recorded_at, as ``_fields`` lists them; the constant ones encoded once.
    constant = [field_bytes(partition).decode(), field_bytes(day.isoformat()).decode()]
    body = pl.concat_str(
        pl.lit("".join(constant)),
        *(encoded(c) for c in ("kind", *SUBJECTS, "decision", "rules", "payload")),
        pl.lit(field_bytes(utc_text(at)).decode()),
    )
    bodies = frame.select(body.cast(pl.Binary).alias("b"))["b"]
    hashes: list[str] = []
    prev = last_hash
    # Every row's hash begins with the version line: hashed once, and each row continues a copy of
    # that state instead of formatting a new message (a fifth less CPU).
    head = hashlib.sha256(f"{VERSION_2}\n".encode()).copy
    # This loop holds the GIL. In a policy check it runs beside the engine's thread, whose Python
    # between two Polars calls would wait for the GIL up to the interpreter's switch interval (5 ms)
    # each time: the bodies are taken a slice at a time and the GIL is let go after each slice.
    for start in range(0, bodies.len(), _SLICE):
        for b in bodies.slice(start, _SLICE).to_list():
            h = head()
            h.update(prev.encode())
            h.update(b"\n")
            h.update(b)
            prev = h.hexdigest()
            hashes.append(prev)
        time.sleep(0)
    n = frame.height
    row_hashes = pl.Series("row_hash", hashes, dtype=pl.String)
    return frame.with_columns(
        pl.lit(partition).alias("partition"),
        pl.lit(day).alias("day"),
        pl.int_range(last_seq + 1, last_seq + 1 + n, dtype=pl.Int64).alias("seq"),
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("recorded_at"),
        row_hashes.shift(1, fill_value=last_hash).alias("prev_hash"),
        row_hashes,
        pl.lit(FORMAT, pl.Int16).alias("format"),
    )
