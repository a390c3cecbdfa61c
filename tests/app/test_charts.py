from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from app.charts import Mode, store_day_heatmap

DRIFT = pl.DataFrame(
    [
        # store day             count finance ops money            currency
        ("1", date(2024, 6, 1), 3, 3, 0, Decimal("15.500"), "GBP"),
        ("12", date(2024, 6, 2), 1, 0, 1, Decimal("0.000"), ""),
        ("7", date(2024, 6, 2), 2, 2, 0, Decimal("4.250"), "GBP"),
    ],
    schema={
        "store": pl.String,
        "business_day": pl.Date,
        "count": pl.Int64,
        "finance": pl.Int64,
        "ops": pl.Int64,
        "money_at_stake": pl.Decimal(38, 3),
        "currency": pl.String,
    },
    orient="row",
)


@pytest.mark.parametrize(
    ("mode", "z"),
    [
        #        06-01  06-02      stores in natural order: 1, 7, 12
        ("count", [[3.0, None], [None, 2.0], [None, 1.0]]),
        ("money", [[15.5, None], [None, 4.25], [None, 0.0]]),
    ],
)
def test_heatmap_grid(mode: Mode, z: list[list[float | None]]) -> None:
    fig = store_day_heatmap(DRIFT, mode)
    heat = fig.data[0]
    assert list(heat.x) == ["2024-06-01", "2024-06-02"]
    assert list(heat.y) == ["1", "7", "12"]
    assert [list(row) for row in heat.z] == z


def test_every_cell_is_clickable_with_its_store_and_day() -> None:
    cells = next(t for t in store_day_heatmap(DRIFT, "count").data if t.type == "scatter")
    assert sorted(tuple(c) for c in cells.customdata) == [
        ("1", "2024-06-01"),
        ("12", "2024-06-02"),
        ("7", "2024-06-02"),
    ]
