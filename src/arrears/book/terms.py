"""Per-loan terms: the loan's own columns joined with its product's settings, in internal units.

The day step reads every setting it needs from this one frame, so a product setting becomes a
column and a rule over millions of loans stays a column expression.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from arrears.book import caps
from arrears.book.frames import ENGINE
from arrears.book.products import Product
from arrears.money import parse_amount

TERMS_SCHEMA = pl.Schema(
    {
        "loan_id": pl.String,
        "borrower_id": pl.String,
        "product": pl.String,
        "currency": pl.String,
        "principal": pl.Int64,
        "annual_rate_nano": pl.Int64,
        "term": pl.Int64,
        "frequency": pl.String,
        "period_days": pl.Int64,
        "method": pl.String,
        "disbursed_on": pl.Date,
        "first_due_on": pl.Date,
        "contract_date": pl.Date,
        "penalty_rate_nano": pl.Int64,
        "penalty_base": pl.String,
        "grace_days": pl.Int64,
        "tolerance": pl.Int64,
        "residual_below": pl.Int64,
        "charge_off_dpd": pl.Int64,
        "allocation": pl.String,
        "prepayment": pl.String,
        "late_fee": pl.Int64,
        "late_fee_max_per_period": pl.Int64,
        "late_fee_max_total": pl.Int64,
        "cap_rate_nano": pl.Int64,
        "cap_switch_on": pl.Date,
        "cap_rate_after_nano": pl.Int64,
        "business_day_rule": pl.String,
        "calendar": pl.String,
        "restructure_probation_months": pl.Int64,
        # A loan taken over mid-life: only events after takeon_date are replayed (book/takeon.py).
        "takeon_date": pl.Date,
        "takeon_principal_outstanding": pl.Int64,
        "takeon_interest_due": pl.Int64,
        "takeon_penalty_due": pl.Int64,
        "takeon_fees_due": pl.Int64,
        "takeon_oldest_unpaid_due_on": pl.Date,
        "takeon_dofd": pl.Date,
        "takeon_credit": pl.Int64,
    }
)


_TAKEON_SOURCES = (
    ("takeon_date", "takeon_date"),
    ("takeon_principal_outstanding_minor", "takeon_principal_outstanding"),
    ("takeon_interest_due_minor", "takeon_interest_due"),
    ("takeon_penalty_due_minor", "takeon_penalty_due"),
    ("takeon_fees_due_minor", "takeon_fees_due"),
    ("takeon_oldest_unpaid_due_on", "takeon_oldest_unpaid_due_on"),
    ("takeon_dofd", "takeon_dofd"),
    ("takeon_credit_minor", "takeon_credit"),
)


class TermsError(ValueError):
    pass


def product_settings(product: Product, currency: str) -> dict:
    """A product's settings in one currency's minor units (a product fixes no currency)."""
    fee = next((f for f in product.fees if f.type == "late"), None)
    return {
        "penalty_base": product.penalty_base,
        "grace_days": product.grace_days,
        "tolerance": parse_amount(product.arrears_tolerance, currency),
        "residual_below": parse_amount(product.residual_writeoff_below, currency),
        "charge_off_dpd": product.charge_off_dpd,
        "allocation": product.allocation,
        "prepayment": product.prepayment,
        "late_fee": parse_amount(fee.amount, currency) if fee else None,
        "late_fee_max_per_period": fee.max_per_period if fee else None,
        "late_fee_max_total": parse_amount(fee.max_total, currency) if fee and fee.max_total else None,
        "business_day_rule": product.business_day_rule,
        "calendar": product.calendar,
        "restructure_probation_months": product.restructure_probation_months,
    }


def loan_terms(loans: pl.DataFrame, products: Mapping[str, Product]) -> pl.DataFrame:
    """``loans`` in the stored layout (``principal_minor``, ...) -> ``TERMS_SCHEMA``.

    Settings are resolved once per distinct (product, currency) and per distinct cap input, then
    joined, so the cost does not grow with the number of loans.
    """
    # Few operations, each one query: a small frame pays each eager operation's fixed cost, not its work.
    base = loans.select(
        "loan_id", "borrower_id", "product", "currency",
        pl.col("principal_minor").alias("principal"),
        "annual_rate_nano", "term", "frequency", "period_days", "method", "disbursed_on",
        "first_due_on", "contract_date",
        pl.col("penalty_rate_daily_nano").alias("penalty_rate_nano"),
        pl.col("lender_type").cast(pl.String),
        *[
            pl.col(src).alias(dst) if src in loans.columns else pl.lit(None).alias(dst)
            for src, dst in _TAKEON_SOURCES
        ],
    )
    pc = base.lazy().select("product", "currency").unique().collect(engine=ENGINE)
    cap_inputs = base.lazy().select("product", "lender_type", "contract_date").unique().collect(engine=ENGINE)
    settings = pl.DataFrame(
        [{"product": p, "currency": c, **product_settings(products[p], c)} for p, c in pc.iter_rows()],
        schema={"product": pl.String, "currency": pl.String,
                **{k: TERMS_SCHEMA[k] for k in ("penalty_base", "grace_days", "tolerance", "residual_below",
                                                "charge_off_dpd", "allocation", "prepayment", "late_fee",
                                                "late_fee_max_per_period", "late_fee_max_total",
                                                "business_day_rule", "calendar",
                                                "restructure_probation_months")}},
    )
    rows = []
    for p, lt, cd in cap_inputs.iter_rows():
        rule = caps.resolve(products[p].cap, lt, cd)
        rows.append({"product": p, "lender_type": lt, "contract_date": cd,
                     "cap_rate_nano": rule.rate_nano, "cap_switch_on": rule.switch_on,
                     "cap_rate_after_nano": rule.rate_after_nano})
    cap_frame = pl.DataFrame(
        rows,
        schema={"product": pl.String, "lender_type": pl.String, "contract_date": pl.Date,
                "cap_rate_nano": pl.Int64, "cap_switch_on": pl.Date, "cap_rate_after_nano": pl.Int64},
    )
    out = (
        base.lazy().join(settings.lazy(), on=["product", "currency"], how="left")
        .join(cap_frame.lazy(), on=["product", "lender_type", "contract_date"], how="left", nulls_equal=True)
    )
    return out.select(TERMS_SCHEMA.names()).cast(dict(TERMS_SCHEMA)).collect(engine=ENGINE)


def bucket_schemes(products: Mapping[str, Product]) -> dict[str, tuple[int, ...]]:
    return {code: p.buckets for code, p in products.items()}
