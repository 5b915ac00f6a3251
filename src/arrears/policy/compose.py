"""The effective pack for one portfolio: platform + jurisdiction (+ overlay), for one collector role,
with the lender's overrides, and the strictest value in force wherever rules share a parameter.

Composition keeps every rule, so a blocked action can still name each rule it breaks; a parameter
that several rules set takes the strictest value in all of them, and ``set_by`` names the rule that
value came from (US-MA's 2 calls a week is in force in US-FREQ, set by US-MA).
"""

from __future__ import annotations

from dataclasses import replace

from arrears.policy.ids import COLLECTOR_ROLES
from arrears.policy.load import load_pack
from arrears.policy.model import Pack, Param, Retention
from arrears.policy.overrides import Overrides, check_overrides
from arrears.policy.tighten import Value, strictest
from arrears.problems import BadInput, Problem


def combine(pack_id: str, packs: tuple[Pack, ...]) -> Pack:
    """The rules of several packs side by side; a rule id defined twice is refused."""
    seen: dict[str, str] = {}
    problems = []
    for p in packs:
        for r in p.rules:
            if r.id in seen:
                problems.append(Problem(None, f"{p.id}: rules.{r.id}", f"already defined by {seen[r.id]}"))
            seen[r.id] = p.id
    if problems:
        raise BadInput(problems)
    retention: Retention | None = None
    for p in packs:
        if p.retention is None:
            continue
        if retention is None or p.retention.years_at_least > retention.years_at_least:
            retention = p.retention
    return Pack(id=pack_id, title=" + ".join(p.title for p in packs), layer="effective",
                rules=tuple(r for p in packs for r in p.rules), retention=retention)


def for_role(pack: Pack, collector_role: str) -> Pack:
    if collector_role not in COLLECTOR_ROLES:
        raise BadInput([Problem(None, "collector_role", f"{collector_role!r} is not one of "
                                f"{', '.join(COLLECTOR_ROLES)}")])
    return replace(pack, rules=tuple(r for r in pack.rules if collector_role in r.collector_roles))


def _fold(key: str, values: list[Value]) -> Value | None:
    out = None
    for v in values:
        out = v if out is None else strictest(key, out, v)
    return out


def compose(pack: Pack) -> Pack:
    """Every parameter shared by several rules takes the strictest value and the strictest floor."""
    sharing: dict[str, list[Param]] = {}
    for r in pack.rules:
        for p in r.params:
            sharing.setdefault(p.key, []).append(p)
    best: dict[str, tuple[Value, Value | None, Param]] = {}
    for key, ps in sharing.items():
        value = _fold(key, [p.value for p in ps])
        floor = _fold(key, [p.floor for p in ps if p.floor is not None])
        winner = next((p for p in ps if p.value == value), ps[0])
        best[key] = (value, floor, winner)  # type: ignore[assignment]
    rules = []
    for r in pack.rules:
        params = []
        for p in r.params:
            value, floor, winner = best[p.key]
            if p.value == value:
                params.append(replace(p, floor=floor))
            else:
                params.append(replace(p, value=value, floor=floor, set_by=winner.set_by,
                                      overridden_by=winner.overridden_by))
        rules.append(replace(r, params=tuple(params)))
    return replace(pack, rules=tuple(rules))


def effective_pack(jurisdiction: str, collector_role: str, overrides: Overrides | None = None) -> Pack:
    """The rules in force for one jurisdiction (US, US-MA, CN, GB) and collector role."""
    layers = [load_pack(jurisdiction)]
    while layers[0].extends is not None:
        layers.insert(0, load_pack(layers[0].extends))
    pack = combine(f"{jurisdiction}/{collector_role}", (load_pack("PLATFORM"), *layers))
    pack = for_role(pack, collector_role)
    if overrides is not None:
        pack = check_overrides(pack, overrides)
    return compose(pack)
