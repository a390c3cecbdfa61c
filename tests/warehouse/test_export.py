"""Export on both backends: awkward text survives exactly, windows and separators included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from recon import snapshot
from recon.warehouse import export
from recon.warehouse.db import table, upsert
from recon.warehouse.export import export_snapshot

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


def test_export_writes_the_settings_and_the_quarantined_pos_orders(
    warehouse: Engine, tmp_path: Path
) -> None:
    from recon.config.mappings import parse_mappings
    from recon.warehouse.db import pack
    from recon.warehouse.mappings import import_mappings

    settings = {"posting_mode": "per_order", "posting_mode.7": "daily_journal"}
    import_mappings(warehouse, parse_mappings({"settings": settings}), actor="test")
    sale = {"orderid": 5120, "orderdate": 1717196400, "warehouseid": 3,  # 2024-06-01 00:00 BST
            "additionaldata": {"pos-timezone": "Europe/London"}}  # fmt: skip
    #        source   entity     id      reason           payload
    quarantined = [
        ("sitoo", "orders", "5120", "orderitems[0].sku: missing", pack(sale)[0]),
        ("sitoo", "orders", "5121", "orderdate: not a time", pack({"orderdate": "x"})[0]),
        ("sitoo", "orders", "5122", "not JSON", b"\x00garbage"),  # unreadable: day null
        ("sitoo", "products", "SKU-1", "price: not a number", pack({})[0]),  # not an order
        ("netsuite", "orders", "77", "bad", pack({})[0]),
    ]
    with warehouse.begin() as conn:
        conn.execute(
            table("quarantine").insert(),
            [dict(zip(("source", "entity", "vendor_id", "reason", "payload"), q, strict=True))
             | {"seen_at": T0} for q in quarantined],
        )  # fmt: skip
    counts = export_snapshot(warehouse, tmp_path / "snap")
    snap = snapshot.read_snapshot(tmp_path / "snap")
    assert sorted(snap["map_settings"].collect().rows()) == [
        ("guest_customer", "CASH01"),
        ("posting_mode", "per_order"),
        ("posting_mode.7", "daily_journal"),
    ]
    got = snap["pos_quarantine"].collect().sort("order_id").rows()
    assert got == [
        ("5120", None, date(2024, 6, 1), "orderitems[0].sku: missing"),
        ("5121", None, None, "orderdate: not a time"),
        ("5122", None, None, "not JSON"),
    ]
    assert counts["pos_quarantine"] == 3


def test_export_leaves_out_a_row_the_engine_could_not_read_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text

    from recon.warehouse.db import open_warehouse

    engine = open_warehouse(f"sqlite:///{tmp_path}/recon.db").engine  # SQLite keeps any text
    with engine.begin() as conn:
        upsert(conn, table("pos_orders"), [order(*row) for row in ORDERS[:2]])
        upsert(
            conn,
            table("pos_orders"),
            [order("bad", None, True, "1"), order("big", None, True, "1")],
        )
        conn.execute(text("UPDATE pos_orders SET gross_total = 'abc' WHERE order_id = 'bad'"))
        conn.execute(
            text("UPDATE pos_orders SET vat_total = '99999999999999999999' WHERE order_id = 'big'")
        )
        conn.execute(text("UPDATE pos_orders SET paid = 'yes' WHERE order_id = 'plain'"))
    with caplog.at_level("WARNING", logger="recon.warehouse.export"):
        counts = export_snapshot(engine, tmp_path / "snap")
    got = snapshot.read_snapshot(tmp_path / "snap")["pos_orders"].collect()
    #        the rows kept: the others each name their table, key and column once
    assert sorted(got["order_id"]) == ['quote " and, comma'] and counts["pos_orders"] == 1
    lines = sorted(r.getMessage() for r in caplog.records)
    assert len(lines) == 3
    assert lines[0].startswith("export: pos_orders order_id='bad': gross_total 'abc' ")
    assert lines[1].startswith("export: pos_orders order_id='big': vat_total '9999")
    assert lines[2].startswith("export: pos_orders order_id='plain': paid 'yes' ")
    engine.dispose()


def test_an_orphan_payment_with_no_location_reconciles_and_saves_as_unattributed(
    warehouse: Engine, tmp_path: Path
) -> None:
    from recon.config.mappings import parse_mappings
    from recon.reconcile import reconcile
    from recon.warehouse.mappings import import_mappings
    from recon.warehouse.models import Takings, WaterfallPart
    from recon.warehouse.takings import save_takings

    mappings = parse_mappings({"stores": {"1": "WH1"}, "tenders": {"Card": "1220"}})
    import_mappings(warehouse, mappings, actor="test")
    payment = {
        "journal_id": "PAY-1",
        "line_no": 1,
        "posting_date": date(2024, 6, 1),
        "location": None,
        "account": "1220",
        "tender": None,
        "amount": Decimal("4.00"),
        "currency": "GBP",
        "pos_ref": "999",
    }  # NetSuite: a payment names no location
    with warehouse.begin() as conn:
        upsert(conn, table("erp_journal_lines"), [payment])
    export_snapshot(warehouse, tmp_path / "snap")
    findings = reconcile(snapshot.read_snapshot(tmp_path / "snap"))
    save_takings(warehouse, findings.takings, findings.waterfall)
    with warehouse.connect() as conn:
        takings = conn.execute(select(Takings.store, Takings.account, Takings.erp_amount)).all()
        w = WaterfallPart
        parts = conn.execute(select(w.store, w.cause, w.amount)).all()
    #                  store  account  ERP money
    assert takings == [(None, "1220", Decimal("4.00"))]
    assert parts == [(None, "unexplained", Decimal("4.00"))]
