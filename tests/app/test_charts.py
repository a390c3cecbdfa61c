from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from recon.app.charts import CLEAN_COLOUR, Mode, heatmap_grid, rank_stores, waterfall_chart

CELLS = pl.DataFrame(
    [
        # store day             orders count finance ops money            currency
        ("1", date(2024, 6, 1), 40, 3, 3, 0, Decimal("15.500"), "GBP"),
        ("12", date(2024, 6, 2), 30, 1, 0, 1, Decimal("0.000"), ""),
        ("7", date(2024, 6, 2), 20, 2, 2, 0, Decimal("44.250"), "GBP"),
        ("9", date(2024, 6, 1), 50, 0, 0, 0, Decimal("0.000"), ""),
    ],
    schema={
        "store": pl.String,
        "business_day": pl.Date,
        "orders": pl.Int64,
        "count": pl.Int64,
        "finance": pl.Int64,
        "ops": pl.Int64,
        "money_at_stake": pl.Decimal(38, 3),
        "currency": pl.String,
    },
    orient="row",
)


@pytest.mark.parametrize(
    ("mode", "ranked"),
    [
        ("count", ["1", "7", "12", "9"]),  # 3, 2, 1, 0 exceptions
        ("money", ["7", "1", "9", "12"]),  # 44.25, 15.50, then 0 and 0 by name: 9 before 12
    ],
)
def test_stores_ranked_by_drift(mode: Mode, ranked: list[str]) -> None:
    assert rank_stores(CELLS, mode) == ranked


@pytest.mark.parametrize(
    ("mode", "rows"),
    [
        #        2024-06-01  2024-06-02
        ("count", [["3", ""], ["", "2"], ["0", ""]]),
        ("money", [["15.50", ""], ["", "44.25"], ["0.00", ""]]),
    ],
)
def test_heatmap_grid_shows_the_stores_asked_for_by_day(mode: Mode, rows: list[list[str]]) -> None:
    styler = heatmap_grid(CELLS, mode, ["1", "7", "9"])  # store 12 on another page
    assert list(styler.data.index) == ["1", "7", "9"]
    assert list(styler.data.columns) == ["2024-06-01", "2024-06-02"]
    assert styler.data.values.tolist() == rows


def test_heatmap_grid_shades_drift_red_and_clean_days_green() -> None:
    styler = heatmap_grid(CELLS, "count", ["1", "7", "9"])
    css = {cell: dict(props) for cell, props in styler._compute().ctx.items()}
    assert css[(0, 0)] == {"background-color": "rgb(183,28,28)", "color": "white"}  # 3: most
    assert css[(1, 1)]["color"] == "white"  # 2 of 3
    assert css[(2, 0)] == {"background-color": CLEAN_COLOUR}  # orders, no exception
    assert (0, 1) not in css  # neither orders nor exceptions: blank


def test_waterfall_axis_shows_a_vendor_currency_as_text() -> None:
    steps = pl.DataFrame(
        {"step": ["POS takings", "ERP takings"], "amount": [Decimal("10"), Decimal("10")],
         "measure": ["absolute", "total"]}
    )  # fmt: skip
    fig = waterfall_chart(steps, '<a href="http://evil/">GBP</a>')
    assert fig.layout.yaxis.title.text == "&lt;a href=&quot;http://evil/&quot;&gt;GBP&lt;/a&gt;"


def test_waterfall_is_scaled_to_the_variance_not_the_takings() -> None:
    steps = pl.DataFrame(
        [
            # step                           measure     amount
            ("POS takings", "absolute", Decimal("157000.00")),
            ("explained_by_missing_in_erp", "relative", Decimal("-121.60")),
            ("unexplained", "relative", Decimal("0.05")),
            ("ERP takings", "absolute", Decimal("156878.45")),
        ],
        schema={"step": pl.String, "measure": pl.String, "amount": pl.Decimal(18, 2)},
        orient="row",
    )
    bars = waterfall_chart(steps, "GBP", ["Sales missing in the ERP", "Unexplained"]).data[0]
    assert list(bars.x) == ["Sales missing in the ERP", "Unexplained", "Variance (ERP - POS)"]
    assert list(bars.y) == [-121.6, 0.05, -121.55]  # no 157k bar to dwarf them
    assert list(bars.measure) == ["relative", "relative", "total"]
    assert list(bars.text) == ["-121.60", "0.05", "-121.55"]


def test_heatmap_rows_show_store_names_where_sitoo_named_them() -> None:
    styler = heatmap_grid(CELLS, "money", ["1", "7"], {"7": "Leeds Briggate"})
    assert list(styler.data.index) == ["1", "Leeds Briggate (7)"]
    assert styler.data.values.tolist() == [["15.50", ""], ["", "44.25"]]  # two decimals
