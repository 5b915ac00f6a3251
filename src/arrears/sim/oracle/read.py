"""Input frames to plain Python records. Cells may be strings or native Polars values.

Polars is used only to hand the rows over; everything after this module is plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl

from arrears.sim.oracle.params import CHANNELS, MINOR_DIGITS


def rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.width == 0:
        return []
    return frame.to_dicts()


def text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def flag(value: Any) -> bool | None:
    """``true``/``false`` or a native boolean; missing stays missing (it may mean "unknown")."""
    if value is None or isinstance(value, bool):
        return value
    s = str(value).strip().casefold()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    if not s:
        return None
    raise ValueError(f"not a boolean: {value!r}")


def day(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    s = text(value)
    return date.fromisoformat(s) if s else None


def instant(value: Any) -> datetime:
    """A timestamp with its offset; one without an offset is refused, never guessed."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return at


def clock(value: Any) -> time | None:
    s = text(value)
    return time.fromisoformat(s) if s else None


def major_amount(value: Any, currency: str) -> Decimal:
    """Money in major units: a decimal string or Decimal as is, an integer as minor units."""
    if isinstance(value, float):
        raise TypeError("money as a float is refused")
    if isinstance(value, int):
        return Decimal(value).scaleb(-MINOR_DIGITS.get(currency, 2))
    return Decimal(str(value).strip())


def loan_set(loan_id: Any, loan_ids: Any) -> frozenset[str] | None:
    """The debts a row is about; ``None`` when it names none (then it is about all of them)."""
    found = {p.strip() for p in (text(loan_ids) or "").split(";") if p.strip()}
    if text(loan_id):
        found.add(text(loan_id))
    return frozenset(found) or None


@dataclass(slots=True)
class Contact:
    seq: int  # position in time order: facts of earlier rows bind later rows
    event_id: str
    borrower_id: str
    loans: frozenset[str] | None
    channel: str
    inbound: bool
    at: datetime
    party: str
    address: str | None
    outcome: str | None
    written: bool | None
    hours_from: time | None
    hours_to: time | None


def contacts(frame: pl.DataFrame | None) -> list[Contact]:
    found = []
    for i, r in enumerate(rows(frame)):
        channel = text(r.get("channel"))
        direction = text(r.get("direction"))
        if channel not in CHANNELS or direction not in ("inbound", "outbound"):
            raise ValueError(f"contact row {i + 1}: channel {channel!r}, direction {direction!r}")
        found.append(Contact(
            seq=0, event_id=text(r.get("event_id")) or str(i + 1),
            borrower_id=text(r.get("borrower_id")) or "",
            loans=loan_set(r.get("loan_id"), r.get("loan_ids")), channel=channel,
            inbound=direction == "inbound", at=instant(r.get("at")),
            party=text(r.get("party")) or "borrower", address=text(r.get("address")),
            outcome=text(r.get("outcome")), written=flag(r.get("written")),
            hours_from=clock(r.get("hours_from")), hours_to=clock(r.get("hours_to")),
        ))
    # Stable: rows at the same instant keep their file order.
    found = [c for _, c in sorted(enumerate(found), key=lambda p: (p[1].at, p[0]))]
    for seq, c in enumerate(found):
        c.seq = seq
    return found


def same_number(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    digits_a = "".join(ch for ch in a if ch.isdigit())
    return digits_a != "" and digits_a == "".join(ch for ch in b if ch.isdigit())
