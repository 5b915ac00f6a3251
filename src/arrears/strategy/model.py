"""A strategy as frozen values: states worst first (first match wins), statutory notices, costs.

Money is minor units of the strategy's currency; uplifts and discounts are parts per million and
costs micro-minor units (an e-mail costs a fifth of a cent), so an expected value, uplift × balance
− cost, is exact integer arithmetic in micro-minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class Offer:
    type: str  # settlement or plan
    discount_ppm: int = 0  # settlement: the share of the balance forgiven
    pay_by_days: int = 14  # settlement: days from the plan date to pay
    count: int = 0  # plan: number of instalments
    frequency: str = "monthly"  # plan
    first_due_in_days: int = 7  # plan


@dataclass(frozen=True, slots=True)
class ActionSpec:
    action: str  # INTERFACE.md actions: sms, email, robocall, agent_call, letter, field_visit, offers, agency_placement
    channel: str | None  # contact channel; the action itself for contact actions; None for agency_placement
    template: str | None
    cadence_days: int  # not again for this borrower until this many days after it was last planned
    uplift_ppm: int  # expected rise in the chance of being paid, times the balance, is the gain
    offer: Offer | None = None


@dataclass(frozen=True, slots=True)
class State:
    name: str
    when: tuple[tuple[str, object], ...]  # (condition key, value in fact units)
    actions: tuple[ActionSpec, ...]  # empty: this state holds contact


@dataclass(frozen=True, slots=True)
class Notice:
    """A statutory notice: planned once its conditions hold and until its flag is set."""

    name: str
    when: tuple[tuple[str, object], ...]
    spec: ActionSpec
    sets_flag: str
    collector_roles: tuple[str, ...] = ()  # empty: whoever collects (US-VALID binds third parties only)


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    version: int
    jurisdictions: tuple[str, ...]  # "US" covers every US-XX
    currency: str
    hours: tuple[int, int]  # local minutes: the window proposed for contact actions
    costs: dict[str, int] = field(hash=False)  # channel or action -> micro-minor units per execution
    states: tuple[State, ...] = ()
    notices: tuple[Notice, ...] = ()
    source: str = ""

    def covers(self, jurisdiction: str) -> bool:
        return any(jurisdiction == j or jurisdiction.startswith(j + "-") for j in self.jurisdictions)


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    strategies: tuple[Strategy, ...]  # one per jurisdiction it covers
    share_ppm: int


@dataclass(frozen=True, slots=True)
class Experiment:
    """What ``--strategy`` names: one arm (a strategy, or the shipped champions), or several with shares."""

    name: str
    arms: tuple[Arm, ...]

    @property
    def label(self) -> str:
        return self.name
