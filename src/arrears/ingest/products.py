"""Products from TOML: a code, once stored, keeps its definition."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Connection

from arrears.book.products import Product, parse_products
from arrears.problems import BadInput, Problem
from arrears.store import tables as t
from arrears.store.bulk import read_table


def canonical(product: Product) -> str:
    return json.dumps(product.to_dict(), sort_keys=True, separators=(",", ":"))


def apply_file(conn: Connection, path: Path, now: dt.datetime) -> int:
    if path.suffix.lower() != ".toml":
        raise BadInput([Problem(None, None, f"{path}: products come in a .toml file")])
    if not path.exists():
        raise BadInput([Problem(None, None, f"{path}: no such file")])
    products = parse_products(path.read_text(encoding="utf-8"))
    problems = []
    if "default" in products:
        problems.append(Problem(None, "products.default", "the default product is built in and cannot be redefined"))
    stored = dict(read_table(conn, t.products).select("code", "definition").iter_rows())
    new = []
    for code, product in products.items():
        text = canonical(product)
        # Compared as products, not as text: a setting added in a later version (with its default)
        # does not make a product stored before it "different".
        if code in stored and Product.from_dict(json.loads(stored[code])) != product:
            problems.append(
                Problem(None, f"products.{code}", "already exists with a different definition; "
                        "products are versioned by code: add a new code for new terms")
            )
        elif code not in stored:
            new.append({"code": code, "definition": text, "recorded_at": now})
    if problems:
        raise BadInput(problems)
    if new:
        conn.execute(t.products.insert(), new)
    return len(new)
