"""Where each row's loan is in a frame of loans, when the loans are a part of the keys.

``positions.rows_in`` is free when the loans' keys are the whole range 0..n-1 (the step's book). A
part of the book (the watch's trial step: the loans not moving, on the book's keys) leaves gaps in
the keys, and there it hashes every row in a join. The keys being small integers local to the call
(``keys.py``), a table indexed by key gives each row its loan's row instead: one write a loan, one
read a row.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from arrears.book.keys import KEY
from arrears.book.positions import rows_in as rows_by_id


def rows_in(loans: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
    """``positions.rows_in``: for each row of ``frame``, the row of ``loans`` with its ``loan_id``
    (null: none there), as ``KEY``, flagged sorted when it is."""
    ids, of = loans["loan_id"], frame["loan_id"]
    n = ids.len()
    if (ids.dtype != KEY or of.dtype != KEY or n == 0 or of.is_empty() or of.null_count() or ids.null_count()
            or _whole_range(ids)):
        # The whole range of keys (free there), or strings: ``positions`` as it is.
        return rows_by_id(loans, frame)
    top = int(ids.max())
    if top > 4 * (n + of.len()):
        # Keys too sparse for a table (not the step's): a join, as ``positions`` does.
        return rows_by_id(loans, frame)
    # ``n`` (no row) where no loan has the key, and for keys beyond the table.
    table = np.full(top + 2, n, dtype=np.uint32)
    table[ids.to_numpy()] = np.arange(n, dtype=np.uint32)
    k = of.to_numpy()
    at = table[k if int(of.max()) <= top + 1 else np.minimum(k, top + 1)]
    # Without a dtype: the array as it is (given one, Polars converts it element by element).
    pos = pl.Series("_row", at).cast(KEY)
    if bool((at == n).any()):
        pos = pl.select(pl.when(pos < n).then(pos).alias("_row")).to_series()
    return pos.set_sorted() if pos.null_count() == 0 and pos.is_sorted() else pos


def _whole_range(ids: pl.Series) -> bool:
    n = ids.len()
    return ids[0] == 0 and ids[n - 1] == n - 1 and ids.is_sorted()
