"""Charts of a simulation: collected over time, the bucket mix over time, roll rates and contact
cost, as one self-contained HTML file (Plotly's JavaScript inlined once: it opens offline)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from arrears.money import exponent
from arrears.sim.report import BUCKETS, _cat, _contact_costs, _minor
from arrears.sim.run import Days


def _daily_collected(seen: Days) -> go.Figure:
    fig = go.Figure()
    payments = _cat(seen.payments)
    if not payments.is_empty():
        p = _minor(payments).group_by("day", "currency").agg(pl.col("minor").sum()).sort("day")
        for (cur,), part in p.partition_by("currency", as_dict=True, maintain_order=True).items():
            scale = 10 ** exponent(str(cur))
            fig.add_scatter(x=part["day"].to_list(), y=[m / scale for m in part["minor"].cum_sum().to_list()],
                            name=f"collected ({cur})", mode="lines")
    fig.update_layout(title="Collected, cumulative", xaxis_title="day", yaxis_title="amount")
    return fig


def _bucket_mix(seen: Days) -> go.Figure:
    fig = go.Figure()
    arrears = _cat(seen.arrears)
    if not arrears.is_empty():
        counts = arrears.group_by("day", "bucket").len().sort("day")
        for b in BUCKETS:
            part = counts.filter(pl.col("bucket") == b)
            if part.height:
                fig.add_scatter(x=part["day"].to_list(), y=part["len"].to_list(), name=b, stackgroup="one", mode="lines")
    fig.update_layout(title="Loans in arrears by bucket", xaxis_title="day", yaxis_title="loans")
    return fig


def _rolls(rates: dict[str, float]) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(rates), y=list(rates.values())))
    fig.update_layout(title="Roll rates over 30 days", yaxis_tickformat=".0%")
    return fig


def _cost(seen: Days) -> go.Figure:
    fig = go.Figure()
    contacts = _cat(seen.contacts)
    if not contacts.is_empty():
        borrowers = seen.start["borrowers"].select("borrower_id", "jurisdiction")
        loans = seen.start["loans"].select("loan_id", "borrower_id", "currency")
        per_day = pl.concat([
            _contact_costs(part, borrowers, loans).with_columns(pl.lit(day[0]).alias("day"))
            for day, part in sorted(contacts.partition_by("day", as_dict=True).items())
        ]).sort("day")
        for (cur,), part in per_day.partition_by("currency", as_dict=True, maintain_order=True).items():
            scale = 10 ** exponent(str(cur))
            fig.add_bar(x=part["day"].to_list(), y=[m / scale for m in part["minor"].to_list()], name=f"contact cost ({cur})")
    fig.update_layout(title="Contact cost per day", xaxis_title="day", yaxis_title="amount")
    return fig


def write_charts(seen: Days, report: dict, out: Path) -> Path:
    figures = [_daily_collected(seen), _bucket_mix(seen), _rolls(report.get("roll_rates", {})), _cost(seen)]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figures)]
    out.parent.mkdir(parents=True, exist_ok=True)
    html = ("<!doctype html><html><head><meta charset='utf-8'><title>Arrears simulation</title></head><body>"
            f"<h1>Simulation: {report['strategy']}, {report['days']} days from {report['start']}</h1>"
            + "".join(parts) + "</body></html>")
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
