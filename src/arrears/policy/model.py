"""The frozen shapes a pack loads into. Nothing here can be changed in place."""

from __future__ import annotations

from dataclasses import dataclass

from arrears.policy.tighten import Value

FLOOR, DEFAULT = "floor", "default"
KINDS = (FLOOR, DEFAULT)


@dataclass(frozen=True, slots=True)
class Param:
    """One limit. ``floor`` is the legal floor (None: no legal floor, the platform chose the value).

    A lender may tighten any value, and loosen it down to the floor but never past it.
    """

    key: str
    value: Value
    floor: Value | None
    fact: str  # the fact column the engine compares ``value`` with (see facts.FACTS)
    set_by: str  # the rule whose value is in force: itself, or a stricter rule sharing the key
    overridden_by: str | None = None  # the portfolio whose override set the value
    note: str | None = None

    @property
    def kind(self) -> str:
        """``floor`` when the value in force is the legal floor itself, else ``default``."""
        return FLOOR if self.floor is not None and self.value == self.floor else DEFAULT


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    citation: str
    channels: tuple[str, ...]
    parties: tuple[str, ...]
    collector_roles: tuple[str, ...]
    params: tuple[Param, ...] = ()
    note: str | None = None
    new: bool = False
    reason: str | None = None  # why a rule id not in FIELD-NOTES §4 exists (only with new)
    pack: str = ""  # the pack file it came from

    def param(self, key: str) -> Param:
        for p in self.params:
            if p.key == key:
                return p
        raise KeyError(f"{self.id} has no parameter {key!r}")


@dataclass(frozen=True, slots=True)
class Retention:
    """How long contact and collection records must be kept, at least."""

    years_at_least: int
    floor: int | None
    counted_from: str
    citation: str


@dataclass(frozen=True, slots=True)
class Pack:
    id: str  # PLATFORM, US, US-MA, CN, GB; an effective pack is named like "US-MA/first_party"
    title: str
    layer: str  # platform | jurisdiction | overlay | effective
    rules: tuple[Rule, ...]
    retention: Retention | None = None
    extends: str | None = None  # overlays: the jurisdiction pack they sit on

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"pack {self.id} has no rule {rule_id!r}")

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)
