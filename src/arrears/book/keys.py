"""Integer loan keys inside the day step.

The step's rules join, group and window on ``loan_id`` many times over the touched loans' rows,
and hashing a string key costs about twice an integer one. So the step maps ``loan_id`` on entry to
a dense integer key and back on exit; its signature and outputs stay in ``loan_id`` strings.

The key is the rank of the id among the book's ids, so ordering by key is ordering by id: every
sort in the rules gives the rows in the order it gave them on strings. The keys are local to one
call (nothing global, nothing kept): the step stays a pure function of its arguments over any
partition of the book.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

KEY = pl.UInt32


@dataclass(frozen=True, slots=True)
class LoanKeys:
    ids: pl.Series
    """The book's loan ids, sorted and unique: a loan's key is its position here."""
    order: pl.Series | None
    """The book's loan rows in id order, as positions (None: already in it)."""

    @classmethod
    def of(cls, loans: pl.DataFrame) -> LoanKeys | None:
        """The keys of ``loans``' ids, or None when an id is missing or repeated (no keys then)."""
        ids = loans["loan_id"]
        if ids.null_count():
            return None
        order = _id_order(ids)
        if order is not None:
            ids = ids.gather(order)
        if not _strictly_increasing(ids):
            return None
        return cls(ids, order)

    def holds(self, ids: pl.Series) -> pl.Series:
        """Whether each of ``ids`` is one of the book's (a binary search: no hash of the book's ids)."""
        return in_sorted(ids, self.ids)

    def encode(self, loans: pl.DataFrame, *frames: pl.DataFrame) -> list[pl.DataFrame] | None:
        """``loans`` and ``frames`` with ``loan_id`` as keys, or None when one of ``frames``
        names a loan outside the book.

        A loan's key is where its row goes in id order. The other frames' ids are looked up once
        a run of equal ids (a loan's instalments are one run)."""
        n = loans.height
        own = pl.int_range(n, dtype=KEY, eager=True) if self.order is None else self.order.arg_sort().cast(KEY)
        out = [_keyed(loans, own)]
        for f in frames:
            first = _run_starts(f["loan_id"])
            heads = f["loan_id"].filter(first)
            # The close's instalments and terms come loan by loan in the book's order or in id
            # order: their runs' keys are then known without a search.
            if heads.equals(loans["loan_id"], check_names=False):
                keys = own
            elif heads.equals(self.ids, check_names=False):
                keys = pl.int_range(n, dtype=KEY, eager=True)
            else:
                # A binary search in the sorted ids: building a hash map of them (a cast to Enum,
                # a join) costs more than the searches at these sizes.
                keys = self.ids.search_sorted(heads, side="left").cast(KEY)
                if not (keys < n).all() or not (self.ids.gather(keys) == heads).all():
                    return None
            out.append(_keyed(f, keys if keys.len() == f.height else keys.gather(first.cum_sum().cast(pl.Int64) - 1)))
        return out

    def decode(self, frame: pl.DataFrame, given: tuple[pl.Series, pl.Series] | None = None) -> pl.DataFrame:
        """``frame`` with its keys back as ``loan_id`` strings.

        ``given``: the keys and the ids of a frame the caller gave; when ``frame``'s keys are those,
        row for row (the step's results on a book in id order), its ids are those, not looked up."""
        if frame.schema["loan_id"] != KEY:
            return frame
        k = frame["loan_id"]
        if given is not None and k.equals(given[0], check_names=False):
            return frame.with_columns(given[1].alias("loan_id"))
        return frame.with_columns(self.ids.gather(k).alias("loan_id"))


