"""NetSuite's side of the pushes to the POS: its available-to-sell stock per location and
SKU (`recon.sync.stock` sends it to Sitoo), and its master prices made gross
(`recon.sync.prices`). Reads only; it must not post, decide mappings or touch the warehouse.
"""

from __future__ import annotations

from decimal import Decimal

from recon.config.mappings import Mappings
from recon.erp.netsuite.client import NetSuiteClient
from recon.sync._fetched import fitting
from recon.sync.prices import ErpPrices, add_price
from recon.sync.stock import SKIP, Levels
from recon.warehouse.runs import RunLog

__all__ = ["netsuite_levels", "netsuite_prices"]


def netsuite_levels(client: NetSuiteClient, run: RunLog) -> Levels:
    """NetSuite: `AggregateItemLocation` available quantity per location internal id and SKU
    (`item.itemid`)."""
    levels: Levels = {}
    for row in fitting(client.iter_stock(), run, "netsuite stock row", SKIP):
        if not row.itemid:
            run.problem(f"netsuite item {row.item}: has no itemId (SKU); stock not pushed")
            continue
        levels.setdefault(row.location, {})[row.itemid] = row.available
    return levels


def netsuite_prices(client: NetSuiteClient, mappings: Mappings, run: RunLog) -> ErpPrices:
    """NetSuite: an inventory item's `basePrice` (net) made gross with the rate of its
    `salesTaxCode`, per `itemId`; and the items left out with why."""
    del mappings
    rates = {t.id: t.rate for t in fitting(client.iter_tax_codes(), run, "netsuite tax code")}
    prices: dict[str, Decimal] = {}
    skipped: list[str] = []
    items = fitting(client.iter_inventory_items(), run, "netsuite item", "price not pushed")
    for item in items:
        if not item.itemId:
            skipped.append(f"netsuite item {item.id}: has no itemId; price not pushed")
            continue
        code = item.salesTaxCode.id if item.salesTaxCode else None
        price = (item.basePrice, "basePrice", rates.get(code or ""), code)
        add_price(prices, skipped, "NetSuite", item.itemId, *price)
    return prices, skipped
