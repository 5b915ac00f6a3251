"""Column checks as Polars expressions, evaluated over the whole file at once.

Each check yields a boolean "bad" expression and a message; ``run_checks`` turns every bad cell
into a ``Problem`` naming its row and column. Converting text to internal units (minor units, nano
rates, dates) happens in the same expressions, so what was checked is what is stored.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from arrears.ingest.read import ROW
from arrears.money import EXPONENTS
from arrears.problems import Problem

_DECIMAL = r"^\d+(\.\d+)?$"


@dataclass(frozen=True, slots=True)
class Check:
    column: str
    bad: pl.Expr
    message: pl.Expr


def run_checks(frame: pl.DataFrame, checks: Iterable[Check]) -> list[Problem]:
    problems: list[Problem] = []
    checks = list(checks)
    if not checks or frame.is_empty():
        return problems
    bad = [f"__bad{i}" for i in range(len(checks))]  # beside the file's own columns
    # One query keeps only the rows with a bad cell: a clean file (the usual case) costs one
    # evaluation, not one filter per check. The checks still see the whole frame; the messages
    # (text built per cell, row by row) are only built for the rows kept.
    found = (
        frame.lazy()
        .with_columns(c.bad.fill_null(False).alias(b) for b, c in zip(bad, checks))
        .filter(pl.any_horizontal(bad))
        .select(pl.col(ROW), *bad, *[c.message.alias(f"__msg{i}") for i, c in enumerate(checks)])
        .collect()
    )
    if found.is_empty():
        return problems
    for i, c in enumerate(checks):
        hits = found.filter(pl.col(bad[i])).select(ROW, f"__msg{i}")
        problems.extend(Problem(r, c.column, m) for r, m in hits.iter_rows())
    return problems


def columns_problems(
    frame: pl.DataFrame, required: Sequence[str], optional: Sequence[str], allow_extra: bool
) -> list[Problem]:
    present = [c for c in frame.columns if c != ROW]
    problems = [Problem(None, c, "required column is missing") for c in required if c not in present]
    if not allow_extra:
        known = set(required) | set(optional)
        problems += [
            Problem(None, c, "unknown column (a typo? use --allow-extra-columns to ignore it)")
            for c in present
            if c not in known
        ]
    return problems


def _msg(text: str, column: str) -> pl.Expr:
    return pl.format(text, pl.col(column).fill_null(""))


def required(column: str) -> Check:
    return Check(column, pl.col(column).is_null(), pl.lit("is required"))


def one_of(column: str, allowed: Sequence[str]) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed)),
        _msg("'{}' is not one of " + ", ".join(allowed), column),
    )


def date_expr(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def is_date(column: str) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null()
        & (date_expr(column).is_null() | ~pl.col(column).str.contains(r"^\d{4}-\d{2}-\d{2}$")),
        _msg("'{}' is not a date (YYYY-MM-DD)", column),
    )


def int_expr(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)


def positive_int(column: str) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null() & ~(int_expr(column) > 0).fill_null(False),
        _msg("'{}' is not a positive whole number", column),
    )


def is_bool(column: str) -> Check:
    return one_of(column, ("true", "false"))


def bool_expr(column: str) -> pl.Expr:
    return pl.col(column) == "true"


def exponent_expr(currency_column: str) -> pl.Expr:
    return pl.col(currency_column).replace_strict(EXPONENTS, default=None, return_dtype=pl.Int64)


def known_currency(column: str) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null() & exponent_expr(column).is_null(),
        _msg("'{}' is not a known ISO 4217 currency", column),
    )


def _frac(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.extract(r"\.(\d+)$", 1).fill_null("")


def money(column: str, currency_column: str, *, positive: bool = False) -> list[Check]:
    """Strict decimal text: never more decimals than the currency allows, never rounded."""
    text = pl.col(column).str.strip_chars()
    wrong = ~text.str.contains(_DECIMAL)
    checks = [
        Check(column, pl.col(column).is_not_null() & wrong, _msg("'{}' is not a decimal amount", column)),
        Check(
            column,
            pl.col(column).is_not_null() & ~wrong & (_whole_digits(column) > MAX_WHOLE_DIGITS),
            _msg("'{}' is too large (at most " + str(MAX_WHOLE_DIGITS) + " digits before the point)", column),
        ),
        Check(
            column,
            pl.col(column).is_not_null()
            & ~wrong
            & (_frac(column).str.len_chars() > exponent_expr(currency_column)),
            pl.format(
                "'{}' has more decimals than {} allows ({})",
                pl.col(column),
                pl.col(currency_column),
                exponent_expr(currency_column),
            ),
        ),
    ]
    if positive:
        checks.append(
            Check(
                column,
                pl.col(column).is_not_null()
                & ~wrong
                & (_whole_digits(column) <= MAX_WHOLE_DIGITS)
                & (minor_expr(column, currency_column) <= 0),
                _msg("'{}' must be greater than zero", column),
            )
        )
    return checks


# Whole digits an amount may have: 10**15 major units times 10**3 (the largest exponent) still fits
# in Int64, which Polars arithmetic would otherwise silently wrap around.
MAX_WHOLE_DIGITS = 15


def _whole_digits(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.extract(r"^(\d+)", 1).str.len_chars()


def minor_expr(column: str, currency_column: str) -> pl.Expr:
    """Decimal text to integer minor units (valid rows only; others come out null or wrong and are
    refused by ``money`` before anything is stored).

    It is evaluated over every row, the refused ones included, so it must not raise on them: the
    power is clipped at zero (an amount with too many decimals would otherwise ask for 10**-1).
    """
    exp = exponent_expr(currency_column)
    # Stripped, as ``money`` checks it: " 100.00" passes the check, so it must convert too.
    whole = pl.col(column).str.strip_chars().str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
    frac = _frac(column)
    frac_val = pl.when(frac == "").then(0).otherwise(frac.cast(pl.Int64, strict=False))
    scale = pl.lit(10, pl.Int64).pow(exp).cast(pl.Int64)
    frac_scale = (
        pl.lit(10, pl.Int64)
        .pow((exp - frac.str.len_chars().cast(pl.Int64)).clip(lower_bound=0))
        .cast(pl.Int64)
    )
    return whole * scale + frac_val * frac_scale


def rate(column: str, *, below: int | None = None) -> list[Check]:
    checks = [
        Check(
            column,
            pl.col(column).is_not_null() & ~pl.col(column).str.contains(r"^\d+(\.\d{1,9})?$"),
            _msg("'{}' is not a decimal rate (a fraction such as 0.18, at most 9 decimals)", column),
        )
    ]
    if below is not None:
        checks.append(
            Check(
                column,
                pl.col(column).str.contains(r"^\d+(\.\d{1,9})?$")
                & ((_whole_digits(column) > 9) | (nano_expr(column) >= below)),
                _msg("'{}' is implausibly high (rates are fractions: 0.18 means 18%)", column),
            )
        )
    return checks


def nano_expr(column: str) -> pl.Expr:
    whole = pl.col(column).str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
    frac = _frac(column)
    frac_val = pl.when(frac == "").then(0).otherwise(frac.cast(pl.Int64, strict=False))
    # Clipped at zero: evaluated over refused rows too (more than 9 decimals), and must not raise.
    frac_scale = (
        pl.lit(10, pl.Int64)
        .pow((9 - frac.str.len_chars().cast(pl.Int64)).clip(lower_bound=0))
        .cast(pl.Int64)
    )
    return whole * 1_000_000_000 + frac_val * frac_scale


E164 = r"^\+[1-9]\d{6,14}$"


def phone(column: str) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null() & ~pl.col(column).str.contains(E164),
        _msg("'{}' is not an E.164 phone number (+8613800138000)", column),
    )


def timezone(column: str) -> Check:
    zones = sorted(zoneinfo.available_timezones())
    return Check(
        column,
        pl.col(column).is_not_null() & ~pl.col(column).is_in(zones),
        _msg("'{}' is not an IANA time zone", column),
    )


def matches(column: str, pattern: str, what: str) -> Check:
    return Check(
        column,
        pl.col(column).is_not_null() & ~pl.col(column).str.contains(pattern),
        _msg("'{}' is not " + what, column),
    )


def unique_key(frame: pl.DataFrame, key: str) -> list[Problem]:
    """Rows repeating a key with different content (identical repeats are harmless)."""
    if not frame.select(pl.col(key).is_duplicated().any()).item():
        return []  # no key repeats at all (the usual case): nothing to compare
    body = [c for c in frame.columns if c != ROW]
    distinct = frame.unique(subset=body, keep="first", maintain_order=True)
    dup = distinct.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated())
    firsts = dup.group_by(key).agg(pl.col(ROW).min().alias("first"))
    later = dup.join(firsts, on=key).filter(pl.col(ROW) != pl.col("first"))
    return [
        Problem(r, key, f"'{k}' appears again with different content (first at row {f})")
        for r, k, f in later.select(ROW, key, "first").iter_rows()
    ]
