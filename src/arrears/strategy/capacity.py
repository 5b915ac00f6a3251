"""Agents' daily capacity: calls and visits go to agents who speak the borrower's language and are
licensed in their jurisdiction, in priority order, until capacity runs out (pure).

Nothing is dropped: what does not fit is *deferred* and goes first the next day. The exact
optimisation of capacity (a transportation problem) is for the optimiser; a clear priority order
is what a collection manager can check by hand.
"""

from __future__ import annotations

import heapq

import polars as pl

AGENTS = pl.Schema({"agent_id": pl.String, "team": pl.String, "languages": pl.List(pl.String),
                    "jurisdictions": pl.List(pl.String), "daily_calls": pl.Int64, "daily_visits": pl.Int64})
# What uses an agent's day, and which capacity it uses.
NEEDS_AGENT = {"agent_call": "daily_calls", "field_visit": "daily_visits"}


def _speaks(languages: list[str], language: str | None) -> bool:
    if language is None:
        return True
    primary = language.split("-")[0].lower()
    return any(lang.lower() == language.lower() or lang.split("-")[0].lower() == primary for lang in languages)


def _licensed(jurisdictions: list[str], jurisdiction: str | None) -> bool:
    if jurisdiction is None:
        return False
    return any(j == jurisdiction or jurisdiction.startswith(j + "-") for j in jurisdictions)


def assign_agents(actions: pl.DataFrame, agents: pl.DataFrame) -> pl.DataFrame:
    """``actions`` (sorted by priority, 1 first) with ``assigned_to`` and ``status`` (``planned`` or
    ``deferred``). Actions that need no agent are planned as they are.

    Each action goes to the eligible agent with the most capacity left (ties: agent id), which
    spreads the day's work instead of filling one agent first.
    """
    needs = actions["action"].replace_strict(NEEDS_AGENT, default=None, return_dtype=pl.String).to_list()
    remaining: dict[tuple[str, str], int] = {}
    roster = []
    for a in agents.iter_rows(named=True):
        for kind in ("daily_calls", "daily_visits"):
            remaining[(a["agent_id"], kind)] = int(a[kind] or 0)
        roster.append(a)
    # One heap of (-capacity left, agent) per (kind, language, jurisdiction). An agent may sit in
    # several heaps; an entry whose count is stale is refreshed when it reaches the top.
    heaps: dict[tuple[str, str | None, str | None], list[tuple[int, str]]] = {}
    assigned: list[str | None] = [None] * len(needs)
    status = ["planned"] * len(needs)
    languages, jurisdictions = actions["language"].to_list(), actions["jurisdiction"].to_list()
    for i, kind in enumerate(needs):
        if kind is None:
            continue
        key = (kind, languages[i], jurisdictions[i])
        heap = heaps.get(key)
        if heap is None:
            heap = heaps[key] = [(-remaining[(a["agent_id"], kind)], a["agent_id"]) for a in roster
                                 if _speaks(a["languages"], key[1]) and _licensed(a["jurisdictions"], key[2])
                                 and remaining[(a["agent_id"], kind)] > 0]
            heapq.heapify(heap)
        while heap:
            left, agent = heap[0]
            now = remaining[(agent, kind)]
            if -left != now:
                heapq.heapreplace(heap, (-now, agent)) if now > 0 else heapq.heappop(heap)
                continue
            remaining[(agent, kind)] = now - 1
            assigned[i] = agent
            if now - 1 > 0:
                heapq.heapreplace(heap, (-(now - 1), agent))
            else:
                heapq.heappop(heap)
            break
        else:
            status[i] = "deferred"
    return actions.with_columns(pl.Series("assigned_to", assigned, pl.String), pl.Series("status", status, pl.String))
