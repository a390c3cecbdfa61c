"""Sage 200's side of the pushes to the POS: its available-to-sell stock per location and
SKU (`recon.sync.stock` sends it to Sitoo), and its master prices made gross
(`recon.sync.prices`). Reads only; it must not post, decide mappings or touch the warehouse.
"""

from __future__ import annotations

from decimal import Decimal

from recon.config.mappings import Mappings
from recon.erp.sage200.client import Sage200Client
from recon.sync._fetched import fitting
from recon.sync.prices import STANDARD_BAND, ErpPrices, add_price
from recon.sync.stock import SKIP, Levels
from recon.warehouse.runs import RunLog

__all__ = ["sage200_levels", "sage200_prices"]


def sage200_levels(sage: Sage200Client, run: RunLog) -> Levels:
    """Sage 200: a warehouse holding's `free_stock_available_less_reserved` per warehouse
    `name` and SKU (product `code`)."""
    codes: dict[int, str] = {}
    for product in sage.iter_products():
        if product.item is not None and product.item.code:
            codes[product.item.id] = product.item.code
    names = {
        w.item.id: w.item.name or str(w.item.id)
        for w in sage.iter_warehouses()
        if w.item is not None
    }
    levels: Levels = {}
    for h in fitting(sage.iter_warehouse_holdings(), run, "sage200 warehouse holding", SKIP):
        sku = codes.get(h.product_id)
        if sku is None:
            run.problem(
                f"sage200 warehouse holding {h.id}: product {h.product_id} has no code; not pushed"
            )
            continue
        free = h.free_stock_available_less_reserved
        if free is None:
            run.problem(
                f"sage200 warehouse holding {h.id} ({sku}): no free_stock_available_less_reserved;"
                " not pushed"
            )
            continue
        location = h.warehouse_name or names.get(h.warehouse_id, str(h.warehouse_id))
        levels.setdefault(location, {})[sku] = free
    return levels


def sage200_prices(sage: Sage200Client, mappings: Mappings, run: RunLog) -> ErpPrices:
    """Sage 200: the Standard price band (net) made gross with the product's tax code rate,
    per product `code`; and the products left out with why."""
    del mappings  # Sage names its master price band itself
    rates = {t.id: t.tax_rate for t in fitting(sage.iter_tax_codes(), run, "sage200 tax code")}
    net: dict[int, Decimal] = {}
    for p in fitting(sage.iter_product_prices(), run, "sage200 product price", "not pushed"):
        band = p.price_band_name or STANDARD_BAND
        if band == STANDARD_BAND and p.product_price_price is not None:
            net[p.product_id] = p.product_price_price
    prices: dict[str, Decimal] = {}
    skipped: list[str] = []
    for product in fitting(sage.iter_products(), run, "sage200 product", "price not pushed"):
        if not product.code:
            skipped.append(f"sage200 product {product.id}: has no code; price not pushed")
            continue
        rate = rates.get(product.tax_code_id) if product.tax_code_id is not None else None
        price = (net.get(product.id), f"{STANDARD_BAND} price", rate, product.tax_code_id)
        add_price(prices, skipped, "Sage", product.code, *price)
    return prices, skipped
