"""Payment allocation: where every minor unit of the day's money goes.

The day's funds on a loan are its held credit plus the day's payments (credit is spent first, then
payments in payment_id order, so attribution is deterministic whatever the import order). They
pay what is due in the product's order; then:
- if what is left settles the loan in full (interest accrued to date plus all principal not yet
  due), the loan is paid off and the interest of later periods is never charged;
- otherwise the product's ``prepayment`` decides: ``hold_as_credit`` keeps it to pay instalments as
  they fall due; ``reduce_term`` / ``reduce_instalment`` repay principal now and rebuild the
  instalments not yet due (``schedule.rebuild_frame``: ``rebuild_future`` over the day's loans);
- anything beyond all that is owed stays as credit. Money is never dropped: for every payment,
  the sum of its allocations plus its credit equals its amount.

Orders (penalty and fees are held per loan, interest and principal per instalment):
- ``oldest_first_penalty_fees_interest_principal``: penalty, fees, then each instalment oldest
  first, its interest before its principal;
- ``component_major``: penalty, fees, all due interest (oldest first), then all due principal;
- ``principal_first``: all due principal (oldest first), all due interest (oldest first), fees,
  penalty.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
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
from arrears.book.keys import KEY, key_type, keyed, per_loan
from arrears.book.state import ALLOCATIONS

_ORDER = {
    # component -> (group, use n, rank) per allocation rule
    "oldest_first_penalty_fees_interest_principal": {
        "penalty": (0, 0), "fees": (0, 1), "interest": (1, 0), "principal": (1, 1)},
    "component_major": {"penalty": (0, 0), "fees": (1, 0), "interest": (2, 0), "principal": (3, 0)},
    "principal_first": {"principal": (0, 0), "interest": (1, 0), "fees": (2, 0), "penalty": (3, 0)},
}


_COMPONENTS = ("penalty", "fees", "interest", "principal")


# Per allocation rule: each component's group and rank in the waterfall (``_k_group_<component>``,
# ``_k_rank_<component>``), joined onto the paying loans (null for a rule without an order).
_ORDER_KEYS = pl.DataFrame(
    {"allocation": list(_ORDER)}
    | {f"_{key}_{comp}": [comps[comp][i] for comps in _ORDER.values()]
       for comp in _COMPONENTS for i, key in enumerate(("k_group", "k_rank"))},
    schema_overrides={f"_{key}_{comp}": pl.Int64 for comp in _COMPONENTS for key in ("k_group", "k_rank")},
)


def _by_loan(rows: pl.LazyFrame, order: pl.Expr) -> pl.LazyFrame:
    """``rows`` sorted by loan, then by ``order`` (distinct within a loan, 0 <= order < 2**32).

    On integer keys, by one integer (loan, order): a tenth of the CPU of sorting on the columns."""
    if key_type(rows) == KEY:
        rows = rows.sort(pl.col("loan_id").cast(pl.UInt64) * (1 << 32) + order.cast(pl.UInt64))
    else:
        rows = rows.sort("loan_id", order)
    return rows.with_columns(pl.col("loan_id").set_sorted())


def _due_item(rows: pl.LazyFrame, comp: str, n: pl.Expr, amount: pl.Expr, row: pl.Expr) -> pl.LazyFrame:
    return rows.select("loan_id", n.alias("n"), pl.lit(comp).alias("component"), amount.alias("amount"),
                       "funds", pl.col(f"_k_group_{comp}").alias("k_group"), pl.col(f"_k_rank_{comp}").alias("k_rank"),
                       row.alias("_row"))


def _add_paid(inst: pl.DataFrame, allocated: pl.DataFrame) -> pl.DataFrame:
    """``inst`` with the principal and interest ``allocated`` to its rows (``_row``) added to what
    was paid on them: two columns summed in place, rather than a join carrying every column."""
    out = []
    for col, comp in (("paid_principal", "principal"), ("paid_interest", "interest")):
        paid = allocated.filter((pl.col("component") == comp) & pl.col("_row").is_not_null())
        add = np.zeros(inst.height, dtype=np.int64)
        np.add.at(add, paid["_row"].to_numpy(), paid["paid"].to_numpy())
        out.append(inst[col] + pl.Series(col, add))
    return inst.with_columns(out)


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
        .with_row_index("_lrow")
        .select("_lrow", "loan_id", "status", "credit", "penalty_micro", "penalty_paid", "penalty_waived",
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
    open_ = act.lazy().filter(~pl.col("status").is_in(["pending", "paid_off", "settled", "written_off"])).join(
        _ORDER_KEYS.lazy(), on="allocation", how="left", maintain_order="left").collect(engine=ENGINE)
    # Membership, then a join of the few rows left: a join would hash every instalment.
    of_open = pl.col("loan_id").is_in(open_["loan_id"].implode())
    open_ = open_.lazy()
    # Each instalment's row, so that what is paid goes onto it in place (``_add_paid``), not by a
    # join over every instalment of the touched loans.
    rows = with_dues(inst.lazy().with_row_index("_row"), day)
    # The waterfall reads only the instalments due with something unpaid, of the loans with money.
    due = rows.filter(of_open).filter(
        pl.col("is_due") & ((pl.col("unpaid_interest") > 0) | (pl.col("unpaid_principal") > 0))
    ).join(open_.select("loan_id", "funds", pl.col("^_k_.*$")), on="loan_id").collect(engine=ENGINE).lazy()
    due_items = pl.concat(
        [
            _due_item(due, "interest", pl.col("n"), pl.col("unpaid_interest"), pl.col("_row")),
            _due_item(due, "principal", pl.col("n"), pl.col("unpaid_principal"), pl.col("_row")),
            _due_item(open_, "penalty", pl.lit(0, pl.Int32), penalty_outstanding(), pl.lit(None, pl.get_index_type())),
            _due_item(open_, "fees", pl.lit(0, pl.Int32), fees_outstanding(), pl.lit(None, pl.get_index_type())),
        ]
    ).filter(pl.col("amount") > 0)
    # Within a group, loan-level components (n = 0) come first; then instalments oldest first (by
    # n in every group: principal_first's first group is instalments, whose order a key of 0 for
    # the whole group left to the sort's whim).
    due_items = _by_loan(due_items, pl.col("k_group").fill_null(0) * (1 << 28) + pl.col("n") * 2
                         + pl.col("k_rank").fill_null(0))
    # Collected before the queries that read them, each once: a query built on another's plan
    # computes it again (the waterfall was computed twice).
    paid_due = _waterfall(due_items).collect(engine=ENGINE)
    # What the due items took, per loan: the items are grouped by loan.
    due_totals = per_loan(paid_due.select(
        "loan_id", pl.col("paid").alias("spent"),
        *[pl.when(pl.col("component") == comp).then(pl.col("paid")).otherwise(0).alias(name)
          for comp, name in (("penalty", "a_pen"), ("fees", "a_fees"))],
    ), sums=("spent", "a_pen", "a_fees"))
    paid_due = paid_due.lazy()
    # Only a loan with money left after what is due can pay off or prepay: what follows (accrued
    # interest, principal not yet due) is worked out for those few loans, not for every paying one.
    rich = (
        open_.select("loan_id", "status", "prepayment", "residual_below", "interest_capped_micro",
                     "interest_capped_posted", "interest_frozen_micro", "interest_frozen_posted", "funds")
        .join(due_totals.lazy(), on="loan_id", how="left")
        .with_columns((pl.col("funds") - pl.col("spent").fill_null(0)).alias("left"))
        .filter(pl.col("left") > 0)
        .drop("funds", "spent", "a_pen", "a_fees")
    ).collect(engine=ENGINE)
    d = rows.filter(pl.col("loan_id").is_in(rich["loan_id"].implode())).collect(engine=ENGINE).lazy()
    rich = rich.lazy()

    # What settles the rest of the loan today: interest accrued to date plus principal not yet due.
    # ``accrued`` is what the account shows (``balances``' rule): what the cap or a freeze held back
    # is not receivable. ``earned`` is net of the cap only: the rebuilt running period's floor, since
    # a freeze's held interest is waived at the due date unless the prepayment settles it now.
    acc = accrued_interest(d, day).join(rich, on="loan_id").join(
        d.select("loan_id", pl.col("n").alias("current_n"), "_row"), on=["loan_id", "current_n"]
    ).select(
        "loan_id", "current_n", "_row",
        accrued_net(pl.col("accrued_gross"), interest_held()).alias("accrued"),
        (pl.col("accrued_gross") - (round_micro(pl.col("interest_capped_micro")) - pl.col("interest_capped_posted")))
        .clip(0).alias("earned"),
    ).collect(engine=ENGINE).lazy()
    future = d.filter(~pl.col("is_due") & (pl.col("unpaid_principal") > 0)).collect(engine=ENGINE).lazy()
    rest = (
        rich.select("loan_id", "status", "prepayment", "residual_below", "left")
        .join(future.group_by("loan_id").agg(pl.col("unpaid_principal").sum().alias("future_principal")),
              on="loan_id", how="left")
        .join(acc, on="loan_id", how="left")
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
                pl.col("accrued").alias("amount"), "_row"),
            future.join(payoff.select("loan_id"), on="loan_id").select(
                "loan_id", "n", pl.lit("principal").alias("component"), pl.col("unpaid_principal").alias("amount"),
                "_row"),
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
        "loan_id", "prepayment", "current_n", "_row", "earned_paid",
        pl.min_horizontal(pl.col("left") - pl.col("earned_paid"), "future_principal").alias("prepaid"),
    ).collect(engine=ENGINE).lazy()

    # What the payoffs and prepayments took, beyond the due items.
    later = pl.concat([
        payoff_items.select("loan_id", "n", "component", "paid", "_row"),
        prepay.filter(pl.col("earned_paid") > 0).select(
            "loan_id", pl.col("current_n").cast(pl.Int32).alias("n"), pl.lit("interest").alias("component"),
            pl.col("earned_paid").alias("paid"), "_row"),
        prepay.filter(pl.col("prepaid") > 0).select(
            "loan_id", pl.lit(0, pl.Int32).alias("n"), pl.lit("principal").alias("component"),
            pl.col("prepaid").alias("paid"), pl.lit(None, pl.get_index_type()).alias("_row")),
    ])
    payoff, prepay, later = payoff.collect(engine=ENGINE), prepay.collect(engine=ENGINE), later.collect(engine=ENGINE)
    allocated = pl.concat([
        paid_due.filter(pl.col("paid") > 0).select("loan_id", "n", "component", "paid", "_row").collect(engine=ENGINE),
        later,
    ])
    # --- apply to the loans
    later_totals = later.lazy().group_by("loan_id").agg(
        pl.col("paid").sum().alias("a_later"),
        pl.col("paid").filter((pl.col("component") == "principal") & (pl.col("n") == 0)).sum().alias("a_pre"),
    )
    new = (
        act.lazy().select("_lrow", "loan_id", "funds", "paid_today", "status")
        .join(due_totals.lazy(), on="loan_id", how="left")
        .join(later_totals, on="loan_id", how="left")
        .with_columns(pl.col("spent", "a_pen", "a_fees", "a_later", "a_pre").fill_null(0))
        .with_columns(
            (pl.col("funds") - pl.col("spent") - pl.col("a_later")).alias("new_credit"),
            # What a charged-off loan pays is a recovery.
            pl.when(pl.col("status") == "charged_off").then(pl.col("paid_today")).otherwise(0).alias("a_rec"),
        )
    ).collect(engine=ENGINE)
    # In place on the paying loans' rows (``_lrow``), not a join carrying every column of every loan;
    # before ``post_held_interest`` below, which may reorder the loans and changes other columns.
    at = new["_lrow"]
    loans = loans.with_columns(
        *[loans[col].scatter(at, loans[col].gather(at) + new[add])
          for col, add in (("penalty_paid", "a_pen"), ("fees_paid", "a_fees"), ("principal_prepaid", "a_pre"))],
        loans["credit"].scatter(at, new["new_credit"]),
        loans["recovered"].scatter(at, loans["recovered"].gather(at) + new["a_rec"]),
    )
    # --- apply to the instalments
    inst = _add_paid(inst, allocated)
    # A payoff ends the loan's interest: nothing beyond what accrued to today is ever charged.
    inst = stop_interest(inst, payoff, day)
    if not prepay.is_empty():
        # The earned interest was paid net of the cap: what the cap held back is recorded now, so
        # the due date does not take it again off the rebuilt period's interest still accruing. So is
        # a freeze's, when the earned interest (net of it) was paid; otherwise the running period
        # keeps what it earned and the due date waives the frozen part, as without a prepayment.
        settled = pl.col("earned_paid") > 0
        for ids, frozen in ((prepay.filter(settled), True), (prepay.filter(~settled), False)):
            if not ids.is_empty():
                loans, inst, _ = post_held_interest(loans, inst, ids, day, frozen=frozen)
        inst = _rebuild(inst, prepay, act, acc.collect(engine=ENGINE), day)

    # --- attribute every allocation (and the credit left) to its source
    allocations = _attribute(allocated, new, act, payments, day)
    return loans, inst, allocations


def _rebuild(
    inst: pl.DataFrame, prepay: pl.DataFrame, act: pl.DataFrame, acc: pl.DataFrame, day: dt.date
) -> pl.DataFrame:
    """Rebuild the not-yet-due instalments of loans that prepaid principal (``schedule.rebuild_frame``,
    over all of them at once).

    Interest already earned in the running period stays owed: a prepayment lowers the interest of
    the period from here on, it cannot un-earn what accrued before it arrived (otherwise paying a
    little less than the payoff would cost less than paying it)."""
    target = (
        inst.lazy().with_row_index("_row")
        .filter(pl.col("loan_id").is_in(prepay["loan_id"].implode()) & (pl.col("due_on") > day))
        .sort("loan_id", "n")
        .select(
            "_row", "loan_id", "n", "due_on",
            (pl.col("paid_principal") + pl.col("waived_principal")).alias("p_less"),
            (pl.col("paid_interest") + pl.col("waived_interest")).alias("i_less"),
            (pl.col("principal") - pl.col("paid_principal") - pl.col("waived_principal")).alias("principal"),
            (pl.col("interest") - pl.col("paid_interest") - pl.col("waived_interest")
             - pl.col("interest_capped")).alias("interest"),
            "interest_capped",
        )
    ).collect(engine=ENGINE)
    # The first period's rate is the odd one only when the loan's first instalment is still to come.
    loans = (
        target.lazy().group_by("loan_id", maintain_order=True)
        .agg(pl.col("principal").sum().alias("left"), (pl.col("n").first() > 1).alias("first_period_regular"))
        .join(prepay.lazy().select("loan_id", "prepaid", "prepayment"), on="loan_id", maintain_order="left")
        .join(act.lazy().select("loan_id", "annual_rate_nano", "term", "frequency", "method", "disbursed_on",
                                "first_due_on", "period_days", "principal"), on="loan_id", maintain_order="left")
        .with_columns((pl.col("left") - pl.col("prepaid")).alias("balance"))
    ).collect(engine=ENGINE)
    principal, interest = sch.rebuild_frame(loans, target)
    new = target.lazy().with_columns(
        pl.Series("_p", principal, pl.Int64), pl.Series("_i", interest, pl.Int64)
    ).join(acc.lazy().select("loan_id", "current_n", "earned"), on="loan_id", how="left").select(
        "_row",
        (pl.col("_p") + pl.col("p_less")).alias("new_p"),
        # Not below what the running period has already earned.
        (pl.when(pl.col("n") == pl.col("current_n")).then(pl.max_horizontal("_i", pl.col("earned") - pl.col("i_less")))
         .otherwise(pl.col("_i")) + pl.col("i_less") + pl.col("interest_capped")).alias("new_i"),
    ).collect(engine=ENGINE)
    at = new["_row"]
    return inst.with_columns(inst["principal"].scatter(at, new["new_p"]), inst["interest"].scatter(at, new["new_i"]))


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
        act.lazy().select("loan_id", (pl.col("status") == "charged_off").alias("recovery")), on="loan_id",
        maintain_order="left")
    uses, sources = pl.collect_all([uses, sources], engine=ENGINE)
    # A loan with one source (most: one payment, or credit alone) needs no join of its uses with
    # its sources: the source's row is found by position (both are in loan order).
    at, one = _one_source(sources["loan_id"], uses["loan_id"])
    single = pl.concat([uses.filter(one), sources[at.filter(one)].drop("loan_id")], how="horizontal")
    if one.all():
        pairs, ordered = single.lazy(), True
    else:
        pairs, ordered = pl.concat([single.lazy(), uses.lazy().filter(~one).join(sources.lazy(), on="loan_id")]), False
    out = (
        pairs
        .with_columns(
            (pl.min_horizontal("u_end", "s_end") - pl.max_horizontal("u_start", "s_start")).alias("amount")
        )
        # Credit carried from earlier days and left unspent is not a new allocation.
        .filter((pl.col("amount") > 0) & ~((pl.col("source") == "credit") & (pl.col("component") == "credit")))
    )
    if not ordered:
        # By loan, use as made, then source (credit first, then payments by id): one integer key.
        out = out.sort(pl.col("u_idx") * (1 << 32) + pl.col("s_idx"))
    out = out.select("loan_id", pl.lit(day, pl.Date).alias("day"), "source", "component",
                     pl.col("n").cast(pl.Int32), pl.col("amount").cast(pl.Int64), "recovery")
    return out.select(ALLOCATIONS.names()).collect(engine=ENGINE)


def _one_source(sources: pl.Series, uses: pl.Series) -> tuple[pl.Series, pl.Series]:
    """For each use, its loan's first source row (``sources`` in loan order) and whether the loan has
    exactly one source. On the step's keys a table indexed by key (two reads a use) rather than two
    binary searches a use."""
    if sources.dtype != KEY or uses.dtype != KEY or sources.is_empty() or uses.is_empty():
        at = sources.search_sorted(uses, side="left")
        return at, (sources.search_sorted(uses, side="right") - at) == 1
    s, u = sources.to_numpy(), uses.to_numpy()
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    top = int(max(s[-1], u.max())) + 1
    first, count = np.zeros(top, dtype=np.uint32), np.zeros(top, dtype=np.uint32)
    first[s[starts]] = starts
    count[s[starts]] = np.diff(np.r_[starts, s.size])
    return pl.Series("loan_id", first[u]), pl.Series("loan_id", count[u] == 1)
