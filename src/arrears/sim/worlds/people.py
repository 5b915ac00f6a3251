"""What a world knows about its people beyond the frames: how to reach them and where they live."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl


@dataclass
class People:
    borrowers: pl.DataFrame  # the borrowers frame, in borrower-index order
    references: pl.DataFrame  # the references frame
    agents: pl.DataFrame | None
    phone: np.ndarray  # [b] object: E.164
    email: np.ndarray  # [b] object: address or None
    postal: np.ndarray  # [b] object: street address, city
    home_zone: np.ndarray  # [b] object: the IANA zone the borrower really lives in
    first_reference: np.ndarray  # [b] object: a reference_id or None
    reference_phone: dict[str, str]


def unique_numbers(start: int, count: int, space: int, salt: int) -> np.ndarray:
    """``count`` distinct numbers in [0, space): an affine walk with a multiplier coprime to
    ``space``, so they look scattered yet never repeat (two borrowers never share a number)."""
    multiplier = 7_368_787  # prime, and coprime to every power-of-ten space used here
    i = np.arange(start, start + count, dtype=np.int64)
    return (i * multiplier + salt) % space


@lru_cache(maxsize=4096)
def utc_offset(zone: str, day: dt.date) -> str:
    """``+HH:MM`` of ``zone`` at noon on ``day``."""
    off = dt.datetime.combine(day, dt.time(12), zoneinfo.ZoneInfo(zone)).utcoffset()
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def pools(fake, n: int, *makers: str) -> list[list[str]]:
    """``n`` values from each Faker method, drawn in order from the seeded instance."""
    return [[getattr(fake, m)() for _ in range(n)] for m in makers]


def references_frame(
    rng: np.random.Generator,
    prefix: str,
    owners: np.ndarray,
    names: list[str],
    phones: list[str],
    relations: tuple[tuple[str, ...], tuple[float, ...]],
    consent_share: float,
    registered_on: np.ndarray,
) -> pl.DataFrame:
    """References the borrowers registered themselves, some with a consent date."""
    n = owners.shape[0]
    relation = np.array(relations[0], dtype=object)[rng.choice(len(relations[0]), n, p=np.array(relations[1]))]
    consented = rng.random(n) < consent_share
    back = rng.integers(0, 6, n)
    consent_on = [
        dt.date.fromordinal(int(registered_on[i] - back[i])) if consented[i] else None for i in range(n)
    ]
    return pl.DataFrame({
        "reference_id": [f"{prefix}-R{i:06d}" for i in range(n)],
        "borrower_id": [f"{prefix}-B{b:06d}" for b in owners],
        "name": names,
        "phone": phones,
        "relation": list(relation),
        "source": ["borrower_provided"] * n,
        "consented_on": pl.Series(consent_on, dtype=pl.Date),
    })


def first_reference(references: pl.DataFrame, borrowers: int, prefix: str) -> np.ndarray:
    out = np.full(borrowers, None, dtype=object)
    first = references.group_by("borrower_id", maintain_order=True).first()
    for bid, rid in first.select("borrower_id", "reference_id").iter_rows():
        out[int(bid[len(prefix) + 2 :])] = rid
    return out
