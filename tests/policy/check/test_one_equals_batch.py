"""One engine, two doors: on 10,000 random proposed actions, deciding each action alone (a one-row
frame, as an agent about to dial gets it) returns exactly what the batch decided.

The batch decides in (borrower, start, action_id) order and counts each allowed action against the
caps of later ones. The single door sees those earlier allowed actions the way it would in real
life: as contacts already made, in the history. A planned call counts as a placed, connected call
that was not a conversation (outcome ``wrong_party`` has exactly those counts; no flag is derived
here, flags are their own frame); any other planned contact as ``delivered``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import polars as pl

from arrears.policy.check.engine import check_one, evaluate
from arrears.policy.check.prepare import prepare
from arrears.policy.check.world import CONTACTS, World
from tests.policy.check.random_world import actions, world
from tests.policy.check.support import packs

N_BORROWERS, N_ACTIONS, SEED = 2_000, 10_000, 20261128
DECIDED = ("decision", "rules", "explanation", "allowed_start", "allowed_end")


def _as_contact(a: dict, address: str | None) -> dict:
    return {
        "event_id": f"planned:{a['action_id']}", "borrower_id": a["borrower_id"], "loan_ids": a["loan_ids"],
        "channel": a["channel"], "direction": "outbound", "at": a["start"], "party": a["party"],
        "address": address, "outcome": "wrong_party" if a["channel"] in ("agent_call", "robocall") else "delivered",
    }


def _one_by_one(borrower_ids: list[str]) -> list[dict]:
    """Each action of these borrowers decided alone, in batch order, earlier allowed ones as history."""
    w, acts = world(N_BORROWERS, SEED), None
    acts = actions(w, N_ACTIONS, SEED)
    p = packs()
    order = prepare(acts, w).select("action_id", "address_used").filter(pl.lit(True))
    address = dict(zip(order["action_id"], order["address_used"]))
    mine = acts.filter(pl.col("borrower_id").is_in(borrower_ids)).sort("borrower_id", "start", "action_id")
    parts = {k[0]: v for k, v in mine.partition_by("borrower_id", as_dict=True).items()}
    frames = {name: getattr(w, name).filter(pl.col("borrower_id").is_in(borrower_ids))
              for name in ("borrowers", "references", "contacts", "flags", "loans")}
    out = []
    for bid, rows in parts.items():
        sub = World(**{name: f.filter(pl.col("borrower_id") == bid) for name, f in frames.items()})
        for a in rows.iter_rows(named=True):
            d = check_one(a, sub, p)
            out.append({"action_id": a["action_id"], **{k: d[k] for k in DECIDED}})
            if d["decision"] == "allow" and a["channel"] is not None:
                done = pl.DataFrame([_as_contact(a, address[a["action_id"]])], schema=CONTACTS)
                sub = World(sub.borrowers, sub.references, pl.concat([sub.contacts, done]), sub.flags, sub.loans)
    return out


def test_the_single_action_path_returns_exactly_the_batch_result():
    w = world(N_BORROWERS, SEED)
    acts = actions(w, N_ACTIONS, SEED)
    batch = evaluate(acts, w, packs()).select("action_id", *DECIDED)
    # The batch exercises the engine: many rules block, many actions pass, borrowers have several.
    assert batch["decision"].value_counts().height == 2
    assert batch["rules"].str.split(";").explode().n_unique() > 25
    assert acts.group_by("borrower_id").len()["len"].max() >= 8

    ids = sorted(acts["borrower_id"].unique().to_list())
    halves = [ids[0::2], ids[1::2]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        single = [row for part in pool.map(_one_by_one, halves) for row in part]
    single = pl.DataFrame(single, schema=batch.schema)
    assert single.height == N_ACTIONS
    joined = batch.join(single, on="action_id", suffix="_one")
    differ = joined.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_one")) for c in DECIDED))
    assert differ.is_empty(), differ.head(5).to_dicts()
