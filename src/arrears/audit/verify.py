"""Verification, pure: walk one segment's chain, then hold it against its seals.

Each problem is named by kind and located by partition, day and (where there is one) seq:

- ``edited``: a row's stored hash does not match its fields (its content was changed), or a link
  breaks with no gap and no other row to point to (the row before it was changed and re-hashed).
- ``deleted``: a gap in ``seq`` (rows missing in the middle or at the start), or a segment purged
  before its minimum retention.
- ``reordered``: a row's own hash checks, but its ``prev_hash`` names another row of the segment
  than the one before it.
- ``truncated``: fewer rows than a seal records (a missing tail, or a whole missing segment).
- ``appended``: more rows than a seal records (written past the seal, around the refusal).
- ``rechained``: the chain is consistent in itself, but its root (or the HMAC over it) differs from
  the sealed one: the hashes were recomputed after an edit.

Internal checks need nothing but the rows. A missing tail and a full re-chain leave a consistent
chain behind; only a seal catches those, and against someone who can also rewrite the database's
seal rows, only an exported seal or an HMAC under a key kept outside the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arrears.audit.chain import GENESIS, row_hash
from arrears.audit.seal import Seal, hmac_matches

EXIT_TAMPERED = 3


@dataclass(frozen=True)
class Problem:
    kind: str
    partition: str
    day: dt.date
    seq: int | None
    detail: str

    def line(self) -> str:
        where = f"partition {self.partition}, day {self.day.isoformat()}"
        if self.seq is not None:
            where += f", seq {self.seq}"
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(frozen=True)
class Segment:
    """What the chain in the database amounts to: its rows, last seq and root."""

    partition: str
    day: dt.date
    rows: int
    last_seq: int
    root: str | None
    consistent: bool


def check_segment(
    partition: str, day: dt.date, rows: Sequence[Mapping[str, Any]]
) -> tuple[Segment, list[Problem]]:
    """Recompute one segment's chain; ``rows`` must be sorted by seq."""
    problems: list[Problem] = []

    def report(kind: str, seq: int | None, detail: str) -> None:
        problems.append(Problem(kind, partition, day, seq, detail))

    hashes = {r["row_hash"]: r["seq"] for r in rows}
    edited: set[int] = set()
    for r in rows:
        if row_hash(r["prev_hash"], r) != r["row_hash"]:
            edited.add(r["seq"])
            report("edited", r["seq"], "row content does not match its hash")
    prev_seq, prev_hash = 0, GENESIS
    for r in rows:
        seq = r["seq"]
        if seq != prev_seq + 1:
            missing = f"seq {prev_seq + 1}" if seq == prev_seq + 2 else f"seqs {prev_seq + 1}-{seq - 1}"
            report("deleted", prev_seq + 1, f"{missing} missing")
        elif r["prev_hash"] != prev_hash and seq not in edited:
            if r["prev_hash"] in hashes or r["prev_hash"] == GENESIS:
                before = hashes.get(r["prev_hash"])
                report(
                    "reordered",
                    seq,
                    f"chained after seq {before}, stored after seq {prev_seq}"
                    if before is not None
                    else f"chained as the first row, stored after seq {prev_seq}",
                )
            elif prev_seq not in edited:
                edited.add(prev_seq)
                report("edited", prev_seq, f"changed and re-hashed (seq {seq} no longer links to it)")
        prev_seq, prev_hash = seq, r["row_hash"]
    last = rows[-1] if rows else None
    segment = Segment(
        partition,
        day,
        rows=len(rows),
        last_seq=0 if last is None else last["seq"],
        root=None if last is None else last["row_hash"],
        consistent=not problems,
    )
    return segment, problems


def check_against_seal(segment: Segment, seal: Seal, key: bytes | None) -> list[Problem]:
    """Hold a segment's chain against one seal (from the database or an exported file)."""
    where = "the database's seal" if seal.source == "database" else f"the seal in {seal.source}"

    def problem(kind: str, seq: int | None, detail: str) -> Problem:
        return Problem(kind, segment.partition, segment.day, seq, detail)

    if segment.last_seq < seal.rows:
        first = segment.last_seq + 1
        span = f"seq {first}" if first == seal.rows else f"seqs {first}-{seal.rows}"
        return [problem("truncated", first, f"{span} missing: {where} records {seal.rows} rows")]
    if segment.last_seq > seal.rows:
        return [
            problem(
                "appended",
                seal.rows + 1,
                f"{segment.last_seq - seal.rows} rows past {where} ({seal.rows} rows)",
            )
        ]
    if not segment.consistent:
        return []  # the chain's own problems already name what changed
    if segment.root != seal.root:
        return [problem("rechained", None, f"chain root differs from {where}'s root")]
    if key is not None and seal.hmac is not None and segment.root is not None:
        if not hmac_matches(key, seal, seal.rows, segment.root):
            return [
                problem("rechained", None, f"chain root does not match {where}'s HMAC (keyed seal)")
            ]
    return []
