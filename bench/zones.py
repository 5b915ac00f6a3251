"""Benchmark: ``policy.zones.zones_column`` over N distinct phone numbers, none with an explicit zone.

Run in a fresh process, so the first figure includes loading phonenumbers' metadata.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from arrears.policy.zones import zones_column

# (jurisdiction, country, phone prefix, digits after it)
MARKETS = [
    ("CN", "CN", "+86138", 8),
    ("US-CA", "US", "+1310", 7),
    ("US-FL", "US", "+1850", 7),
    ("US-NY", "US", "+1212", 7),
    ("GB", "GB", "+447911", 6),
]


def generate(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    market = rng.integers(0, len(MARKETS), size=n)
    rows = {"jurisdiction": [], "country": [], "phone": []}
    seen: set[str] = set()
    for m in market.tolist():
        jurisdiction, country, prefix, digits = MARKETS[m]
        while True:
            # US exchanges start 2-9; the rest is free.
            tail = f"{rng.integers(2, 10)}{rng.integers(0, 10 ** (digits - 1)):0{digits - 1}d}"
            phone = prefix + tail
            if phone not in seen:
                seen.add(phone)
                break
        rows["jurisdiction"].append(jurisdiction)
        rows["country"].append(country)
        rows["phone"].append(phone)
    return pl.DataFrame(rows).with_columns(
        pl.lit(None, pl.String).alias("timezone"), pl.lit(None, pl.String).alias("region")
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    frame = generate(args.n, args.seed)
    print(f"{frame.height:,} rows, {frame['phone'].n_unique():,} distinct phone numbers")
    for label in ("cold (loads phonenumbers)", "warm"):
        start = time.perf_counter()
        zones = zones_column(frame)
        elapsed = time.perf_counter() - start
        print(f"{label:<28} {elapsed:6.2f} s  ({elapsed / frame.height * 1e6:.1f} µs a row)")
    print(zones.value_counts(sort=True))


if __name__ == "__main__":
    main()
