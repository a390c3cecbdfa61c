"""Price push, ERP -> POS: set each Sitoo product's price to the ERP master price, gross.

The ERP is master for prices (DOMAIN "Who owns what"); the ERPs store them net, Sitoo shows
them gross. Each ERP supplies its master prices made gross with the item's tax rate, half up
to the cent (`recon.collectors.money.gross_price`), through `recon.erp.registry`: Sage 200 the
"Standard" price band and the product's tax code; NetSuite an inventory item's `basePrice`
and its `salesTaxCode`; SAP B1 the item's price in `[settings] price_list` (default 1) and
its `SalesVATGroup`. Sitoo's products are read first; only the SKUs whose `moneyprice` (the
"Default" price list) differs are sent, by `productid` in Sitoo's batch update, in SKU
order, and every element of Sitoo's answer is checked: a refused SKU is a problem of the
run, the others land. Setting a price is idempotent, so a killed run is simply run again.

Not pushed, each with a one-line reason in the plan's `skipped`: an ERP item Sitoo has no
product for (by SKU), one with no master price, or whose tax code or rate is unknown (a net
price is never sent as gross), and a SKU Sitoo holds more than once. Such a line is not a
problem of the run: an ERP item not sold in the stores is normal. Sitoo products without an
ERP item are left alone (the engine reports them as `unknown_sku`). Only `moneyprice` is
written: Sitoo price lists other than "Default", VAT groups and product activation are not
touched. It must not post sales, read the warehouse DB or decide mappings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from recon.clients import TerminalError
from recon.clients.sitoo import BATCH_MAX, SitooClient, SitooProduct
from recon.collectors.money import gross_price
from recon.sync._fetched import fitting
from recon.warehouse.runs import RunLog

__all__ = [
    "STANDARD_BAND",
    "ErpPrices",
    "PriceChange",
    "PricePlan",
    "add_price",
    "gross_price",
    "plan_prices",
    "push_prices",
]

log = logging.getLogger("recon.sync.prices")

CENT = Decimal("0.01")
STANDARD_BAND = "Standard"
ErpPrices = tuple[dict[str, Decimal], list[str]]  # gross price per SKU, lines left out with why


@dataclass(frozen=True)
class PriceChange:
    """One Sitoo product whose price differs from the ERP's (`pos_price` None: it has none)."""

    sku: str
    productid: int
    pos_price: Decimal | None
    erp_price: Decimal


@dataclass
class PricePlan:
    """What is sent, and why some Sage prices go nowhere (one line each)."""

    changes: list[PriceChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unchanged: int = 0


def add_price(
    prices: dict[str, Decimal],
    skipped: list[str],
    erp: str,
    sku: str,
    net: Decimal | None,
    price_name: str,
    rate: Decimal | None,
    tax_code: object,
) -> None:
    """Add `sku`'s gross price, or the line saying why it has none (never net as gross)."""
    if net is None:
        skipped.append(f"sku {sku}: no {price_name} in {erp}; not pushed")
    elif rate is None:
        skipped.append(
            f"sku {sku}: {erp} tax code {tax_code} unknown or without a rate, so its gross "
            "price is unknown; not pushed"
        )
    else:
        prices[sku] = gross_price(net, rate)


def plan_prices(erp: dict[str, Decimal], products: list[SitooProduct]) -> PricePlan:
    """Compare ERP gross prices with Sitoo's `moneyprice`, SKU by SKU."""
    by_sku: dict[str, list[SitooProduct]] = {}
    for product in products:
        by_sku.setdefault(product.sku, []).append(product)
    plan = PricePlan()
    for sku in sorted(erp):
        held = by_sku.get(sku, [])
        if not held:
            plan.skipped.append(f"sku {sku}: Sitoo has no product with this SKU; not pushed")
            continue
        if len(held) > 1:
            ids = ", ".join(str(p.productid) for p in held)
            plan.skipped.append(
                f"sku {sku}: Sitoo holds {len(held)} products with this SKU ({ids}); not pushed"
            )
            continue
        product = held[0]
        if product.moneyprice == erp[sku]:
            plan.unchanged += 1
            continue
        if product.productid is None:
            plan.skipped.append(f"sku {sku}: the Sitoo product has no productid; not pushed")
            continue
        plan.changes.append(PriceChange(sku, product.productid, product.moneyprice, erp[sku]))
    return plan


def push_prices(erp_prices: ErpPrices, sitoo: SitooClient, run: RunLog) -> PricePlan:
    """Push the ERP's master prices (an ERP's `*_prices`) to Sitoo; counts and problems go
    to `run`.

    Returns the plan: `changes` as sent, `skipped` lines saying which SKUs were left alone
    and why. Bad credentials or an unreachable vendor stop the run; a batch Sitoo refuses
    as a whole is a problem naming its SKUs.
    """
    erp, skipped = erp_prices
    products = list(fitting(sitoo.iter_products(), run, "sitoo product", "price not compared"))
    plan = plan_prices(erp, products)
    plan.skipped[:0] = skipped
    for line in plan.skipped:
        log.warning("price_push skipped: %s", line)
    run.counts["prices_skipped"] += len(plan.skipped)
    run.counts["prices_unchanged"] += plan.unchanged
    for begin in range(0, len(plan.changes), BATCH_MAX):
        _send(sitoo, plan.changes[begin : begin + BATCH_MAX], run)
    return plan


def _send(sitoo: SitooClient, changes: list[PriceChange], run: RunLog) -> None:
    """One batch update; every element of the answer is checked."""
    try:
        results = sitoo.put_product_prices([(c.productid, c.sku, c.erp_price) for c in changes])
    except TerminalError as exc:
        run.counts["prices_failed"] += len(changes)
        skus = ", ".join(c.sku for c in changes)
        run.problem(f"sitoo refused the price update of {skus}: {exc}")
        return
    for change, result in zip(changes, results, strict=True):
        if result.ok:
            run.counts["prices_pushed"] += 1
            log.info(
                "price_push sku=%s productid=%s from=%s to=%s",
                change.sku,
                change.productid,
                change.pos_price,
                change.erp_price,
            )
            continue
        run.counts["prices_failed"] += 1
        run.problem(
            f"sku {change.sku} (Sitoo product {change.productid}): Sitoo refused the price "
            f"{change.erp_price} (status {result.statuscode})"
        )
