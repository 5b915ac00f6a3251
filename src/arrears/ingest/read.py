"""Reading CSV and Parquet files into frames of text, so every check sees exactly what was sent."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from arrears.problems import BadInput, Problem

ROW = "__row"


def read_rows(path: Path, *, money_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """All columns as strings plus ``__row`` (data rows counted from 1, so CSV line = row + 1).

    Parquet float columns holding money are refused: a binary float cannot hold 0.10 exactly.
    """
    suffix = path.suffix.lower()
    if not path.exists():
        raise BadInput([Problem(None, None, f"{path}: no such file")])
    if suffix == ".csv":
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as e:
            raise BadInput([Problem(None, None, f"{path}: not a readable CSV file ({e})")]) from None
        # An empty CSV cell is a missing value; whitespace-only is treated the same way.
        frame = frame.with_columns(
            pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
            for c in frame.columns
        )
    elif suffix == ".parquet":
        frame = pl.read_parquet(path)
        bad = [
            Problem(None, c, "money must not be a float column in Parquet; use decimal or string")
            for c, t in frame.schema.items()
            if c in money_columns and t.is_float()
        ]
        if bad:
            raise BadInput(bad)
        frame = frame.with_columns(_as_text(c, t) for c, t in frame.schema.items())
    else:
        raise BadInput([Problem(None, None, f"{path}: expected a .csv or .parquet file")])
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Boolean:
        return col.cast(pl.String).str.to_lowercase()
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    if isinstance(dtype, pl.Decimal):
        # The scale is the column's type, not the amount's: 1000.1000 in a Decimal(18, 4) column is
        # 1000.10 and fits CNY; only non-zero digits beyond the currency's exponent are refused.
        return col.cast(pl.String).str.replace(r"(\.\d*?)0+$", "${1}").str.replace(r"\.$", "")
    return col.cast(pl.String)
