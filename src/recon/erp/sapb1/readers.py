"""SAP B1's side of the pushes to the POS: its available-to-sell stock per location and
SKU (`recon.sync.stock` sends it to Sitoo), and its master prices made gross
(`recon.sync.prices`). Reads only; it must not post, decide mappings or touch the warehouse.
"""

from __future__ import annotations

from decimal import Decimal

from recon.config.mappings import Mappings
from recon.erp.sapb1.client import SapB1Client
from recon.sync._fetched import fitting
from recon.sync.prices import ErpPrices, add_price
from recon.sync.stock import SKIP, Levels
from recon.warehouse.runs import RunLog

__all__ = ["sapb1_levels", "sapb1_prices"]


def sapb1_levels(client: SapB1Client, run: RunLog) -> Levels:
    """SAP B1: each item's `ItemWarehouseInfoCollection`, `InStock - Committed` per
    `WarehouseCode` and `ItemCode`."""
    levels: Levels = {}
    for item in fitting(client.iter_items(), run, "sapb1 item", SKIP):
        for info in item.ItemWarehouseInfoCollection:
            levels.setdefault(info.WarehouseCode, {})[item.ItemCode] = info.available
    return levels


def sapb1_prices(client: SapB1Client, mappings: Mappings, run: RunLog) -> ErpPrices:
    """SAP B1: an item's price in `[settings] price_list` (default 1, net) made gross with the
    rate of its `SalesVATGroup`, per `ItemCode`; and the items left out with why."""
    price_list = mappings.options.price_list
    rates = {g.Code: g.rate() for g in fitting(client.iter_vat_groups(), run, "sapb1 VAT group")}
    prices: dict[str, Decimal] = {}
    skipped: list[str] = []
    for item in fitting(client.iter_items(), run, "sapb1 item", "price not pushed"):
        code = item.SalesVATGroup or item.ArTaxCode
        price = (item.price(price_list), f"price in list {price_list}", rates.get(code or ""), code)
        add_price(prices, skipped, "SAP B1", item.ItemCode, *price)
    return prices, skipped
