"""Payment allocation: where every minor unit of the day's money goes.

The day's funds on a loan are its held credit plus the day's payments (credit is spent first, then
payments in payment_id order, so attribution is deterministic whatever the import order). They
pay what is due in the product's order; then:
- if what is left settles the loan in full (interest accrued to date plus all principal not yet
  due), the loan is paid off and the interest of later periods is never charged;
- otherwise the product's ``prepayment`` decides: ``hold_as_credit`` keeps it to pay instalments as
  they fall due; ``reduce_term`` / ``reduce_instalment`` repay principal now and rebuild the
  instalments not yet due (``schedule.rebuild_future``);
- anything beyond all that is owed stays as credit. Money is never dropped: for every payment,
  the sum of its allocations plus its credit equals its amount.

Orders (penalty and fees are held per loan, interest and principal per instalment):
- ``oldest_first_penalty_fees_interest_principal``: penalty, fees, then each instalment oldest
  first, its interest before its principal;
- ``component_major``: penalty, fees, all due interest (oldest first), then all due principal;
- ``principal_first``: all due principal, all due interest, fees, penalty.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from arrears.book import schedule as sch
from arrears.book.balances import (
    accrued_interest,
    accrued_net,
    fees_outstanding,
    interest_held,
    penalty_outstanding,
    post_held_interest,
    round_micro,
    stop_interest,
    with_dues,
)
from arrears.book.frames import ENGINE
from arrears.book.keys import join_instalments, key_type, keyed
from arrears.book.state import ALLOCATIONS

_ORDER = {
    # component -> (group, use n, rank) per allocation rule
    "oldest_first_penalty_fees_interest_principal": {
        "penalty": (0, 0), "fees": (0, 1), "interest": (1, 0), "principal": (1, 1)},
    "component_major": {"penalty": (0, 0), "fees": (1, 0), "interest": (2, 0), "principal": (3, 0)},
    "principal_first": {"principal": (0, 0), "interest": (1, 0), "fees": (2, 0), "penalty": (3, 0)},
}


_COMPONENTS = ("penalty", "fees", "interest", "principal")


def _order_keys() -> list[pl.Expr]:
    """Per loan, from its allocation rule: each component's group and rank in the waterfall
    (``_k_group_<component>``, ``_k_rank_<component>``; null for a rule without an order)."""
    return [
        pl.col("allocation").replace_strict({rule: comps[comp][i] for rule, comps in _ORDER.items()},
                                            default=None, return_dtype=pl.Int64).alias(f"_{key}_{comp}")
        for comp in _COMPONENTS for i, key in enumerate(("k_group", "k_rank"))
    ]


def _due_item(rows: pl.LazyFrame, comp: str, n: pl.Expr, amount: pl.Expr) -> pl.LazyFrame:
    return rows.select("loan_id", n.alias("n"), pl.lit(comp).alias("component"), amount.alias("amount"),
                       "funds", pl.col(f"_k_group_{comp}").alias("k_group"), pl.col(f"_k_rank_{comp}").alias("k_rank"))


def _running_total(amount: str) -> pl.Expr:
    """Per loan, the total of ``amount`` up to and including the row, on rows grouped by loan:
    the column's running total less its total before the loan's first row (a window ``over``
    the loan would hash every row)."""
    total = pl.col(amount).cum_sum()
    first = (pl.col("loan_id") != pl.col("loan_id").shift(1)).fill_null(True)
    return total - pl.when(first).then(total - pl.col(amount)).otherwise(None).forward_fill()


def _waterfall(items: pl.DataFrame, funds_col: str = "funds") -> pl.DataFrame:
    """Allocate ``funds`` over ``amount`` in the frame's order, per loan (rows grouped by loan)."""
    return items.with_columns(
        (_running_total("amount") - pl.col("amount")).alias("before")
    ).with_columns(
        (pl.col(funds_col) - pl.col("before")).clip(0).clip(upper_bound=pl.col("amount")).alias("paid")
    )


