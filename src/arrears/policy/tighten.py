"""What "stricter" means for each parameter, decided by the key's suffix.

- ``…_at_most``: a smaller number is stricter.
- ``…_at_least``: a larger number is stricter.
- ``local_hours_from`` / ``local_hours_until``: a narrower window (later start, earlier end).
- ``…_min_balance``: a larger minimum, currency by currency; adding a currency is stricter.

A key that ends in none of these does not say how it compares, and a pack using it is refused.
"""

from __future__ import annotations

from datetime import time

MinBalance = tuple[tuple[str, int], ...]  # (currency, minor units), sorted by currency
Value = int | time | MinBalance

AT_MOST, AT_LEAST, FROM, UNTIL, MIN_BALANCE = "at_most", "at_least", "from", "until", "min_balance"


def comparison(key: str) -> str | None:
    if key.endswith("local_hours_from"):
        return FROM
    if key.endswith("local_hours_until"):
        return UNTIL
    if key.endswith("_at_most"):
        return AT_MOST
    if key.endswith("_at_least"):
        return AT_LEAST
    if key.endswith("_min_balance"):
        return MIN_BALANCE
    return None


def strictest(key: str, a: Value, b: Value) -> Value:
    """The stricter of two values for ``key`` (for minimum balances, the per-currency maximum)."""
    how = comparison(key)
    if how in (AT_MOST, UNTIL):
        return min(a, b)  # type: ignore[type-var]
    if how in (AT_LEAST, FROM):
        return max(a, b)  # type: ignore[type-var]
    if how == MIN_BALANCE:
        merged = dict(a)  # type: ignore[arg-type]
        for cur, amount in b:  # type: ignore[union-attr]
            merged[cur] = max(merged.get(cur, amount), amount)
        return tuple(sorted(merged.items()))
    raise ValueError(f"{key!r} does not spell out its comparison")


def is_looser(key: str, new: Value, old: Value) -> bool:
    """True if ``new`` allows something ``old`` forbids."""
    return strictest(key, new, old) != new

