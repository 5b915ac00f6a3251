"""Problems are values: every check returns all it finds, and a command reports them together."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the input, located by data row (1-based) and column where known."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class BadInput(Exception):
    """Input that cannot be accepted. Carries every problem found; the CLI exits 2 and changes nothing."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], source: str | None = None):
        self.problems = tuple(sorted(problems, key=lambda p: (p.row or 0, p.column or "", p.message)))
        self.source = source
        super().__init__("\n".join(str(p) for p in self.problems))
