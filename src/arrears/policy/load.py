"""Reading pack files: strict TOML into frozen models, every problem in a file reported together.

Unknown keys are refused everywhere (a misspelt ``sms_per_local_day_at_mots`` silently ignored would
lift the SMS cap), rule ids are checked against FIELD-NOTES §4, and every parameter key must spell
out its comparison and have a fact behind it (facts.FACTS).
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from importlib.resources import files
from pathlib import Path

from arrears.money import MoneyError, parse_amount
from arrears.policy.facts import fact_for
from arrears.policy.ids import CHANNELS, COLLECTOR_ROLES, PARTIES, RULE_IDS
from arrears.policy.model import DEFAULT, FLOOR, KINDS, Pack, Param, Retention, Rule
from arrears.policy.tighten import (
    AT_LEAST,
    AT_MOST,
    FROM,
    MIN_BALANCE,
    UNTIL,
    Value,
    comparison,
    is_looser,
)
from arrears.problems import BadInput, Problem

PACK_FILES = {
    "PLATFORM": "platform.toml",
    "US": "us.toml",
    "US-MA": "us_ma.toml",
    "CN": "cn.toml",
    "GB": "gb.toml",
}
LAYERS = ("platform", "jurisdiction", "overlay")
COUNTED_FROM = ("last_collection_activity", "bad_event_end")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$", re.ASCII)


class _Where:
    """Collects problems, each located by a dotted path inside the named file."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(None, f"{self.source}: {where}", message))

    def table(self, raw: object, where: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
        if not isinstance(raw, dict):
            self.add(where, "must be a table")
            return {}
        for key in raw:
            if key not in allowed:
                self.add(f"{where}.{key}", "unknown key")
        for key in required:
            if key not in raw:
                self.add(f"{where}.{key}", "is required")
        return raw

    def text(self, raw: dict, key: str, where: str) -> str:
        v = raw.get(key)
        if v is None:
            return ""
        if not isinstance(v, str) or not v.strip():
            self.add(f"{where}.{key}", f"must be non-empty text, got {v!r}")
            return ""
        return v

    def raise_if_any(self) -> None:
        if self.problems:
            raise BadInput(self.problems, source=self.source)


def parse_value(key: str, raw: object, where: str, w: _Where) -> Value | None:
    """One parameter value, typed by the key's comparison; None (and a problem) if it is wrong."""
    how = comparison(key)
    if how in (AT_MOST, AT_LEAST):
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            w.add(where, f"must be a non-negative integer, got {raw!r}")
            return None
        return raw
    if how in (FROM, UNTIL):
        m = _HHMM.match(raw) if isinstance(raw, str) else None
        if m is None:
            w.add(where, f"must be a local time \"HH:MM\", got {raw!r}")
            return None
        return time(int(m[1]), int(m[2]))
    if how == MIN_BALANCE:
        if not isinstance(raw, dict) or not raw:
            w.add(where, "must be a table of currency = \"decimal amount\"")
            return None
        out = []
        for cur, amount in raw.items():
            try:
                if not isinstance(amount, str):
                    raise MoneyError(f"must be a quoted decimal amount, got {amount!r}")
                out.append((cur, parse_amount(amount, cur)))
            except MoneyError as e:
                w.add(f"{where}.{cur}", str(e))
        return tuple(sorted(out)) if len(out) == len(raw) else None
    w.add(where, "the key does not spell out its comparison "
                 "(…_at_most, …_at_least, local_hours_from/until, …_min_balance)")
    return None


def _param(rule_id: str, key: str, raw: object, where: str, w: _Where,
           fact_required: bool = True) -> Param | None:
    fact = fact_for(key)
    if fact is None and fact_required:
        w.add(where, "no fact behind this parameter key (add it to arrears.policy.facts.FACTS)")
    t = w.table(raw, where, ("value", "kind", "floor", "note"), ("value", "kind"))
    if not t:
        return None
    kind = t.get("kind")
    if "kind" in t and kind not in KINDS:
        w.add(f"{where}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    value = parse_value(key, t["value"], f"{where}.value", w) if "value" in t else None
    floor: Value | None = value if kind == FLOOR else None
    if "floor" in t:
        if kind != DEFAULT:
            w.add(f"{where}.floor", "only a platform default may name a separate legal floor")
        else:
            floor = parse_value(key, t["floor"], f"{where}.floor", w)
            if value is not None and floor is not None and is_looser(key, value, floor):
                w.add(f"{where}.value", "a platform default must not be looser than its legal floor")
    note = w.text(t, "note", where) or None
    if value is None or (fact is None and fact_required) or kind not in KINDS:
        return None
    return Param(key=key, value=value, floor=floor, fact=fact.column if fact else "",
                 set_by=rule_id, note=note)


def _choices(raw: object, where: str, allowed: tuple[str, ...], w: _Where) -> tuple[str, ...]:
    if raw == ["*"]:
        return allowed
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        w.add(where, f"must be a non-empty list of names, or [\"*\"], got {raw!r}")
        return ()
    for x in raw:
        if x not in allowed:
            w.add(where, f"{x!r} is not one of {', '.join(allowed)}")
    if len(set(raw)) != len(raw):
        w.add(where, "lists a name twice")
    return tuple(x for x in allowed if x in raw)


def _rule(rule_id: str, raw: object, prefix: str, pack_id: str, w: _Where) -> Rule | None:
    where = f"rules.{rule_id}"
    t = w.table(raw, where, ("title", "citation", "applies_to", "params", "note", "new", "reason"),
                ("title", "citation", "applies_to"))
    if not t:
        return None
    new = t.get("new", False)
    if not isinstance(new, bool):
        w.add(f"{where}.new", f"must be true or false, got {new!r}")
        new = False
    reason = w.text(t, "reason", where) or None
    if rule_id in RULE_IDS:
        if new:
            w.add(f"{where}.new", "this id is listed in FIELD-NOTES §4; new is for unlisted rules only")
    elif not new:
        w.add(where, "unknown rule id (not in FIELD-NOTES §4; mark it new = true with a reason)")
    elif reason is None:
        w.add(f"{where}.reason", "a new rule id needs a reason")
    if reason is not None and not new:
        w.add(f"{where}.reason", "only a new rule carries a reason")
    if not rule_id.startswith(prefix):
        w.add(where, f"rule ids in this pack start with {prefix!r}")
    a = w.table(t.get("applies_to", {}), f"{where}.applies_to",
                ("channels", "parties", "collector_roles"), ("channels", "parties", "collector_roles"))
    channels = _choices(a.get("channels"), f"{where}.applies_to.channels", CHANNELS, w) if a else ()
    parties = _choices(a.get("parties"), f"{where}.applies_to.parties", PARTIES, w) if a else ()
    roles = (_choices(a.get("collector_roles"), f"{where}.applies_to.collector_roles",
                      COLLECTOR_ROLES, w) if a else ())
    params: list[Param] = []
    raw_params = t.get("params", {})
    if not isinstance(raw_params, dict):
        w.add(f"{where}.params", "must be a table")
        raw_params = {}
    for key, praw in raw_params.items():
        p = _param(rule_id, key, praw, f"{where}.params.{key}", w)
        if p is not None:
            params.append(p)
    _check_hours(params, f"{where}.params", w)
    return Rule(
        id=rule_id,
        title=w.text(t, "title", where),
        citation=w.text(t, "citation", where),
        channels=channels,
        parties=parties,
        collector_roles=roles,
        params=tuple(params),
        note=w.text(t, "note", where) or None,
        new=new,
        reason=reason,
        pack=pack_id,
    )


def _check_hours(params: list[Param] | tuple[Param, ...], where: str, w: _Where) -> None:
    by_key = {p.key: p.value for p in params}
    start, end = by_key.get("local_hours_from"), by_key.get("local_hours_until")
    if start is not None and end is not None and not start < end:  # type: ignore[operator]
        w.add(where, f"local_hours_from {start} must be before local_hours_until {end}")


def _retention(raw: object, w: _Where) -> Retention | None:
    t = w.table(raw, "retention", ("years_at_least", "counted_from", "citation"),
                ("years_at_least", "counted_from", "citation"))
    if not t:
        return None
    counted_from = t.get("counted_from")
    if "counted_from" in t and counted_from not in COUNTED_FROM:
        w.add("retention.counted_from", f"{counted_from!r} is not one of {', '.join(COUNTED_FROM)}")
    years = None
    if "years_at_least" in t:
        years = _param("retention", "years_at_least", t["years_at_least"], "retention.years_at_least",
                       w, fact_required=False)
    if years is None or counted_from not in COUNTED_FROM:
        return None
    return Retention(years_at_least=years.value, floor=years.floor,  # type: ignore[arg-type]
                     counted_from=counted_from, citation=w.text(t, "citation", "retention"))


def _read_toml(text: str, w: _Where) -> dict:
    """The document, or BadInput naming the file when it is not TOML at all."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        w.add("(file)", f"not valid TOML: {e}")
        w.raise_if_any()
        raise  # unreachable: raise_if_any raised


def parse_pack(text: str, source: str) -> Pack:
    """Parse one pack file's text; raise BadInput with every problem found."""
    w = _Where(source)
    doc = _read_toml(text, w)
    w.table(doc, "(top level)", ("pack", "retention", "rules"), ("pack", "rules"))
    head = w.table(doc.get("pack", {}), "pack", ("id", "title", "layer", "extends"),
                   ("id", "title", "layer"))
    pack_id = w.text(head, "id", "pack")
    layer = head.get("layer")
    if "layer" in head and layer not in LAYERS:
        w.add("pack.layer", f"{layer!r} is not one of {', '.join(LAYERS)}")
    extends = w.text(head, "extends", "pack") or None
    if (layer == "overlay") != (extends is not None):
        w.add("pack.extends", "an overlay names the pack it extends, and only an overlay does")
    prefix = "ARREARS-" if layer == "platform" else pack_id.split("-")[0] + "-"
    retention = _retention(doc["retention"], w) if "retention" in doc else None
    rules: list[Rule] = []
    raw_rules = doc.get("rules", {})
    if not isinstance(raw_rules, dict):
        w.add("rules", "must be a table of rules keyed by id")
        raw_rules = {}
    for rule_id, raw in raw_rules.items():
        r = _rule(rule_id, raw, prefix, pack_id, w)
        if r is not None:
            rules.append(r)
    w.raise_if_any()
    return Pack(id=pack_id, title=w.text(head, "title", "pack"), layer=layer, rules=tuple(rules),
                retention=retention, extends=extends)


def load_pack_file(path: str | Path) -> Pack:
    path = Path(path)
    return parse_pack(path.read_text(encoding="utf-8"), path.name)


def load_pack(pack_id: str) -> Pack:
    """One shipped pack by id: PLATFORM, US, US-MA, CN or GB."""
    try:
        name = PACK_FILES[pack_id]
    except KeyError:
        raise BadInput([Problem(None, "jurisdiction", f"no pack {pack_id!r} "
                                f"(one of {', '.join(PACK_FILES)})")]) from None
    pack = parse_pack(files("arrears.policy").joinpath("packs").joinpath(name).read_text(encoding="utf-8"), name)
    if pack.id != pack_id:
        raise BadInput([Problem(None, f"{name}: pack.id", f"is {pack.id!r}, expected {pack_id!r}")],
                       source=name)
    return pack
