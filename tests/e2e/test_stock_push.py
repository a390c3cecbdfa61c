"""`recon stock push` against NetSuite and SAP B1 as the jobs run it: each ERP's available to
sell (NetSuite `AggregateItemLocation.quantityavailable`, SAP B1 `InStock - Committed` of
the item's `ItemWarehouseInfoCollection` row) reaches the mapped store's Sitoo warehouse,
and a second push sends nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from recon.jobs import stock_push_job, sync_job
from recon.warehouse.db import open_warehouse
from recon.warehouse.mappings import load_mappings
from tests.e2e.harness import World, world

STORE, WAREHOUSE = "1", 101  # scenario: Sitoo store N has warehouse 100 + N


def set_erp_stock(w: World, erp: str, sku: str, on_hand: str, committed: str) -> None:
    location = load_mappings(open_warehouse(w.settings.warehouse_url).engine).stores[STORE].location
    if erp == "netsuite":
        items = w.erp_state.table("inventoryItem").values()
        item_id = next(i["id"] for i in items if i["itemId"] == sku)
        w.erp_state.set_stock(item_id, location, Decimal(on_hand), Decimal(committed))
    else:
        w.erp_state.set_stock(sku, location, Decimal(on_hand), Decimal(committed))


@pytest.mark.parametrize(
    ("erp", "pushed"),
    [
        ("netsuite", 1),
        # B1 has no level for the planted stock variance's SKU at store 1 (never sold there),
        # so the push leaves it alone, as it does for NetSuite
        ("sapb1", 1),
    ],
)
def test_the_erps_available_stock_reaches_the_pos_once(
    erp: str, pushed: int, tmp_path: Path
) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path, erp=erp) as w:
        synced = sync_job(w.settings, stock=False)
        assert synced.problems == []
        held = w.scenario.sitoo.warehouse_items[WAREHOUSE]
        sku = sorted(held)[0]
        #                       on hand  committed      Sitoo before -> after
        set_erp_stock(w, erp, sku, "40", "3")
        assert held[sku]["decimaltotal"] != "37.000"

        first, skipped = stock_push_job(w.settings)
        second, _ = stock_push_job(w.settings)

        assert held[sku]["decimaltotal"] == "37.000"  # 40 on hand - 3 committed
        levels = first.counts["skus_pushed"] + first.counts["skus_unchanged"]
        #            pushed                        problems         skipped
        assert (first.counts["skus_pushed"], first.problems, skipped) == (pushed, [], [])
        assert (second.counts["skus_pushed"], second.counts["skus_unchanged"]) == (0, levels)
