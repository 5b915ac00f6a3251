"""The effective packs as frames the rules can join: one row of parameters per pack key.

A rule is in force for an action when its borrower's pack key selects an effective pack holding it
(the collector role has already dropped the rules that do not bind it), the action's channel is in
the rule's ``applies_to.channels`` and the party's kind in its ``parties``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time
from functools import cached_property

import polars as pl

from arrears.policy.compose import effective_pack
from arrears.policy.model import Pack
from arrears.policy.overrides import Overrides
from arrears.problems import BadInput, Problem

PACK_KEYS = ("US", "US-MA", "CN", "GB")


@dataclass(frozen=True)
class Packs:
    packs: dict[str, Pack]  # pack key -> effective pack
    collector_role: str
    # Expressions and frames built from the packs, kept so a one-row check does not rebuild them.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def load(collector_role: str = "first_party", overrides: Overrides | None = None) -> Packs:
        """Every jurisdiction's effective pack for one collector role, with one portfolio's overrides.

        Each pack takes the overrides of the rules it holds (US-FREQ binds US and US-MA, CN-FREQ
        only CN); naming a rule no pack holds for the role, or loosening a legal floor, is refused
        (``BadInput``: the CLI exits 2)."""
        plain = {k: effective_pack(k, collector_role) for k in PACK_KEYS}
        if overrides is None:
            return Packs(plain, collector_role)
        held = {r for p in plain.values() for r in p.rule_ids}
        unknown = [Problem(None, f"rules.{rule}.{key}", f"no pack holds {rule} for collector role {collector_role}")
                   for rule, key, _ in overrides.values if rule not in held]
        if unknown:
            raise BadInput(unknown, source=overrides.source or None)
        packs = {}
        for k, p in plain.items():
            mine = replace(overrides, values=tuple(v for v in overrides.values if v[0] in p.rule_ids),
                           retention_years_at_least=overrides.retention_years_at_least if p.retention else None)
            packs[k] = effective_pack(k, collector_role, mine)
        return Packs(packs, collector_role)

    def keys_with(self, rule_id: str) -> list[str]:
        return [k for k, p in self.packs.items() if rule_id in p.rule_ids]

    def rule_meta(self, rule_id: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """(channels, parties) of a rule, or None when no pack holds it."""
        for p in self.packs.values():
            if rule_id in p.rule_ids:
                r = p.rule(rule_id)
                return r.channels, r.parties
        return None

    @cached_property
    def params(self) -> pl.DataFrame:
        return self.param_frame()

    @cached_property
    def min_balances(self) -> pl.DataFrame:
        return self.min_balance_frame()

    def param_frame(self) -> pl.DataFrame:
        """One row per pack key; a column ``RULE.key`` per parameter (times as minutes after midnight;
        minimum balances are in ``min_balance_frame``). Null where the pack lacks the rule."""
        rows = []
        for k, p in self.packs.items():
            row: dict[str, object] = {"pack_key": k}
            for r in p.rules:
                for prm in r.params:
                    if isinstance(prm.value, time):
                        row[f"{r.id}.{prm.key}"] = prm.value.hour * 60 + prm.value.minute
                    elif isinstance(prm.value, int):
                        row[f"{r.id}.{prm.key}"] = prm.value
            rows.append(row)
        columns = sorted({c for row in rows for c in row} - {"pack_key"})
        return pl.DataFrame(
            [{c: row.get(c) for c in ("pack_key", *columns)} for row in rows],
            schema={"pack_key": pl.String, **{c: pl.Int64 for c in columns}},
        )

    def min_balance_frame(self) -> pl.DataFrame:
        rows = [
            (k, cur, amount)
            for k, p in self.packs.items() if "ARREARS-VISIT-MIN" in p.rule_ids
            for cur, amount in p.rule("ARREARS-VISIT-MIN").param("visit_min_balance").value  # type: ignore[union-attr]
        ]
        return pl.DataFrame(rows, schema={"pack_key": pl.String, "currency": pl.String, "visit_min": pl.Int64},
                            orient="row")
