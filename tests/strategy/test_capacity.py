"""Agents' capacity: never exceeded, language and licence respected, the rest deferred in priority order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.strategy.capacity import AGENTS, assign_agents


def _agents(*rows) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(AGENTS.names(), r)) for r in rows], schema=AGENTS)


def _actions(kinds: list[str], language="zh-CN", jurisdiction="CN") -> pl.DataFrame:
    return pl.DataFrame({"action": kinds, "language": [language] * len(kinds), "jurisdiction": [jurisdiction] * len(kinds)},
                        schema={"action": pl.String, "language": pl.String, "jurisdiction": pl.String})


def test_calls_beyond_capacity_are_deferred_in_priority_order():
    a = _agents(("A1", "t", ["zh-CN"], ["CN"], 2, 0))
    out = assign_agents(_actions(["agent_call", "sms", "agent_call", "agent_call"]), a)
    assert out["status"].to_list() == ["planned", "planned", "planned", "deferred"]
    assert out["assigned_to"].to_list() == ["A1", None, "A1", None]


def test_language_and_licence_decide_who_may_call():
    a = _agents(("EN", "t", ["en"], ["US"], 5, 0), ("ZH", "t", ["zh"], ["CN"], 5, 0), ("GB", "t", ["en-GB"], ["GB"], 5, 0))
    us = assign_agents(_actions(["agent_call"], "en-US", "US-MA"), a)
    cn = assign_agents(_actions(["agent_call"], "zh-CN", "CN"), a)
    nobody = assign_agents(_actions(["agent_call"], "es-US", "US-CA"), a)
    assert us["assigned_to"][0] == "EN" and cn["assigned_to"][0] == "ZH" and nobody["status"][0] == "deferred"


def test_visits_use_visit_capacity_not_call_capacity():
    a = _agents(("A1", "t", ["zh-CN"], ["CN"], 10, 0))
    assert assign_agents(_actions(["field_visit"]), a)["status"][0] == "deferred"


@settings(max_examples=60, deadline=None)
@given(
    caps=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2)), min_size=0, max_size=5),
    kinds=st.lists(st.sampled_from(["agent_call", "field_visit", "sms", "letter"]), max_size=40),
)
def test_capacity_is_never_exceeded_and_nothing_is_dropped(caps, kinds):
    a = _agents(*[(f"A{i}", "t", ["zh-CN"], ["CN"], c, v) for i, (c, v) in enumerate(caps)])
    out = assign_agents(_actions(kinds), a)
    assert out.height == len(kinds)  # nothing silently dropped: planned or deferred
    used = out.filter(pl.col("assigned_to").is_not_null()).group_by("assigned_to", "action").len()
    limit = {(f"A{i}", k): n for i, (c, v) in enumerate(caps) for k, n in (("agent_call", c), ("field_visit", v))}
    for agent, action, n in used.iter_rows():
        assert n <= limit[(agent, action)]
    # Work waits only when every eligible agent is full.
    for kind, field in (("agent_call", 0), ("field_visit", 1)):
        wanted = kinds.count(kind)
        capacity = sum(c[field] for c in caps)
        planned = out.filter((pl.col("action") == kind) & (pl.col("status") == "planned")).height
        assert planned == min(wanted, capacity)
