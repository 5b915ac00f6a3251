"""What the import tests share: writing CSV files, reading problems off the CLI, snapshotting tables."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy import inspect, select

from arrears.store import tables as t

PROBLEM_LINE = re.compile(r"^\s*row (\d+), column ([^:\s]+):", re.MULTILINE)


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: two snapshots are equal if nothing changed."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {
            name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
            for name, table in t.metadata.tables.items()
            if name in present
        }


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...] | None = None) -> Path:
    """A CSV with ``columns`` (default: the first row's keys); missing cells are empty."""
    columns = columns or tuple(rows[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def problem_lines(output: str) -> list[tuple[int, str]]:
    """The (row, column) of every ``row N, column C: …`` line the CLI printed."""
    return [(int(n), c) for n, c in PROBLEM_LINE.findall(output)]


def flat(output: str) -> str:
    """Output with line wrapping undone (the console wraps long problem lines)."""
    return " ".join(output.split())
