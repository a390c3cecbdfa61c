"""Charts for the dashboard, built from the query frames: the store x day heatmap as a
shaded grid (pandas Styler for `st.dataframe`), the takings waterfall in plotly.

Pure functions, no Streamlit, no queries. Money becomes float only here, for the shade
and the chart; the exact Decimal sums stay in the frames (and their downloads).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import pandas as pd  # type: ignore[import-untyped]  # for the Styler st.dataframe shows
import plotly.graph_objects as go
import polars as pl

from recon.app.money import money, store_label

__all__ = ["Mode", "heatmap_grid", "rank_stores", "waterfall_chart"]

CLEAN_COLOUR = "#cfe8d5"  # a store-day with POS orders and no exception
HOT = (183, 28, 28)  # the darkest red: the store-day with the most drift shown
COOL = (253, 224, 220)  # the palest red: a store-day with the least drift above nothing

Mode = Literal["count", "money"]


def _value(mode: Mode) -> pl.Expr:
    return pl.col("count") if mode == "count" else pl.col("money_at_stake").cast(pl.Float64)


def rank_stores(cells: pl.DataFrame, mode: Mode) -> list[str]:
    """Stores by drift over the cells, most first (count, or money at stake), ties by name."""
    totals = cells.group_by("store").agg(_value(mode).sum().alias("drift"))
    ranked = totals.with_columns(pl.col("store").str.len_chars().alias("len")).sort(
        ["drift", "len", "store"], descending=[True, False, False]
    )
    return ranked.get_column("store").to_list()


def _shade(share: float) -> str:
    r, g, b = (round(c + (h - c) * share) for c, h in zip(COOL, HOT, strict=True))
    ink = "white" if share > 0.55 else "black"
    return f"background-color: rgb({r},{g},{b}); color: {ink}"


def heatmap_grid(
    cells: pl.DataFrame, mode: Mode, stores: Sequence[str], names: Mapping[str, str] | None = None
) -> Any:
    """`stores` (rows, in that order) x business days (columns, ISO dates), as a pandas
    Styler for `st.dataframe`: a cheap canvas grid, fast to paint for thousands of cells.

    A cell shows (as text) the store-day's exception count or money at stake, shaded
    from pale to dark red by its share of the largest shown; a store-day with POS orders
    and no exception shows 0 in pale green; a store-day with neither is blank. A row is
    labelled with the store's name where `names` has one (`Name (id)`), else its id.
    """
    days = sorted(set(cells.get_column("business_day").to_list()))
    shown = cells.filter(pl.col("store").is_in(list(stores)))
    value = shown.with_columns(_value(mode).alias("v"), pl.col("business_day").cast(pl.String))
    grid = (
        value.pivot(on="business_day", index="store", values="v")
        .to_pandas()
        .set_index("store")
        .reindex(index=list(stores), columns=[d.isoformat() for d in days])
    )
    counts = (
        value.pivot(on="business_day", index="store", values="count")
        .to_pandas()
        .set_index("store")
        .reindex(index=grid.index, columns=grid.columns)
    )
    top = float(grid.where(counts > 0).max().max() or 0) or 1.0

    def one(v: float, n: float) -> str:
        if n != n:  # NaN: neither orders nor exceptions
            return ""
        if n == 0:
            return f"background-color: {CLEAN_COLOUR}"
        return _shade(max(0.0, min(1.0, v / top)) if v == v else 0.0)

    css = [
        [one(v, n) for v, n in zip(values, numbers, strict=True)]
        for values, numbers in zip(grid.to_numpy(), counts.to_numpy(), strict=True)
    ]
    shading = pd.DataFrame(css, index=grid.index, columns=grid.columns)
    fmt = "{:,.0f}" if mode == "count" else "{:,.2f}"
    text = grid.map(lambda v: "" if v != v else fmt.format(v))  # blank, not "None"
    labels = [store_label(s, dict(names or {})) for s in grid.index]
    text.index = shading.index = pd.Index(labels, name="store")
    return text.style.apply(lambda _: shading, axis=None)


def waterfall_chart(steps: pl.DataFrame, currency: str, labels: Sequence[str] = ()) -> Any:
    """The variance by cause, from `waterfall_steps`: each cause's share from 0, then the
    variance itself (ERP - POS). The POS and ERP totals are left out of the chart (the page
    shows them as figures) so the axis is scaled to the variance: a -121.60 gap stays
    visible beside 157k of takings. `labels`: the causes in words, in the steps' order."""
    causes = steps.filter(pl.col("measure") == "relative")
    amounts: list[Any] = causes.get_column("amount").to_list()
    total = sum(amounts, Decimal(0))
    names = list(labels) if labels else [s.replace("_", " ") for s in causes["step"]]
    fig = go.Figure(
        go.Waterfall(
            x=[*names, "Variance (ERP - POS)"],
            y=[float(a) for a in amounts] + [float(total)],
            measure=["relative"] * len(amounts) + ["total"],
            text=[money(a, None) for a in [*amounts, total]],
            textposition="outside",
            connector={"line": {"color": "#888"}},
            increasing={"marker": {"color": "#2e7d32"}},
            decreasing={"marker": {"color": "#c62828"}},
            totals={"marker": {"color": "#1f4e79"}},
        )
    )
    fig.update_layout(
        yaxis={"title": html.escape(currency)},  # plotly renders tags (<a href>) in titles
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        height=360,
        showlegend=False,
    )
    return fig
