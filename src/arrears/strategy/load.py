"""Strategy and experiment files (TOML) into the frozen model, strictly: every problem is reported
with where it is (``states[2].when.dpd_mn``), and nothing half-loaded is ever used.

``--strategy`` takes ``none``, ``champion`` (the shipped champion of each jurisdiction), a strategy
file, or an experiment file (``[experiment]`` with ``[[arms]]``). docs/strategies.md is the schema.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from arrears.money import MoneyError, exponent, parse_amount
from arrears.problems import BadInput, Problem
from arrears.strategy.conditions import CONDITIONS
from arrears.strategy.model import PPM, ActionSpec, Arm, Experiment, Notice, Offer, State, Strategy

CONTACT_ACTIONS = ("sms", "email", "robocall", "agent_call", "letter", "field_visit", "app_push")
OFFER_ACTIONS = ("settlement_offer", "plan_offer")
ACTIONS = (*CONTACT_ACTIONS, *OFFER_ACTIONS, "agency_placement")
CHANNELS = CONTACT_ACTIONS
MESSAGE_CHANNELS = ("sms", "email", "letter", "app_push")
NOTICE_FLAGS = ("validation_notice_sent", "cn_prereport_notice_sent", "gb_nosia_sent", "gb_default_notice_sent")
CHAMPIONS = {"CN": "champion_cn.toml", "US": "champion_us.toml", "GB": "champion_gb.toml"}
_TOP = {"strategy", "costs", "limits", "states", "notices"}


class _Errors:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(None, where, message))


def _ppm(text: Any, where: str, e: _Errors, *, at_most: int = PPM) -> int:
    if not isinstance(text, str):
        e.add(where, "expected a decimal fraction as a string, e.g. \"0.05\"")
        return 0
    try:
        whole, _, frac = text.strip().partition(".")
        if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 6:
            raise ValueError
        value = int(whole) * PPM + int(frac.ljust(6, "0") or 0)
    except ValueError:
        e.add(where, f"{text!r} is not a decimal fraction with at most 6 decimals")
        return 0
    if value > at_most:
        e.add(where, f"{text} is above the limit {at_most / PPM:g}")
    return value


def _money(text: Any, currency: str, where: str, e: _Errors) -> int:
    try:
        return parse_amount(text, currency) if isinstance(text, str) else parse_amount("x", currency)
    except MoneyError as err:
        e.add(where, f"{err} (money is a decimal string in {currency})")
        return 0


def _cost(text: Any, currency: str, where: str, e: _Errors) -> int:
    """A cost per contact in micro-minor units (an e-mail costs a fifth of a cent)."""
    try:
        value = Decimal(text) if isinstance(text, str) else None
        scaled = value.scaleb(exponent(currency) + 6) if value is not None else None
        if scaled is None or scaled != scaled.to_integral_value() or value < 0:
            raise InvalidOperation
        return int(scaled)
    except (InvalidOperation, MoneyError):
        e.add(where, f"{text!r} is not a cost: a decimal string in {currency}, at most 6 decimals past its minor unit")
        return 0


def _hhmm(text: Any, where: str, e: _Errors) -> int:
    try:
        h, m = str(text).split(":")
        minutes = int(h) * 60 + int(m)
        if not (0 <= minutes <= 24 * 60) or len(m) != 2:
            raise ValueError
        return minutes
    except ValueError:
        e.add(where, f"{text!r} is not a local time HH:MM")
        return 0


def _when(table: Any, currency: str, where: str, e: _Errors) -> tuple[tuple[str, object], ...]:
    if table is None:
        return ()
    if not isinstance(table, dict):
        e.add(where, "expected a table of conditions")
        return ()
    out = []
    for key, value in table.items():
        c = CONDITIONS.get(key)
        if c is None:
            e.add(f"{where}.{key}", f"unknown condition: no fact behind it (known: {', '.join(sorted(CONDITIONS))})")
            continue
        if c.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            e.add(f"{where}.{key}", "expected a whole number")
        elif c.kind == "bool" and not isinstance(value, bool):
            e.add(f"{where}.{key}", "expected true or false")
        elif c.kind == "strings" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            e.add(f"{where}.{key}", "expected a list of strings")
        elif c.kind == "money":
            value = _money(value, currency, f"{where}.{key}", e)
        out.append((key, value))
    return tuple(out)


def _offer(table: Any, where: str, e: _Errors, max_discount: int) -> Offer | None:
    if table is None:
        return None
    kind = table.get("type")
    if kind == "settlement":
        return Offer("settlement", discount_ppm=_ppm(table.get("discount", "0"), f"{where}.discount", e, at_most=max_discount),
                     pay_by_days=int(table.get("pay_by_days", 14)))
    if kind == "plan":
        count = table.get("count")
        if not isinstance(count, int) or count < 2:
            e.add(f"{where}.count", "a plan offer needs a count of at least 2 instalments")
            count = 2
        frequency = table.get("frequency", "monthly")
        if frequency not in ("weekly", "biweekly", "monthly"):
            e.add(f"{where}.frequency", "expected weekly, biweekly or monthly")
        return Offer("plan", count=count, frequency=frequency, first_due_in_days=int(table.get("first_due_in_days", 7)))
    e.add(f"{where}.type", "expected settlement or plan")
    return None


def _spec(t: dict, where: str, e: _Errors, max_discount: int) -> ActionSpec:
    action = t.get("action")
    if action not in ACTIONS:
        e.add(f"{where}.action", f"{action!r} is not an action ({', '.join(ACTIONS)})")
    channel = t.get("channel", action if action in CONTACT_ACTIONS else None)
    if action in OFFER_ACTIONS and channel not in CHANNELS:
        e.add(f"{where}.channel", f"an offer needs the channel that carries it ({', '.join(CHANNELS)})")
    if action in CONTACT_ACTIONS and channel != action:
        e.add(f"{where}.channel", f"a {action} is carried by {action}")
    if action == "agency_placement":
        channel = None
    template = t.get("template")
    # Messages carry a text, so they need one; a call or a visit may name a script.
    if channel in MESSAGE_CHANNELS and not isinstance(template, str):
        e.add(f"{where}.template", "a message or an offer needs a template id")
    cadence = t.get("cadence_days", 1)
    if not isinstance(cadence, int) or cadence < 1:
        e.add(f"{where}.cadence_days", "expected a whole number of days, at least 1")
        cadence = 1
    offer = _offer(t.get("offer"), f"{where}.offer", e, max_discount)
    if action in OFFER_ACTIONS and (offer is None or offer.type != action.removesuffix("_offer")):
        e.add(f"{where}.offer", f"a {action} needs an offer of type {action.removesuffix('_offer')}")
    unknown = set(t) - {"action", "channel", "template", "cadence_days", "uplift", "offer"}
    for k in sorted(unknown):
        e.add(f"{where}.{k}", "unknown key")
    return ActionSpec(action, channel, template, cadence, _ppm(t.get("uplift", "0"), f"{where}.uplift", e), offer)


def parse_strategy(text: str, source: str) -> Strategy:
    e = _Errors()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadInput([Problem(None, None, f"not valid TOML: {err}")], source=source) from None
    for k in sorted(set(doc) - _TOP):
        e.add(k, "unknown table")
    head = doc.get("strategy", {})
    name = head.get("name")
    if not isinstance(name, str) or not name:
        e.add("strategy.name", "a strategy needs a name")
        name = "?"
    currency = head.get("currency", "")
    try:
        parse_amount("0", currency)
    except MoneyError:
        e.add("strategy.currency", f"{currency!r} is not a currency code")
        currency = "USD"
    jurisdictions = tuple(head.get("jurisdictions", ()))
    if not jurisdictions:
        e.add("strategy.jurisdictions", "name the jurisdictions it applies to (\"US\" covers every US-XX)")
    hours = head.get("hours", ["09:00", "20:00"])
    h = (_hhmm(hours[0], "strategy.hours[0]", e), _hhmm(hours[1], "strategy.hours[1]", e)) if len(hours) == 2 else (540, 1200)
    if h[0] >= h[1]:
        e.add("strategy.hours", "the window must start before it ends")
    costs = {k: _cost(v, currency, f"costs.{k}", e) for k, v in doc.get("costs", {}).items()}
    for k in costs:
        if k not in ACTIONS:
            e.add(f"costs.{k}", "not a channel or action")
    max_discount = _ppm(doc.get("limits", {}).get("max_settlement_discount", "0.5"), "limits.max_settlement_discount", e)
    states = []
    for i, s in enumerate(doc.get("states", [])):
        where = f"states[{i}]"
        actions = tuple(_spec(a, f"{where}.actions[{j}]", e, max_discount) for j, a in enumerate(s.get("actions", [])))
        for a in actions:
            if a.action not in costs and a.channel not in costs:
                e.add(f"{where}.actions", f"no cost configured for {a.action}")
        states.append(State(s.get("name", where), _when(s.get("when"), currency, f"{where}.when", e), actions))
    notices = []
    for i, n in enumerate(doc.get("notices", [])):
        where = f"notices[{i}]"
        flag = n.get("sets_flag")
        if flag not in NOTICE_FLAGS:
            e.add(f"{where}.sets_flag", f"expected one of {', '.join(NOTICE_FLAGS)}")
        spec_table = {k: v for k, v in n.items() if k in ("action", "channel", "template", "cadence_days")}
        roles = tuple(n.get("collector_roles", ()))
        for r in roles:
            if r not in ("first_party", "third_party", "debt_buyer"):
                e.add(f"{where}.collector_roles", f"{r!r} is not a collector role")
        for k in sorted(set(n) - {"name", "when", "sets_flag", "collector_roles", *spec_table}):
            e.add(f"{where}.{k}", "unknown key")
        notices.append(Notice(n.get("name", where), _when(n.get("when"), currency, f"{where}.when", e),
                              _spec(spec_table, where, e, max_discount), flag, roles))
    if not states and not notices:
        e.add("states", "a strategy needs at least one state")
    if e.problems:
        raise BadInput(e.problems, source=source)
    return Strategy(name, int(head.get("version", 1)), jurisdictions, currency, h, costs, tuple(states), tuple(notices), source)


@lru_cache(maxsize=None)
def champion(jurisdiction_key: str) -> Strategy:
    # Parsed once a process: the champions are files of the installed package, and a Strategy is
    # frozen (a simulation resolves ``champion`` every day).
    name = CHAMPIONS[jurisdiction_key]
    text = resources.files("arrears.strategy").joinpath("data", name).read_text(encoding="utf-8")
    return parse_strategy(text, f"arrears/strategy/data/{name}")


def champions() -> tuple[Strategy, ...]:
    return tuple(champion(k) for k in CHAMPIONS)


def load_strategy_file(path: Path) -> Strategy:
    if not path.exists():
        raise BadInput([Problem(None, "--strategy", f"{path}: no such file")])
    return parse_strategy(path.read_text(encoding="utf-8"), str(path))


def resolve(name: str) -> Experiment | None:
    """What ``--strategy NAME`` means; ``None`` for ``none`` (plan nothing)."""
    if name == "none":
        return None
    if name == "champion":
        return Experiment("champion", (Arm("champion", champions(), PPM),))
    path = Path(name)
    if not path.exists():
        raise BadInput([Problem(None, "--strategy", f"{name}: not none, champion, or an existing strategy file")])
    text = path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadInput([Problem(None, None, f"not valid TOML: {err}")], source=str(path)) from None
    if "experiment" not in doc:
        s = parse_strategy(text, str(path))
        return Experiment(s.name, (Arm(s.name, (s,), PPM),))
    return _experiment(doc, path)


def _experiment(doc: dict, path: Path) -> Experiment:
    e = _Errors()
    name = doc["experiment"].get("name")
    if not isinstance(name, str) or not name:
        e.add("experiment.name", "an experiment needs a name (assignments are recorded under it)")
    arms = []
    for i, a in enumerate(doc.get("arms", [])):
        target = a.get("strategy")
        share = _ppm(a.get("share"), f"arms[{i}].share", e)
        if target == "champion":
            strategies = champions()
        elif isinstance(target, str) and (path.parent / target).exists():
            strategies = (load_strategy_file(path.parent / target),)
        else:
            e.add(f"arms[{i}].strategy", f"{target!r}: not champion or a strategy file beside the experiment")
            continue
        arms.append(Arm(a.get("name", target), strategies, share))
    if len(arms) < 2:
        e.add("arms", "an experiment needs at least two arms")
    if sum(a.share_ppm for a in arms) != PPM:
        e.add("arms", "the shares must add up to 1")
    if len({a.name for a in arms}) != len(arms):
        e.add("arms", "arm names must differ")
    if e.problems:
        raise BadInput(e.problems, source=str(path))
    return Experiment(name, tuple(arms))
