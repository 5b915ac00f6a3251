"""Products: the terms many loans share, read from strict TOML.

Unknown keys are refused (a misspelt ``grace_day`` silently ignored would change every loan's
lateness), and every value is checked; all problems in a file are reported together.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field

from arrears.money import MoneyError, parse_amount
from arrears.problems import BadInput, Problem

ALLOCATIONS = (
    "oldest_first_penalty_fees_interest_principal",
    "component_major",
    "principal_first",
)
BUSINESS_DAY_RULES = ("none", "next_business_day")
PENALTY_BASES = ("overdue_principal", "overdue_principal_and_interest")
PREPAYMENTS = ("reduce_term", "reduce_instalment", "hold_as_credit")
CAPS = ("cn_licensed_24", "cn_private_4lpr", "none")
FEE_TYPES = ("late",)
DEFAULT_BUCKETS = (1, 30, 60, 90, 120, 180)


@dataclass(frozen=True, slots=True)
class Fee:
    type: str
    amount: str  # decimal text; converted with the loan's currency, which the product does not fix
    max_per_period: int | None = None
    max_total: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    allocation: str = ALLOCATIONS[0]
    business_day_rule: str = "none"
    calendar: str = "NONE"
    penalty_base: str = "overdue_principal"
    grace_days: int = 0
    arrears_tolerance: str = "0"
    residual_writeoff_below: str = "0"
    buckets: tuple[int, ...] = DEFAULT_BUCKETS
    charge_off_dpd: int = 120
    prepayment: str = "hold_as_credit"
    cap: str = "none"
    fees: tuple[Fee, ...] = field(default_factory=tuple)
    restructure_probation_months: int = 12
    restructure_max_per_12_months: int = 1
    restructure_max_per_5_years: int = 2

    def to_dict(self) -> dict:
        d = asdict(self)
        d["buckets"] = list(self.buckets)
        d["fees"] = [asdict(f) for f in self.fees]
        return d

    @staticmethod
    def from_dict(d: dict) -> Product:
        d = dict(d)
        d["buckets"] = tuple(d.get("buckets", DEFAULT_BUCKETS))
        d["fees"] = tuple(Fee(**f) for f in d.get("fees", ()))
        return Product(**d)


DEFAULT = Product(code="default")


def bucket_labels(edges: tuple[int, ...]) -> tuple[str, ...]:
    """``(1, 30, 60)`` -> ``("current", "1-29", "30-59", "60+")``."""
    labels = ["current"]
    for lo, hi in zip(edges, edges[1:]):
        labels.append(f"{lo}-{hi - 1}")
    labels.append(f"{edges[-1]}+")
    return tuple(labels)


def _check_amount_text(value: object, key: str, problems: list[Problem], code: str) -> str:
    # Products do not fix a currency; check the text with the widest common exponent (3) here,
    # and strictly against the loan's currency when a fee or tolerance is applied.
    if not isinstance(value, str):
        problems.append(Problem(None, f"{code}.{key}", f"must be a quoted decimal string, got {value!r}"))
        return "0"
    try:
        parse_amount(value, "BHD")
    except MoneyError as e:
        problems.append(Problem(None, f"{code}.{key}", str(e)))
    return value


def _parse_product(code: str, raw: object, problems: list[Problem]) -> Product | None:
    if not isinstance(raw, dict):
        problems.append(Problem(None, code, "must be a table"))
        return None
    known = {f for f in Product.__dataclass_fields__ if f != "code"}
    for key in raw:
        if key not in known:
            problems.append(Problem(None, f"{code}.{key}", "unknown key"))
    out: dict = {"code": code}

    def choice(key: str, allowed: tuple[str, ...]) -> None:
        if key in raw:
            if raw[key] not in allowed:
                problems.append(
                    Problem(None, f"{code}.{key}", f"{raw[key]!r} is not one of {', '.join(allowed)}")
                )
            else:
                out[key] = raw[key]

    choice("allocation", ALLOCATIONS)
    choice("business_day_rule", BUSINESS_DAY_RULES)
    choice("penalty_base", PENALTY_BASES)
    choice("prepayment", PREPAYMENTS)
    if "calendar" in raw:
        from arrears.calendar import _calendar

        cal = raw["calendar"]
        try:
            if not isinstance(cal, str):
                raise ValueError
            _calendar(cal)
            out["calendar"] = cal
        except ValueError:
            problems.append(Problem(None, f"{code}.calendar", f"unknown calendar {cal!r}"))
    for key in ("grace_days", "charge_off_dpd", "restructure_probation_months",
                "restructure_max_per_12_months", "restructure_max_per_5_years"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                problems.append(Problem(None, f"{code}.{key}", f"must be a non-negative integer, got {v!r}"))
            else:
                out[key] = v
    for key in ("arrears_tolerance", "residual_writeoff_below"):
        if key in raw:
            out[key] = _check_amount_text(raw[key], key, problems, code)
    if "buckets" in raw:
        b = raw["buckets"]
        if (
            not isinstance(b, list)
            or not b
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in b)
            or any(x >= y for x, y in zip(b, b[1:]))
        ):
            problems.append(Problem(None, f"{code}.buckets", "must be a strictly increasing list of positive day counts"))
        else:
            out["buckets"] = tuple(b)
    if "cap" in raw:
        cap = raw["cap"]
        ok = isinstance(cap, str) and (cap in CAPS or _is_rate_cap(cap))
        if not ok:
            problems.append(Problem(None, f"{code}.cap", f"{cap!r} is not one of {', '.join(CAPS)} or annual_rate:<x>"))
        else:
            out["cap"] = cap
    elif out.get("calendar") == "CN":
        # INTERFACE.md: cn_licensed_24 is the default for CN.
        out["cap"] = "cn_licensed_24"
    if "fees" in raw:
        out["fees"] = _parse_fees(code, raw["fees"], problems)
    return Product(**out)


def _is_rate_cap(cap: str) -> bool:
    from arrears.rates import RateError, parse_rate

    if not cap.startswith("annual_rate:"):
        return False
    try:
        parse_rate(cap.removeprefix("annual_rate:"))
    except RateError:
        return False
    return True


def _parse_fees(code: str, raw: object, problems: list[Problem]) -> tuple[Fee, ...]:
    if not isinstance(raw, list):
        problems.append(Problem(None, f"{code}.fees", "must be a list of tables"))
        return ()
    fees = []
    for i, f in enumerate(raw):
        where = f"{code}.fees[{i}]"
        if not isinstance(f, dict):
            problems.append(Problem(None, where, "must be a table"))
            continue
        extra = set(f) - {"type", "amount", "max_per_period", "max_total"}
        for k in sorted(extra):
            problems.append(Problem(None, f"{where}.{k}", "unknown key"))
        if f.get("type") not in FEE_TYPES:
            problems.append(Problem(None, f"{where}.type", f"{f.get('type')!r} is not one of {', '.join(FEE_TYPES)}"))
        if "amount" not in f:
            problems.append(Problem(None, f"{where}.amount", "is required"))
        amount = _check_amount_text(f.get("amount", "0"), "amount", problems, where)
        mpp = f.get("max_per_period")
        if mpp is not None and (not isinstance(mpp, int) or isinstance(mpp, bool) or mpp < 0):
            problems.append(Problem(None, f"{where}.max_per_period", "must be a non-negative integer"))
        mt = f.get("max_total")
        if mt is not None:
            mt = _check_amount_text(mt, "max_total", problems, where)
        fees.append(Fee(type=str(f.get("type")), amount=amount, max_per_period=mpp, max_total=mt))
    return tuple(fees)


def parse_products(text: str) -> dict[str, Product]:
    """Parse a products TOML document. Raises ``BadInput`` listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput([Problem(None, None, f"not valid TOML: {e}")]) from None
    problems: list[Problem] = []
    for key in doc:
        if key != "products":
            problems.append(Problem(None, key, "unknown top-level table (expected [products.<code>])"))
    table = doc.get("products", {})
    if not isinstance(table, dict) or not table:
        problems.append(Problem(None, "products", "no [products.<code>] tables found"))
        table = {}
    products = {}
    for code, raw in table.items():
        p = _parse_product(code, raw, problems)
        if p is not None:
            products[code] = p
    if problems:
        raise BadInput(problems)
    return products