@dataclass(frozen=True, slots=True)
class RowOrder:
    """The step runs on the book in key order (Polars then joins, groups and windows without
    hashing: about a quarter less CPU for the close's day); its results go back in the caller's.

    ``loans`` / ``inst``: the caller's rows in key order, as positions (None: already in it)."""

    loans: pl.Series | None
    inst: pl.Series | None

    @classmethod
    def of(cls, keys: LoanKeys, inst: pl.DataFrame) -> RowOrder:
        ik = inst["loan_id"]
        return cls(
            keys.order,
            # Stable: a loan's instalments keep their order.
            None if ik.flags["SORTED_ASC"] else inst.select(pl.arg_sort_by("loan_id", maintain_order=True)).to_series(),
        )

    def sort(self, loans: pl.DataFrame, inst: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self.loans is not None:
            loans = loans[self.loans].with_columns(pl.col("loan_id").set_sorted())
        if self.inst is not None:
            inst = inst[self.inst].with_columns(pl.col("loan_id").set_sorted())
        return loans, inst

    def restore_loans(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A frame with one row per loan in the order of the sorted loans, in the caller's order."""
        if self.loans is None:
            return frame
        if frame.height != self.loans.len():
            raise ValueError("restore_loans: not one row per loan")
        return frame[self.loans.arg_sort()]

    def restore_subset(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows of some loans (one a loan, as transitions are), in the order of the sorted loans,
        in the caller's order of loans. The keys are dense and unique, so the sorted loans' keys
        are 0..n-1: a key's caller row is ``self.loans[key]``."""
        if self.loans is None or frame.is_empty():
            return frame
        return frame[self.loans.gather(frame["loan_id"]).arg_sort()]

    def restore_inst(self, inst: pl.DataFrame, sorted_by_rules: bool) -> pl.DataFrame:
        """The instalments back in the caller's order; or, when a rule sorted them by loan and
        number (a restructure, an interest waiver), in that order, as the rules give it."""
        if sorted_by_rules:
            return inst.sort("loan_id", "n")
        if self.inst is None:
            return inst
        return inst[self.inst.arg_sort()]


def in_sorted(ids: pl.Series, among: pl.Series) -> pl.Series:
    """Whether each of ``ids`` is one of ``among`` (sorted): a binary search per id, no
    hash table of ``among`` (at the close's sizes, building one costs more than the searches)."""
    n = among.len()
    if not n:
        return ids.is_in([])
    at = among.search_sorted(ids, side="left")
    return ((at < n) & (among.gather(at.clip(0, n - 1)) == ids)).fill_null(False)


def sort_by_key(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in key order (stable), flagged so."""
    if frame["loan_id"].flags["SORTED_ASC"]:
        return frame
    return frame.sort("loan_id", maintain_order=True).with_columns(pl.col("loan_id").set_sorted())


def in_id_order(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in ``loan_id`` order (stable: a loan's instalments keep theirs), flagged so.

    The close hands the step its book so: the step then neither sorts it nor puts its results back
    in the caller's order, and the watch's trial step, on the results, neither. The close's book is
    the stored loans (in id order) and the day's new ones after them: its few sorted runs are
    merged, which costs a fraction of sorting strings."""
    ids = frame["loan_id"]
    if ids.is_sorted():
        return frame.with_columns(ids.set_sorted())
    cuts = _run_cuts(ids)
    if len(cuts) > 9:
        return frame.sort("loan_id", maintain_order=True).with_columns(pl.col("loan_id").set_sorted())
    merged = frame.slice(0, cuts[1])
    for a, b in zip(cuts[1:], cuts[2:]):
        # Ties (one loan's rows in two runs) keep the earlier run's rows first: stable.
        merged = merged.merge_sorted(frame.slice(a, b - a), key="loan_id")
    return merged.with_columns(pl.col("loan_id").set_sorted())


def _run_cuts(ids: pl.Series) -> list[int]:
    """Where the ascending runs of ``ids`` start, and its length."""
    n = ids.len()
    return [0, *((ids.slice(1) < ids.slice(0, n - 1)).arg_true() + 1).to_list(), n]


def _keyed(frame: pl.DataFrame, keys: pl.Series) -> pl.DataFrame:
    # Frames already in id order (the stored book is) are flagged so: Polars' sorted joins,
    # group-bys and windows then skip hashing.
    return frame.with_columns((keys.set_sorted() if keys.is_sorted() else keys).alias("loan_id"))


def _run_starts(ids: pl.Series) -> pl.Series:
    """Where a run of equal ids starts (True) in ``ids``."""
    if ids.is_empty():
        return pl.Series("first", [], pl.Boolean)
    return (ids != ids.shift(1)).fill_null(True)


def _id_order(ids: pl.Series) -> pl.Series | None:
    """The positions of ``ids`` in sorted order (None when they are). The close's book is the
    stored loans (sorted) and the day's new ones after them: a few sorted runs are merged, which
    costs a fraction of sorting strings."""
    if ids.is_sorted():
        return None
    cuts = _run_cuts(ids)
    if len(cuts) > 9:
        return ids.arg_sort()
    runs = [pl.DataFrame({"loan_id": ids.slice(a, b - a), "row": pl.int_range(a, b, dtype=KEY, eager=True)})
            for a, b in zip(cuts, cuts[1:])]
    merged = runs[0]
    for r in runs[1:]:
        merged = merged.merge_sorted(r, key="loan_id")
    return merged["row"]


def _strictly_increasing(ids: pl.Series) -> bool:
    if ids.len() < 2:
        return True
    return bool(ids.is_sorted() and (ids.slice(1) > ids.slice(0, ids.len() - 1)).all())


def key_type(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataType:
    """The dtype of ``frame``'s ``loan_id``: rules building frames of their own follow it, so those
    join and concatenate with the step's frames whether the step runs on keys or on strings."""
    return frame.collect_schema()["loan_id"]


def keyed(schema: pl.Schema | dict, like: pl.DataFrame) -> dict[str, pl.DataType]:
    """``schema`` with ``loan_id`` of ``like``'s type (see ``key_type``)."""
    return {c: (key_type(like) if c == "loan_id" else t) for c, t in schema.items()}


def _instalment_key() -> pl.Expr:
    return (pl.col("loan_id").cast(pl.UInt64) * (1 << 32) + pl.col("n").cast(pl.UInt64)).alias("_kn")


def join_instalments(inst: pl.DataFrame, rows: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """``inst`` left-joined with ``rows`` (at most one a ``(loan_id, n)``) on ``(loan_id, n)``.

    On keys, the pair is joined as one integer, flagged sorted when the instalments are in loan and
    number order (the step's are): a quarter of the CPU of a join on the two columns."""
    if inst.schema["loan_id"] != KEY:
        return inst.lazy().join(rows.lazy(), on=["loan_id", "n"], how="left")
    kn = inst.select(_instalment_key()).to_series()
    ordered = kn.is_sorted()
    left = inst.lazy().with_columns(kn.set_sorted() if ordered else kn)
    right = rows.lazy().with_columns(_instalment_key()).drop("loan_id", "n")
    if ordered:
        right = right.sort("_kn").with_columns(pl.col("_kn").set_sorted())
    return left.join(right, on="_kn", how="left").drop("_kn")


def per_loan(
    rows: pl.DataFrame, sums: tuple[str, ...] = (), mins: tuple[str, ...] = (), anys: tuple[str, ...] = ()
) -> pl.DataFrame:
    """One row per loan of ``rows``: the sum of each of ``sums``, the least non-null value of each
    of ``mins``, whether any of ``anys`` is true; as ``group_by("loan_id").agg`` gives them.

    On keys with the rows grouped by loan (the step's instalments are), numpy's reductions over
    each loan's slice: a Polars group-by costs about twice, a third of it per group."""
    key = rows["loan_id"]
    numeric = all(rows[c].null_count() == 0 for c in (*sums, *anys))
    if key.dtype != KEY or rows.is_empty() or not numeric or not key.is_sorted():
        return rows.group_by("loan_id").agg(
            *[pl.col(c).sum() for c in sums], *[pl.col(c).min() for c in mins], *[pl.col(c).any() for c in anys])
    k = key.to_numpy()
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    out: dict[str, pl.Series] = {"loan_id": pl.Series("loan_id", k[starts], KEY)}
    for c in sums:
        s = rows[c]
        # Polars sums booleans as counts (UInt32) and integers in their own type.
        dtype = pl.UInt32 if s.dtype == pl.Boolean else s.dtype
        out[c] = pl.Series(c, np.add.reduceat(s.cast(dtype).to_numpy(), starts)).cast(dtype)
    for c in mins:
        s = rows[c]
        phys = s.to_physical()
        top = _top(phys.dtype)
        least = np.minimum.reduceat(phys.fill_null(top).to_numpy(), starts)
        out[c] = pl.Series(c, least).cast(phys.dtype).replace(top, None).cast(s.dtype)
    for c in anys:
        out[c] = pl.Series(c, np.logical_or.reduceat(rows[c].to_numpy(), starts))
    return pl.DataFrame(out)


def _top(dtype: pl.DataType) -> int:
    # Stands in for null in a least value: no date or amount reaches it.
    if dtype == pl.Int32:
        return 2**31 - 1
    if dtype == pl.Int64:
        return 2**63 - 1
    raise TypeError(f"per_loan: no least value of {dtype}")
