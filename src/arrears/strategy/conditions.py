"""Condition keys: each names the fact column it reads and the comparison it makes.

A strategy state's ``when`` table holds these keys. The key says the comparison (``dpd_min`` is
``dpd >= value``), so a reader never has to guess whether a bound is inclusive. A key whose fact
column is not in ``FACTS`` could never be true or false on real data: loading refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from arrears.strategy.facts import FACTS


@dataclass(frozen=True, slots=True)
class Condition:
    fact: str
    op: str  # ">=", "<=", "<", "in", "any", "none", "is"
    kind: str  # what the TOML value must be: int, money, strings, bool


CONDITIONS: dict[str, Condition] = {
    "dpd_min": Condition("dpd", ">=", "int"),
    "dpd_max": Condition("dpd", "<=", "int"),
    "balance_min": Condition("balance", ">=", "money"),
    "balance_below": Condition("balance", "<", "money"),
    "bucket_in": Condition("bucket", "in", "strings"),
    "status_in": Condition("status", "in", "strings"),
    "jurisdiction_in": Condition("jurisdiction", "in", "strings"),
    "flags_any": Condition("flags", "any", "strings"),
    "flags_none": Condition("flags", "none", "strings"),
    "promise_status_in": Condition("promise_status", "in", "strings"),
    "promise_holds": Condition("promise_holds", "is", "bool"),
    "arrangement_holds": Condition("arrangement_holds", "is", "bool"),
    "days_since_broken_promise_max": Condition("days_since_broken_promise", "<=", "int"),
    "days_since_rpc_min": Condition("days_since_rpc", ">=", "int"),
    "days_since_rpc_max": Condition("days_since_rpc", "<=", "int"),
    "refusals_min": Condition("refusals", ">=", "int"),
    "missed_instalments_min": Condition("missed_instalments", ">=", "int"),
}

# Every key must have its fact: checked once here, so a typo in this table fails at import time.
_MISSING = [k for k, c in CONDITIONS.items() if c.fact not in FACTS]
assert not _MISSING, f"condition keys without a fact column: {_MISSING}"


def expression(key: str, value: Any) -> pl.Expr:
    """The condition as a Polars predicate over ``FACTS``; a null fact never matches a bound."""
    c = CONDITIONS[key]
    col = pl.col(c.fact)
    if c.op == ">=":
        return col.is_not_null() & (col >= value)
    if c.op == "<=":
        return col.is_not_null() & (col <= value)
    if c.op == "<":
        return col.is_not_null() & (col < value)
    if c.op == "in":
        return col.is_in(list(value))
    if c.op == "any":
        return col.list.eval(pl.element().is_in(list(value))).list.any()
    if c.op == "none":
        return ~col.list.eval(pl.element().is_in(list(value))).list.any()
    if c.op == "is":
        return col.fill_null(False) == bool(value)
    raise AssertionError(c.op)
