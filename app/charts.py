"""Plotly figures for the dashboard, built from the query frames.

Pure functions, no Streamlit, no queries. Money reaches plotly as floats only here, at
the chart call; the exact Decimal sums stay in the frames and in the hover text.
"""

from __future__ import annotations

from typing import Any, Literal

import plotly.graph_objects as go
import polars as pl

__all__ = ["Mode", "store_day_heatmap", "waterfall_chart"]

CLEAN_COLOUR = "#cfe8d5"  # a store-day with POS orders and no exception
MAX_TARGETS = 1500
GAP_CELLS = 2000  # beyond this many cells, no gaps: plotly then draws one image, fast

Mode = Literal["count", "money"]


def store_day_heatmap(drift: pl.DataFrame, mode: Mode) -> Any:
    """Stores (rows) x business days (columns), coloured by count or money at stake.

    A transparent marker sits on every cell carrying `customdata = [store, day]`, so a
    click selects the cell (plotly heatmaps themselves are not selectable). Cells with a
    count of 0 (POS orders, no exception: `heatmap_cells`) are drawn pale green by a
    third trace, so a clean day is visibly clean rather than blank.
    """
    days = sorted({d.isoformat() for d in drift.get_column("business_day").to_list()})
    stores = sorted(set(drift.get_column("store").to_list()), key=lambda s: (len(s), s))
    cells = {(r["store"], r["business_day"].isoformat()): r for r in drift.iter_rows(named=True)}
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for store in stores:
        z_row: list[float | None] = []
        t_row: list[str] = []
        for day in days:
            cell = cells.get((store, day))
            if cell is None or cell["count"] == 0:
                z_row.append(None)
                t_row.append("")
                continue
            money = cell["money_at_stake"]
            z_row.append(float(cell["count"]) if mode == "count" else float(money))
            t_row.append(
                f"{cell['count']} exceptions ({cell['finance']} finance, {cell['ops']} ops)"
                f"<br>money at stake {money:,.2f} {cell['currency']}".rstrip()
            )
        z.append(z_row)
        text.append(t_row)
    row = 40 if len(stores) <= 20 else 16
    gap = 2 if len(stores) * len(days) <= GAP_CELLS else 0
    fig = go.Figure(
        go.Heatmap(
            x=days,
            y=stores,
            z=z,
            text=text,
            hovertemplate="store %{y}, %{x}<br>%{text}<extra></extra>",
            colorscale="Reds",
            colorbar={"title": "count" if mode == "count" else "money"},
            xgap=gap,
            ygap=gap,
        )
    )
    clean = [[1 if cells.get((s, d), {}).get("count") == 0 else None for d in days] for s in stores]
    orders = [[(cells.get((s, d)) or {}).get("orders", 0) for d in days] for s in stores]
    fig.add_trace(
        go.Heatmap(
            x=days,
            y=stores,
            z=clean,
            customdata=orders,
            colorscale=[[0, CLEAN_COLOUR], [1, CLEAN_COLOUR]],
            showscale=False,
            hovertemplate="store %{y}, %{x}<br>clean: %{customdata} POS orders, "
            "no exceptions<extra></extra>",
            xgap=gap,
            ygap=gap,
        )
    )
    # Click targets: cells with exceptions, up to MAX_TARGETS (SVG markers are slow to draw;
    # past that, the store / day boxes under the chart drill down instead).
    targets = [
        (store, day)
        for store in stores
        for day in days
        if (store, day) in cells and cells[(store, day)]["count"] > 0
    ]
    if len(targets) > MAX_TARGETS:
        targets = []
    xs = [day for _, day in targets]
    ys = [store for store, _ in targets]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker={"size": row - 12, "symbol": "square", "color": "rgba(0,0,0,0)"},
            customdata=[[y, x] for x, y in zip(xs, ys, strict=True)],
            hoverinfo="none",
            showlegend=False,
        )
    )
    fig.update_layout(
        xaxis={"type": "category", "title": "business day"},
        yaxis={"type": "category", "title": "store", "autorange": "reversed"},
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        height=max(220, row * len(stores) + 120),
        clickmode="event+select",
    )
    return fig


def waterfall_chart(steps: pl.DataFrame, currency: str) -> Any:
    """POS takings -> each cause of the variance -> ERP takings, from `waterfall_steps`."""
    amounts = [float(a) for a in steps.get_column("amount").to_list()]
    fig = go.Figure(
        go.Waterfall(
            x=[s.replace("_", " ") for s in steps.get_column("step").to_list()],
            y=amounts,
            measure=steps.get_column("measure").to_list(),
            text=[f"{a:,.2f}" for a in steps.get_column("amount").to_list()],
            textposition="outside",
            connector={"line": {"color": "#888"}},
            increasing={"marker": {"color": "#2e7d32"}},
            decreasing={"marker": {"color": "#c62828"}},
            totals={"marker": {"color": "#1f4e79"}},
        )
    )
    fig.update_layout(
        yaxis={"title": currency},
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        height=360,
        showlegend=False,
    )
    return fig
