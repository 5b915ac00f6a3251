"""One engine, two doors: ``evaluate`` decides a whole batch of proposed actions (the daily plan,
``arrears policy check``); ``check_one`` is the same call on a one-row frame (an agent about to dial).

Steps, all set-based over the batch:
1. ``prepare``: party kind, address, candidate zones, pack key, batch order.
2. One row per (action, candidate zone) with the action's local day there.
3. Facts: flags in force, contact history counts, hours windows, parameters of the effective pack,
   the template's declared purpose and audience.
4. Static rules once for the whole batch; cap rules (counts) in rounds, round k deciding every
   borrower's k-th action with the counts of its history plus its earlier *allowed* actions. An
   action depends only on the actions before it, so the result is the same as deciding the actions
   one by one in (borrower, start, action_id) order, which is what the single door does.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from arrears.policy.check.flag_facts import flag_facts, with_flag_facts
from arrears.policy.check.history import (
    COUNTS,
    batch_counts,
    batch_pairs,
    combine,
    history_events,
    history_facts,
    planned_events,
)
from arrears.policy.check.hours import HOURS_RULES, windows
from arrears.policy.check.params import Packs
from arrears.policy.check.prepare import by_zone, prepare
from arrears.policy.check.rules import CHECKS, Check, at_work, borrower_text_to_third
from arrears.policy.check.world import ACTIONS, UTC, World, actions_frame
from arrears.templates.loader import TemplateSet, default_templates

DECISIONS = pl.Schema({
    **ACTIONS,
    "decision": pl.String,
    "rules": pl.String,
    "explanation": pl.String,
    "allowed_start": UTC,
    "allowed_end": UTC,
})


_TEMPLATE_FRAMES: dict[int, tuple[TemplateSet, pl.DataFrame]] = {}


def _template_frame(templates: TemplateSet) -> pl.DataFrame:
    kept = _TEMPLATE_FRAMES.get(id(templates))
    if kept is None or kept[0] is not templates:
        kept = _TEMPLATE_FRAMES[id(templates)] = (templates, _build_template_frame(templates))
    return kept[1]


def _build_template_frame(templates: TemplateSet) -> pl.DataFrame:
    rows = [
        {"template_id": tid, "language": lang, "t_channel": t.meta.channel, "t_purpose": t.meta.purpose,
         "t_audience": t.meta.audience, "t_jurisdictions": list(t.meta.jurisdictions),
         "t_roles": list(t.meta.collector_roles), "t_court": t.mentions_court}
        for (tid, lang), t in sorted(templates.templates.items())
    ]
    return pl.DataFrame(rows, schema={
        "template_id": pl.String, "language": pl.String, "t_channel": pl.String, "t_purpose": pl.String,
        "t_audience": pl.String, "t_jurisdictions": pl.List(pl.String), "t_roles": pl.List(pl.String),
        "t_court": pl.Boolean})


def _hhmm(minutes: pl.Expr) -> pl.Expr:
    return pl.format("{}:{}", (minutes // 60).cast(pl.String).str.zfill(2), (minutes % 60).cast(pl.String).str.zfill(2))


def _in_force(check: Check, packs: Packs) -> pl.Expr:
    meta = packs.rule_meta(check.rule)
    if meta is None:
        return pl.lit(False)
    channels, parties = meta
    return (
        pl.col("pack_key").is_in(packs.keys_with(check.rule))
        & pl.col("rule_channel").is_in(list(channels))
        & pl.col("party_kind").is_in(list(parties))
    )


def _blocks(checks: list[Check], packs: Packs) -> list[pl.Expr]:
    """``b:RULE`` per check: in force and blocking. A rule no pack holds for this collector role
    (US-VALID for a lender collecting its own loans) is never evaluated: its parameters are absent."""
    key = ("blocks", tuple(c.rule for c in checks))
    if key not in packs.memo:
        packs.memo[key] = _build_blocks(checks, packs)
    return packs.memo[key]


def _build_blocks(checks: list[Check], packs: Packs) -> list[pl.Expr]:
    return [
        (_in_force(c, packs) & c.blocked.fill_null(True) if packs.rule_meta(c.rule) else pl.lit(False)).alias(f"b:{c.rule}")
        for c in checks
    ]


def evaluate(actions: pl.DataFrame, world: World, packs: Packs, templates: TemplateSet | None = None,
             *, batch: bool = True, skip: tuple[str, ...] = ()) -> pl.DataFrame:
    """Each proposed action (``world.ACTIONS``) with ``decision``, ``rules``, ``explanation`` and the
    allowed window (``DECISIONS``), in the input's order.

    ``batch=False`` evaluates every action against the history alone (executed contacts are
    history already; they do not count a second time as a batch). ``skip`` leaves rules out (an
    executed contact's text is not known here, so its template cannot be judged).
    """
    actions = actions_frame(actions)
    world = world.conformed()
    templates = templates if templates is not None else default_templates()
    a = prepare(actions, world)

    zoned = (
        a.select("idx", "seq", "borrower_id", "party", "loan_id", "loan_ids", "address_used", "family",
                 "work_phone", "start", "end", "zones")
        .explode("zones").rename({"zones": "zone"})
        .filter(pl.col("zone").is_not_null())
        .pipe(by_zone, "start", "d")
        .with_row_index("zrow")
    )
    d_min = zoned.group_by("idx").agg(pl.col("d").min().alias("d_min"), pl.col("d").max().alias("d_max"))
    a = with_flag_facts(a, flag_facts(zoned, world.flags)).join(d_min, on="idx", how="left")

    params = packs.params
    hours_from = pl.coalesce(*[pl.col(f"{r}.local_hours_from") for r in sorted(set(HOURS_RULES.values())) if f"{r}.local_hours_from" in params.columns])
    hours_until = pl.coalesce(*[pl.col(f"{r}.local_hours_until") for r in sorted(set(HOURS_RULES.values())) if f"{r}.local_hours_until" in params.columns])
    hours_apply = pl.lit(False)
    for pack_key, rule_id in HOURS_RULES.items():
        meta = packs.rule_meta(rule_id)
        if meta is not None and rule_id in packs.packs[pack_key].rule_ids:
            hours_apply = hours_apply | ((pl.col("pack_key") == pack_key) & pl.col("rule_channel").is_in(list(meta[0])))
    a = (
        a.join(params, on="pack_key", how="left")
        .with_columns(hours_from.alias("hours_from"), hours_until.alias("hours_until"), hours_apply.alias("hours_apply"),
                      pl.lit(packs.collector_role).alias("collector_role"))
        .join(packs.min_balances, on=["pack_key", "currency"], how="left")
        .join(_template_frame(templates), on=["template_id", "language"], how="left")
    )
    zoned = zoned.join(a.select("idx", "optout_on", "hours_apply", "hours_from", "hours_until", "pref_from", "pref_until"),
                       on="idx", how="left")
    a = a.join(windows(zoned), on="idx", how="left").with_columns(
        _hhmm(pl.col("hours_from")).alias("hours_from_text"), _hhmm(pl.col("hours_until")).alias("hours_until_text"),
        _hhmm(pl.col("pref_from")).alias("pref_from_text"), _hhmm(pl.col("pref_until")).alias("pref_until_text"),
    )

    hist = history_facts(zoned, history_events(world.contacts))
    # "Days since" facts and refusals come from the history alone; only the counts grow with the batch.
    a = a.join(combine(hist, None, zoned).drop(COUNTS), on="idx", how="left")
    checks = tuple(c for c in CHECKS if c.rule not in skip)
    static = [c for c in checks if not c.cap]
    caps = [c for c in checks if c.cap]
    a = a.with_columns(_blocks(static, packs))
    static_ok = ~pl.any_horizontal(pl.col(f"b:{c.rule}") for c in static) if static else pl.lit(True)

    a = a.with_columns(static_ok.alias("static_ok"))
    decided = _decide_caps(a, zoned, hist, caps, packs, batch)
    return _assemble(a.join(decided, on="idx", how="left"), checks)


def _columns(exprs: list[pl.Expr]) -> list[str]:
    return sorted({name for e in exprs for name in e.meta.root_names()})


def _decide_caps(a: pl.DataFrame, zoned: pl.DataFrame, hist: pl.DataFrame, caps: list[Check], packs: Packs,
                 batch: bool) -> pl.DataFrame:
    """The cap rules, in rounds: round k decides every borrower's k-th action of the batch, with the
    counts of its history plus its earlier actions that were allowed. Each action is decided once,
    after every action it depends on; the result is the one-by-one decision in batch order.

    Returns, per action, the ``b:RULE`` columns of the caps and ``allow``."""
    blocks = _blocks(caps, packs)
    needed = [c for c in _columns(blocks) if c in a.columns and c not in COUNTS]
    narrow = a.select(sorted({"idx", "seq", "borrower_id", "static_ok", *needed}))
    if batch:
        narrow = narrow.with_columns((pl.col("seq") - pl.col("seq").min().over("borrower_id")).alias("_pos"))
        planned = planned_events(a)
    else:
        narrow = narrow.with_columns(pl.lit(0, pl.UInt32).alias("_pos"))
        planned = None
    rounds = int(narrow["_pos"].max() or 0) + 1 if narrow.height else 0
    parts: list[pl.DataFrame] = []
    allowed_seq: list[pl.Series] = []
    for k in range(rounds):
        cur = narrow.filter(pl.col("_pos") == k)
        ids = cur.select("idx")
        z = zoned.join(ids, on="idx", how="semi")
        extra = None
        if planned is not None and k > 0 and allowed_seq:
            earlier = planned.join(pl.DataFrame({"j": pl.concat(allowed_seq)}), on="j", how="semi")
            extra = batch_counts(batch_pairs(z, earlier))
        facts = combine(hist, extra, z).select("idx", *COUNTS)
        cur = (
            cur.join(facts, on="idx", how="left")
            .with_columns(pl.col(c).fill_null(0) for c in COUNTS)
            .with_columns(blocks)
            .with_columns((pl.col("static_ok") & ~pl.any_horizontal(pl.lit(False), *[pl.col(f"b:{c.rule}") for c in caps])).alias("allow"))
        )
        allowed_seq.append(cur.filter("allow")["seq"].rename("j"))
        parts.append(cur.select("idx", *COUNTS, *[f"b:{c.rule}" for c in caps], "allow"))
    if not parts:
        return pl.DataFrame(schema={"idx": pl.UInt32, **{c: pl.Int64 for c in COUNTS},
                                    **{f"b:{c.rule}": pl.Boolean for c in caps}, "allow": pl.Boolean})
    return pl.concat(parts)


@lru_cache(maxsize=8)
def _assembly(rules: tuple[str, ...]) -> tuple[pl.Expr, ...]:
    checks = [c for c in CHECKS if c.rule in rules]
    # Only the hours can be moved out of the way: a window is offered when the hours rules are the
    # only thing that blocks, and none when anything else blocks.
    hours_ids = ("US-TIME", "CN-HOURS", "GB-CONTACT")
    other = pl.any_horizontal(pl.lit(False), *[pl.col(f"b:{c.rule}") for c in checks if c.rule not in hours_ids]) | (
        pl.col("b:GB-CONTACT") & (at_work | borrower_text_to_third))
    window = pl.col("win_start").is_not_null() & (pl.col("win_start") < pl.col("win_end"))
    offer = window & (pl.col("allow") | ~other)
    return (
        pl.when(pl.col("allow")).then(pl.lit("allow")).otherwise(pl.lit("block")).alias("decision"),
        pl.when(offer).then(pl.col("win_start")).alias("allowed_start"),
        pl.when(offer).then(pl.col("win_end")).alias("allowed_end"),
    )


def _explanations(decided: pl.DataFrame, checks: tuple[Check, ...]) -> pl.DataFrame:
    """Per blocked action, its ``rules`` ("A;B") and "RULE: why; RULE: why", in the checks' order. Each rule's text is built
    only for the rows it blocks: most actions are blocked by one or two rules, not forty."""
    parts = []
    used = _columns([c.why for c in checks])
    decided = decided.select("idx", *[f"b:{c.rule}" for c in checks], *[u for u in used if u in decided.columns])
    for order, c in enumerate(checks):
        hit = decided.filter(pl.col(f"b:{c.rule}"))
        if not hit.is_empty():
            parts.append(hit.select("idx", pl.lit(order).alias("_order"), pl.lit(c.rule).alias("_rule"),
                                    pl.format("{}: {}", pl.lit(c.rule), c.why.fill_null("blocked")).alias("_why")))
    if not parts:
        return pl.DataFrame(schema={"idx": pl.UInt32, "rules": pl.String, "explanation": pl.String})
    return (
        pl.concat(parts).sort("idx", "_order")
        .group_by("idx", maintain_order=True)
        .agg(pl.col("_rule").str.join(";").alias("rules"), pl.col("_why").str.join("; ").alias("explanation"))
    )


def _assemble(decided: pl.DataFrame, checks: tuple[Check, ...]) -> pl.DataFrame:
    out = decided.with_columns(_assembly(tuple(c.rule for c in checks)))
    keep = ["idx", *ACTIONS.names(), "decision", "allowed_start", "allowed_end"]
    return (
        out.select(keep).join(_explanations(out, checks), on="idx", how="left")
        .with_columns(pl.col("rules").fill_null(""), pl.col("explanation").fill_null(""))
        .sort("idx")
        .select(pl.col(c).cast(t) for c, t in DECISIONS.items())
    )


def check_one(action: dict, world: World, packs: Packs, templates: TemplateSet | None = None) -> dict:
    """The decision for one action: the batch engine on a one-row frame."""
    return evaluate(actions_frame([action]), world, packs, templates).row(0, named=True)
