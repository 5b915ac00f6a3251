"""The shipped worlds under the champion, through the whole platform (issue #8's "Done when"):
no violation found by the independent re-check, no field visit below ARREARS-VISIT-MIN, and more
collected, net of costs, than planning nothing. Run small (1,500 loans, 45 days) to fit CI."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from arrears.policy.check.params import Packs
from arrears.sim.load import load_world
from arrears.sim.session import run

SMALL = str(Path(__file__).parent / "small_worlds.py")
VISIT_MIN = {"CNY": 300_000, "USD": 75_000}
DAYS = 45


@pytest.mark.parametrize("world", ["SmallCN", "SmallUS"])
def test_the_champion_is_lawful_and_beats_doing_nothing(world: str, tmp_path: Path):
    outcomes = {}
    for strategy in ("champion", "none"):
        w = load_world(f"{SMALL}:{world}")
        outcomes[strategy] = run(w, work=tmp_path / strategy, days=DAYS, strategy=strategy, seed=3,
                                 start=w.start_date, packs=Packs.load())
    champion, none = outcomes["champion"], outcomes["none"]
    assert champion.report["violations"] == 0, champion.report["violations_by_rule"]
    assert sum(champion.report["actions_by_type"].values()) > 0 and none.report["actions_by_type"] == {}
    currency = champion.report["currency"]
    assert float(champion.report["net_collected"][currency]) > float(none.report["net_collected"][currency])
    # Every field visit the plan made was for a borrower owing at least the visit minimum.
    seen = champion.seen
    actions = pl.concat([a for a in seen.actions if a.width], how="diagonal_relaxed")
    visits = actions.filter(pl.col("action") == "field_visit")
    if visits.height:
        owed = pl.concat(seen.arrears).group_by("day", "borrower_id").agg(pl.col("total_outstanding").sum())
        judged = visits.select("day", "borrower_id").join(owed, on=["day", "borrower_id"], how="left")
        assert (judged["total_outstanding"] >= VISIT_MIN[currency]).all()
