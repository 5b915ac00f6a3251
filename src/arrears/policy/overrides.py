"""A lender's per-portfolio overrides: they may tighten anything, and loosen only platform defaults.

The override file names rules and parameter keys of the shipped packs:

    [override]
    portfolio = "cards-2025"

    [rules.US-FREQ]
    placed_calls_in_7_days_at_most = 5

    [retention]
    years_at_least = 7

Loosening past a legal floor is refused (BadInput, which the CLI maps to exit 2), naming the rule,
the key and the citation. Loosening a platform default down to its floor, if any, is the lender's
call. Values are typed by the key's suffix, exactly as in a pack.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time
from pathlib import Path

from arrears.money import to_decimal
from arrears.policy.load import _check_hours, _read_toml, _Where, parse_value
from arrears.policy.model import Pack, Param, Rule
from arrears.policy.tighten import MIN_BALANCE, Value, comparison, is_looser


@dataclass(frozen=True, slots=True)
class Overrides:
    portfolio: str
    values: tuple[tuple[str, str, Value], ...]  # (rule id, parameter key, value)
    retention_years_at_least: int | None = None
    source: str = ""


def parse_overrides(text: str, source: str) -> Overrides:
    w = _Where(source)
    doc = _read_toml(text, w)
    w.table(doc, "(top level)", ("override", "rules", "retention"), ("override",))
    head = w.table(doc.get("override", {}), "override", ("portfolio",), ("portfolio",))
    portfolio = w.text(head, "portfolio", "override")
    values: list[tuple[str, str, Value]] = []
    rules = doc.get("rules", {})
    if not isinstance(rules, dict):
        w.add("rules", "must be a table of rules keyed by id")
        rules = {}
    for rule_id, params in rules.items():
        if not isinstance(params, dict):
            w.add(f"rules.{rule_id}", "must be a table of parameter = value")
            continue
        for key, raw in params.items():
            v = parse_value(key, raw, f"rules.{rule_id}.{key}", w)
            if v is not None:
                values.append((rule_id, key, v))
    years = None
    if "retention" in doc:
        r = w.table(doc["retention"], "retention", ("years_at_least",), ("years_at_least",))
        if "years_at_least" in r:
            years = parse_value("years_at_least", r["years_at_least"], "retention.years_at_least", w)
    w.raise_if_any()
    return Overrides(portfolio=portfolio, values=tuple(values),
                     retention_years_at_least=years, source=source)  # type: ignore[arg-type]


def load_overrides(path: str | Path) -> Overrides:
    path = Path(path)
    return parse_overrides(path.read_text(encoding="utf-8"), path.name)


def show(value: Value) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple):
        return ", ".join(f"{cur} {to_decimal(amount, cur)}" for cur, amount in value)
    return str(value)


def check_overrides(pack: Pack, overrides: Overrides) -> Pack:
    """``pack`` with the overrides applied, or BadInput listing every loosened floor and unknown name."""
    w = _Where(f"overrides {overrides.portfolio or overrides.source}")
    by_id: dict[str, Rule] = {r.id: r for r in pack.rules}
    changed: dict[str, dict[str, Param]] = {}
    for rule_id, key, value in overrides.values:
        where = f"rules.{rule_id}.{key}"
        rule = by_id.get(rule_id)
        if rule is None:
            w.add(where, f"pack {pack.id} has no rule {rule_id}")
            continue
        try:
            old = rule.param(key)
        except KeyError:
            w.add(where, f"{rule_id} has no parameter {key}")
            continue
        if comparison(key) == MIN_BALANCE:  # currencies the override leaves out keep their minimum
            value = tuple(sorted((dict(old.value) | dict(value)).items()))  # type: ignore[arg-type]
        if old.floor is not None and is_looser(key, value, old.floor):
            w.add(where, f"{show(value)} loosens the legal floor {show(old.floor)} of {rule_id} "
                         f"({rule.citation}); a lender may only tighten it")
            continue
        changed.setdefault(rule_id, {})[key] = replace(
            old, value=value, set_by=rule_id, overridden_by=overrides.portfolio)
    rules = []
    for rule in pack.rules:
        new = changed.get(rule.id)
        if new:
            params = tuple(new.get(p.key, p) for p in rule.params)
            _check_hours(params, f"rules.{rule.id}", w)
            rule = replace(rule, params=params)
        rules.append(rule)
    retention = pack.retention
    years = overrides.retention_years_at_least
    if years is not None:
        if retention is None:
            w.add("retention.years_at_least", f"pack {pack.id} has no retention minimum to change")
        elif retention.floor is not None and years < retention.floor:
            w.add("retention.years_at_least", f"{years} loosens the legal floor {retention.floor} "
                                              f"({retention.citation}); a lender may only tighten it")
        else:
            retention = replace(retention, years_at_least=years)
    w.raise_if_any()
    return replace(pack, rules=tuple(rules), retention=retention)
