"""Plotly figures for the dashboard, built from the query frames.

Pure functions, no Streamlit, no queries. Money reaches plotly as floats only here, at
the chart call; the exact Decimal sums stay in the frames and in the hover text.
"""

from __future__ import annotations

from typing import Any, Literal

import plotly.graph_objects as go
import polars as pl

__all__ = ["Mode", "store_day_heatmap"]

Mode = Literal["count", "money"]


def store_day_heatmap(drift: pl.DataFrame, mode: Mode) -> Any:
    """Stores (rows) x business days (columns), coloured by count or money at stake.

    A transparent marker sits on every cell carrying `customdata = [store, day]`, so a
    click selects the cell (plotly heatmaps themselves are not selectable).
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
            if cell is None:
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
    fig = go.Figure(
        go.Heatmap(
            x=days,
            y=stores,
            z=z,
            text=text,
            hovertemplate="store %{y}, %{x}<br>%{text}<extra></extra>",
            colorscale="Reds",
            colorbar={"title": "count" if mode == "count" else "money"},
            xgap=2,
            ygap=2,
        )
    )
    xs = [day for store in stores for day in days if (store, day) in cells]
    ys = [store for store in stores for day in days if (store, day) in cells]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker={"size": 28, "symbol": "square", "color": "rgba(0,0,0,0)"},
            customdata=[[y, x] for x, y in zip(xs, ys, strict=True)],
            hoverinfo="none",
            showlegend=False,
        )
    )
    fig.update_layout(
        xaxis={"type": "category", "title": "business day"},
        yaxis={"type": "category", "title": "store", "autorange": "reversed"},
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        height=max(220, 40 * len(stores) + 120),
        clickmode="event+select",
    )
    return fig