def allocate(
    loans: pl.DataFrame,
    inst: pl.DataFrame,
    terms: pl.DataFrame,
    payments: pl.DataFrame,
    day: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Apply the day's payments (and held credit). Returns loans, instalments, allocations."""
    # Built as a few lazy queries collected together: on the close's small daily frames each eager
    # operation's fixed cost, not the work, is what the step pays.
    pay = payments.lazy().group_by("loan_id").agg(pl.col("amount").sum().alias("paid_today"))
    act = (
        loans.lazy()
        .select("loan_id", "status", "credit", "penalty_micro", "penalty_paid", "penalty_waived",
                "fees_micro", "fees_paid", "fees_waived", "interest_capped_micro", "interest_capped_posted",
                "interest_frozen_micro", "interest_frozen_posted")
        .join(pay, on="loan_id", how="left")
        .with_columns(pl.col("paid_today").fill_null(0))
        .filter(((pl.col("credit") > 0) | (pl.col("paid_today") > 0)) & (pl.col("status") != "pending")
                | (pl.col("paid_today") > 0))
        .with_columns((pl.col("credit") + pl.col("paid_today")).alias("funds"))
        .join(terms.lazy().select("loan_id", "allocation", "prepayment", "annual_rate_nano", "term", "frequency",
                                  "method", "disbursed_on", "first_due_on", "period_days", "principal",
                                  "residual_below"),
              on="loan_id")
    ).collect(engine=ENGINE)
    if act.is_empty():
        return loans, inst, pl.DataFrame(schema=keyed(ALLOCATIONS, loans))
    # The waterfall's order keys, worked out once a loan (not once a due item) and carried.
    open_ = act.lazy().filter(~pl.col("status").is_in(["pending", "paid_off", "settled", "written_off"])).with_columns(
        _order_keys())
    # Read by most of what follows: materialised once.
    d = with_dues(inst.lazy().join(open_.select("loan_id", "funds", pl.col("^_k_.*$")),
                                   on="loan_id"), day).collect(engine=ENGINE).lazy()
    due = d.filter(pl.col("is_due"))
    due_items = pl.concat(
        [
            _due_item(due, "interest", pl.col("n"), pl.col("unpaid_interest")),
            _due_item(due, "principal", pl.col("n"), pl.col("unpaid_principal")),
            _due_item(open_, "penalty", pl.lit(0, pl.Int32), penalty_outstanding()),
            _due_item(open_, "fees", pl.lit(0, pl.Int32), fees_outstanding()),
        ]
    ).filter(pl.col("amount") > 0)
    due_items = (
        due_items
        .with_columns(pl.when(pl.col("k_group") == 0).then(0).otherwise(pl.col("n")).alias("k_n"))
        # Within a group, loan-level components (n = 0) come first; then instalments oldest first.
        .sort("loan_id", "k_group", "k_n", "k_rank")
    )
    # Collected before the queries that read them, each once: a query built on another's plan
    # computes it again (the waterfall was computed twice).
    paid_due = _waterfall(due_items).collect(engine=ENGINE).lazy()
    left = act.lazy().select("loan_id", "funds").join(
        paid_due.group_by("loan_id").agg(pl.col("paid").sum().alias("spent")), on="loan_id", how="left"
    ).select("loan_id", (pl.col("funds") - pl.col("spent").fill_null(0)).alias("left"))

    # What settles the rest of the loan today: interest accrued to date plus principal not yet due.
    # ``accrued`` is what the account shows (``balances``' rule): what the cap or a freeze held back
    # is not receivable. ``earned`` is net of the cap only: the rebuilt running period's floor, since
    # a freeze's held interest is waived at the due date unless the prepayment settles it now.
    acc = accrued_interest(d, day).join(
        open_.select("loan_id", "status", "interest_capped_micro", "interest_capped_posted",
                     "interest_frozen_micro", "interest_frozen_posted"), on="loan_id"
    ).select(
        "loan_id", "current_n",
        accrued_net(pl.col("accrued_gross"), interest_held()).alias("accrued"),
        (pl.col("accrued_gross") - (round_micro(pl.col("interest_capped_micro")) - pl.col("interest_capped_posted")))
        .clip(0).alias("earned"),
    ).collect(engine=ENGINE).lazy()
    future = d.filter(~pl.col("is_due") & (pl.col("unpaid_principal") > 0)).collect(engine=ENGINE).lazy()
    rest = (
        open_.select("loan_id", "status", "prepayment", "residual_below")
        .join(future.group_by("loan_id").agg(pl.col("unpaid_principal").sum().alias("future_principal")),
              on="loan_id", how="left")
        .join(acc, on="loan_id", how="left")
        .join(left, on="loan_id")
        .with_columns(pl.col("future_principal").fill_null(0), pl.col("accrued").fill_null(0))
        .with_columns((pl.col("future_principal") + pl.col("accrued")).alias("rest"))
    )
    rest = rest.collect(engine=ENGINE).lazy()
    # Short of the payoff by less than the product's residual threshold still settles the loan: the
    # shortfall is written off after allocation (``step._write_off_residuals``), not chased.
    payoff = rest.filter(
        (pl.col("rest") > 0) & (pl.col("left") > 0) & (pl.col("rest") - pl.col("left") < pl.col("residual_below").clip(1))
    ).collect(engine=ENGINE).lazy()
    payoff_items = _waterfall(
        pl.concat([
            payoff.filter(pl.col("accrued") > 0).select(
                "loan_id", pl.col("current_n").cast(pl.Int32).alias("n"), pl.lit("interest").alias("component"),
                pl.col("accrued").alias("amount")),
            future.join(payoff.select("loan_id"), on="loan_id").select(
                "loan_id", "n", pl.lit("principal").alias("component"), pl.col("unpaid_principal").alias("amount")),
        ]).with_columns(pl.col("component").replace_strict({"interest": 0, "principal": 1},
                                                           return_dtype=pl.Int64).alias("_k"))
        .join(payoff.select("loan_id", pl.col("left").alias("funds")), on="loan_id")
        .sort("loan_id", "_k", "n"),
    ).filter(pl.col("paid") > 0)

    prepay = rest.join(payoff.select("loan_id"), on="loan_id", how="anti").filter(
        (pl.col("left") > 0) & (pl.col("left") < pl.col("rest")) & (pl.col("future_principal") > 0)
        & pl.col("prepayment").is_in(["reduce_term", "reduce_instalment"])
        & (pl.col("status") != "charged_off")
    ).with_columns(
        # Enough to repay all principal but short of the payoff: the interest already earned in the
        # running period is paid first, so what is left owing is principal (and paying a little
        # less than the payoff never costs less than paying it).
        pl.when(pl.col("left") >= pl.col("future_principal")).then(pl.min_horizontal("left", "accrued"))
        .otherwise(0).alias("earned_paid"),
    ).select(
        "loan_id", "prepayment", "current_n", "earned_paid",
        pl.min_horizontal(pl.col("left") - pl.col("earned_paid"), "future_principal").alias("prepaid"),
    ).collect(engine=ENGINE).lazy()

    allocated = pl.concat([
        paid_due.filter(pl.col("paid") > 0).select("loan_id", "n", "component", "paid"),
        payoff_items.select("loan_id", "n", "component", "paid"),
        prepay.filter(pl.col("earned_paid") > 0).select(
            "loan_id", pl.col("current_n").cast(pl.Int32).alias("n"), pl.lit("interest").alias("component"),
            pl.col("earned_paid").alias("paid")),
        prepay.filter(pl.col("prepaid") > 0).select(
            "loan_id", pl.lit(0, pl.Int32).alias("n"), pl.lit("principal").alias("component"),
            pl.col("prepaid").alias("paid")),
    ])
    payoff, prepay, allocated = payoff.collect(engine=ENGINE), prepay.collect(engine=ENGINE), allocated.collect(engine=ENGINE)
    # --- apply to the instalments
    per_inst = allocated.lazy().filter(pl.col("n") > 0).group_by("loan_id", "n").agg(
        pl.col("paid").filter(pl.col("component") == "principal").sum().alias("pp"),
        pl.col("paid").filter(pl.col("component") == "interest").sum().alias("pi"),
    )
    inst = (
        join_instalments(inst, per_inst)
        .with_columns(
            (pl.col("paid_principal") + pl.col("pp").fill_null(0)).alias("paid_principal"),
            (pl.col("paid_interest") + pl.col("pi").fill_null(0)).alias("paid_interest"),
        )
        .drop("pp", "pi")
    ).collect(engine=ENGINE)
    # A payoff ends the loan's interest: nothing beyond what accrued to today is ever charged.
    inst = stop_interest(inst, payoff, day)
    if not prepay.is_empty():
        # The earned interest was paid net of the cap: what the cap held back is recorded now, so
        # the due date does not take it again off the rebuilt period's interest still accruing. So is
        # a freeze's, when the earned interest (net of it) was paid; otherwise the running period
        # keeps what it earned and the due date waives the frozen part, as without a prepayment.
        settled = pl.col("earned_paid") > 0
        loans, inst, _ = post_held_interest(loans, inst, prepay.filter(settled), day, frozen=True)
        loans, inst, _ = post_held_interest(loans, inst, prepay.filter(~settled), day, frozen=False)
        inst = _rebuild(inst, prepay, act, acc.collect(engine=ENGINE), day)

    # --- apply to the loans, and attribute every allocation (and the credit left) to its source
    comp_totals = allocated.lazy().group_by("loan_id").agg(
        pl.col("paid").filter(pl.col("component") == "penalty").sum().alias("a_pen"),
        pl.col("paid").filter(pl.col("component") == "fees").sum().alias("a_fees"),
        pl.col("paid").sum().alias("a_all"),
        pl.col("paid").filter((pl.col("component") == "principal") & (pl.col("n") == 0)).sum().alias("a_pre"),
    )
    new = (
        act.lazy().select("loan_id", "funds", "paid_today", "status")
        .join(comp_totals, on="loan_id", how="left")
        .with_columns(pl.col("a_pen", "a_fees", "a_all", "a_pre").fill_null(0))
        .with_columns((pl.col("funds") - pl.col("a_all")).alias("new_credit"))
    ).collect(engine=ENGINE)
    loans = (
        loans.lazy()
        .join(new.lazy().select("loan_id", "a_pen", "a_fees", "a_pre", "new_credit", "paid_today"),
              on="loan_id", how="left")
        .with_columns(
            (pl.col("penalty_paid") + pl.col("a_pen").fill_null(0)).alias("penalty_paid"),
            (pl.col("fees_paid") + pl.col("a_fees").fill_null(0)).alias("fees_paid"),
            (pl.col("principal_prepaid") + pl.col("a_pre").fill_null(0)).alias("principal_prepaid"),
            pl.coalesce("new_credit", "credit").alias("credit"),
            (pl.col("recovered")
             + pl.when(pl.col("status") == "charged_off").then(pl.col("paid_today").fill_null(0)).otherwise(0))
            .alias("recovered"),
        )
        .drop("a_pen", "a_fees", "a_pre", "new_credit", "paid_today")
    ).collect(engine=ENGINE)
    allocations = _attribute(allocated, new, act, payments, day)
    return loans, inst, allocations


def _rebuild(
    inst: pl.DataFrame, prepay: pl.DataFrame, act: pl.DataFrame, acc: pl.DataFrame, day: dt.date
) -> pl.DataFrame:
    """Rebuild the not-yet-due instalments of loans that prepaid principal (few a day: per loan).

    Interest already earned in the running period stays owed: a prepayment lowers the interest of
    the period from here on, it cannot un-earn what accrued before it arrived (otherwise paying a
    little less than the payoff would cost less than paying it)."""
    earned = {lid: (n, a) for lid, n, a in acc.select("loan_id", "current_n", "earned").iter_rows()}
    ids = prepay["loan_id"].to_list()
    target = inst.filter(pl.col("loan_id").is_in(ids) & (pl.col("due_on") > day)).sort("loan_id", "n")
    info = {r["loan_id"]: r for r in act.filter(pl.col("loan_id").is_in(ids)).iter_rows(named=True)}
    prepaid = dict(prepay.select("loan_id", "prepaid").iter_rows())
    mode = dict(prepay.select("loan_id", "prepayment").iter_rows())
    # Columns read once as Python lists and walked loan by loan (the frame is sorted by loan): a
    # frame per loan (``group_by`` iteration) and a dict per row cost more than the rebuild itself.
    c = target.select(
        "loan_id", "n", "due_on", "adjusted_due_on",
        (pl.col("paid_principal") + pl.col("waived_principal")).alias("p_less"),
        (pl.col("paid_interest") + pl.col("waived_interest")).alias("i_less"),
        (pl.col("principal") - pl.col("paid_principal") - pl.col("waived_principal")).alias("p_left"),
        (pl.col("interest") - pl.col("paid_interest") - pl.col("waived_interest")
         - pl.col("interest_capped")).alias("i_left"),
        "interest_capped",
    ).to_dict(as_series=False)
    loan_col, n_col, p_less, i_less = c["loan_id"], c["n"], c["p_less"], c["i_less"]
    capped = c["interest_capped"]
    due, adjusted, p_left, i_left = c["due_on"], c["adjusted_due_on"], c["p_left"], c["i_left"]
    upd_loan: list = []
    upd_n: list[int] = []
    new_p: list[int] = []
    new_i: list[int] = []
    start = 0
    while start < len(loan_col):
        loan_id = loan_col[start]
        end = start + 1
        while end < len(loan_col) and loan_col[end] == loan_id:
            end += 1
        rows = range(start, end)
        row = info[loan_id]
        terms = sch.LoanTerms(row["principal"], row["annual_rate_nano"], row["term"], row["frequency"],
                              row["method"], row["disbursed_on"], row["first_due_on"], row["period_days"])
        future = [sch.Instalment(n_col[k], due[k], adjusted[k], p_left[k], i_left[k])
                  for k in rows]
        balance = sum(i.principal for i in future) - prepaid[loan_id]
        regular = future[0].n > 1 or sch.first_period_rate(terms, future[0].due_on) == sch.periodic_rate(terms)
        amounts = sch.rebuild_future(terms, future, balance, mode[loan_id], first_period_regular=regular)
        current_n, accrued = earned.get(loan_id, (None, 0))
        for k, (p, i) in zip(rows, amounts):
            if n_col[k] == current_n:
                i = max(i, accrued - i_less[k])
            upd_loan.append(loan_id)
            upd_n.append(n_col[k])
            new_p.append(p + p_less[k])
            new_i.append(i + i_less[k] + capped[k])
        start = end
    upd = pl.DataFrame({"loan_id": upd_loan, "n": upd_n, "new_p": new_p, "new_i": new_i},
                       schema={"loan_id": key_type(inst), "n": pl.Int32, "new_p": pl.Int64, "new_i": pl.Int64})
    return (
        join_instalments(inst, upd)
        .with_columns(pl.coalesce("new_p", "principal").alias("principal"),
                      pl.coalesce("new_i", "interest").alias("interest"))
        .drop("new_p", "new_i")
    ).collect(engine=ENGINE)


def _attribute(
    allocated: pl.DataFrame, new: pl.DataFrame, act: pl.DataFrame, payments: pl.DataFrame, day: dt.date
) -> pl.DataFrame:
    """Split each loan's allocations (and the credit left over) across its sources of money."""
    # Uses: the allocations in the order they were made, then what is left as credit; grouped by
    # loan (a stable sort), so a row's position orders it as (loan, order made) does.
    uses = pl.concat([
        allocated.lazy().select("loan_id", "n", "component", pl.col("paid").alias("amount")),
        new.lazy().filter(pl.col("new_credit") > 0).select(
            "loan_id", pl.lit(0, pl.Int32).alias("n"), pl.lit("credit").alias("component"),
            pl.col("new_credit").alias("amount")),
    ]).filter(pl.col("amount") > 0).sort("loan_id", maintain_order=True).with_columns(
        pl.col("loan_id").set_sorted(), pl.int_range(pl.len(), dtype=pl.UInt64).alias("u_idx"),
        _running_total("amount").alias("u_end"),
    ).with_columns((pl.col("u_end") - pl.col("amount")).alias("u_start"))
    sources = pl.concat([
        act.lazy().filter(pl.col("credit") > 0).select("loan_id", pl.lit("credit").alias("source"),
                                                pl.col("credit").alias("s_amount"), pl.lit(0).alias("s_order"),
                                                pl.lit("").alias("pid")),
        payments.lazy().select("loan_id", pl.col("payment_id").alias("source"), pl.col("amount").alias("s_amount"),
                        pl.lit(1).alias("s_order"), pl.col("payment_id").alias("pid")),
    ]).sort("loan_id", "s_order", "pid").with_columns(
        pl.col("loan_id").set_sorted(), pl.int_range(pl.len(), dtype=pl.UInt64).alias("s_idx"),
        _running_total("s_amount").alias("s_end"),
    ).with_columns((pl.col("s_end") - pl.col("s_amount")).alias("s_start")).join(
        act.lazy().select("loan_id", (pl.col("status") == "charged_off").alias("recovery")), on="loan_id")
    out = (
        uses.join(sources, on="loan_id")
        .with_columns(
            (pl.min_horizontal("u_end", "s_end") - pl.max_horizontal("u_start", "s_start")).alias("amount")
        )
        # Credit carried from earlier days and left unspent is not a new allocation.
        .filter((pl.col("amount") > 0) & ~((pl.col("source") == "credit") & (pl.col("component") == "credit")))
        # By loan, use as made, then source (credit first, then payments by id): one integer key.
        .sort(pl.col("u_idx") * (1 << 32) + pl.col("s_idx"))
        .select("loan_id", pl.lit(day, pl.Date).alias("day"), "source", "component",
                pl.col("n").cast(pl.Int32), pl.col("amount").cast(pl.Int64), "recovery")
    )
    return out.select(ALLOCATIONS.names()).collect(engine=ENGINE)
