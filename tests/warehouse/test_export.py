"""Export on both backends: awkward text survives exactly, windows and separators included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

import snapshot
from warehouse import export
from warehouse.db import table, upsert
from warehouse.export import export_snapshot

T0 = datetime(2024, 6, 1, 9, 30, 0, 123456, tzinfo=UTC)


def order(order_id: str, original: str | None, paid: bool, gross: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "store_id": "1",
        "business_day": date(2024, 6, 1),
        "created_at": T0,
        "order_type": "sale",
        "state": "completed",
        "paid": paid,
        "original_order_id": original,
        "gross_total": Decimal(gross),
        "vat_total": Decimal("0"),
        "currency": "GBP",
    }


#  order_id               original_order_id  paid   gross
ORDERS = [
    ("plain", None, True, "25"),
    ('quote " and, comma', "", False, "-0.10"),  # empty text is not NULL
    ("new\nline", "Åsa ✓", True, "12345678901234.99"),
    ("unit\x1fseparator", "record\x1eseparator", True, "1"),  # its window goes row by row
]


@pytest.mark.parametrize("window", [1, 2, 1000])
def test_export_keeps_every_value_exactly(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(export, "WINDOW", window)
    with warehouse.begin() as conn:
        upsert(conn, table("pos_orders"), [order(*row) for row in ORDERS])
    counts = export_snapshot(warehouse, tmp_path / "snap")
    got = snapshot.read_snapshot(tmp_path / "snap")["pos_orders"].collect()
    rows = sorted(
        zip(got["order_id"], got["original_order_id"], got["paid"], got["gross_total"], strict=True)
    )
    assert rows == sorted((o, orig, paid, Decimal(g)) for o, orig, paid, g in ORDERS)
    assert got["created_at"].unique().to_list() == [T0]
    assert counts["pos_orders"] == 4 and counts["pos_order_lines"] == 0
