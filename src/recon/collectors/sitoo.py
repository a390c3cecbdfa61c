"""Sitoo collector: orders (lines, payments), stock and the catalogue into the warehouse.

Orders are read by ascending `orderid` from a watermark (reference gotcha 1: `orderdate`
is the register's clock and offline registers upload late). An order that is not settled
(open, unpaid) may still change, so the watermark never passes the oldest unsettled order
younger than `UNSETTLED_HORIZON`. The watermark moves per batch, in the batch's transaction,
so an outage mid-run resumes where the last good batch ended.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from recon.clients import Fetched
from recon.clients.sitoo import (
    SitooClient,
    SitooOrder,
    SitooProduct,
    SitooWarehouseItem,
)
from recon.collectors._landing import Landed, Pass, Rows, chunks, get_watermark, land, set_watermark
from recon.config.mappings import Mappings
from recon.pos.rules import (
    UNSETTLED_HORIZON,
    StoreDirectory,
    is_refund,
    line_values,
    order_state,
    original_order_id,
    product_lines,
    store_directory,
)
from recon.warehouse.db import table, upsert
from recon.warehouse.runs import RunLog

SOURCE = "sitoo"
BATCH = 500
log = logging.getLogger("recon.collect")


def order_rows(order: SitooOrder, stores: StoreDirectory, raw_id: int | None = None) -> Rows:
    """The canonical pos_orders / pos_order_lines / pos_payments rows of one Sitoo order."""
    order_id = str(order.orderid)
    store_id = stores.store_id(order.warehouseid)
    gross = order.moneytotal_gross_all
    if gross is None:
        gross = (order.moneyfinal_net or Decimal(0)) + (order.moneyfinal_vat or Decimal(0))
    vat = order.moneyfinal_vat if order.moneyfinal_vat is not None else order.moneytotal_vat
    head = {
        "order_id": order_id,
        "store_id": store_id,
        "business_day": stores.business_day(order, store_id),
        "created_at": order.orderdate or datetime.now(UTC),
        "order_type": "refund" if is_refund(order) else "sale",
        "state": order_state(order),
        "paid": order.paymentstateid == 20,
        "original_order_id": original_order_id(order),
        "gross_total": gross,
        "vat_total": vat or Decimal(0),
        "currency": order.currencycode or "",
        "raw_id": raw_id,
    }
    lines = [
        {"order_id": order_id, "line_no": no, "sku": item.sku or "", **line_values(item)}
        for no, item in enumerate(product_lines(order), start=1)
    ]
    payments = [
        {"order_id": order_id, "payment_no": no, "tender": p.name, "amount": p.moneyamount}
        for no, p in enumerate(order.payments, start=1)
    ]
    return {"pos_orders": [head], "pos_order_lines": lines, "pos_payments": payments}


def keep_store_names(engine: Engine, client: SitooClient) -> int:
    """Sitoo's stores (id and name) into `pos_stores`, for the dashboard to show names; a
    store renamed in Sitoo is renamed here, one Sitoo no longer lists keeps its last name.
    Returns how many stores Sitoo named."""
    rows = [
        {"store_id": str(f.item.storeid), "name": f.item.name}
        for f in client.list_stores()
        if f.item is not None and f.item.name
    ]
    with engine.begin() as conn:
        return upsert(conn, table("pos_stores"), rows)


def _next_watermark(
    orders: list[SitooOrder], current: int, pinned: int | None
) -> tuple[int, int | None]:
    """(highest id read + 1, oldest recent unsettled id) after a batch."""
    horizon = datetime.now(UTC) - UNSETTLED_HORIZON
    for o in orders:
        current = max(current, o.orderid + 1)
        unsettled = order_state(o) == "open" or (
            order_state(o) == "completed" and o.paymentstateid != 20
        )
        if unsettled and (o.orderdate is None or o.orderdate >= horizon):
            pinned = o.orderid if pinned is None else min(pinned, o.orderid)
    return current, pinned


def collect_orders(
    engine: Engine, client: SitooClient, stores: StoreDirectory, run: RunLog, *, full: bool = False
) -> Landed:
    mark = None if full else get_watermark(engine, SOURCE, "orders")
    start = int(mark) if mark else None
    high, pinned = start or 0, None
    replace = {"pos_order_lines": "order_id", "pos_payments": "order_id"}
    with Pass(SOURCE, "orders") as p:
        for batch in p.read(chunks(client.iter_orders(orderid_from=start), BATCH)):
            orders = [f.item for f in batch if f.item is not None]
            high, pinned = _next_watermark(orders, high, pinned)
            with engine.begin() as conn:
                landed, problems = land(
                    conn,
                    SOURCE,
                    "orders",
                    batch,
                    lambda o, rid: order_rows(o, stores, rid),
                    replace,
                )
                set_watermark(
                    conn, SOURCE, "orders", str(high if pinned is None else min(high, pinned))
                )
            p.record(batch, landed)
            for problem in problems + stores.take_notes():
                run.problem(problem)
    return p.total


def stock_rows(item: SitooWarehouseItem, store_id: str, raw_id: int) -> Rows:
    return {
        "pos_stock": [
            {
                "location": store_id,
                "sku": item.sku,
                "quantity": item.decimaltotal or Decimal(0),
                "as_of": item.datelastmodified or datetime.now(UTC),
                "raw_id": raw_id,
            }
        ]
    }


def product_rows(product: SitooProduct, raw_id: int) -> Rows:
    return {
        "pos_items": [
            {
                "sku": product.sku,
                "price_gross": product.moneyprice or Decimal(0),
                "vat_rate": product.vatvalue or Decimal(0),
                "active": bool(product.activepos) if product.activepos is not None else True,
                "raw_id": raw_id,
            }
        ]
    }


def collect_catalogue_and_stock(
    engine: Engine, client: SitooClient, stores: StoreDirectory, run: RunLog
) -> dict[str, Landed]:
    out: dict[str, Landed] = {"products": Landed(), "stock": Landed()}
    with Pass(SOURCE, "products") as p:
        for batch in p.read(chunks(client.iter_products(), BATCH)):
            with engine.begin() as conn:
                landed, problems = land(conn, SOURCE, "products", batch, product_rows)
            p.record(batch, landed)
            for problem in problems:
                run.problem(problem)
    out["products"] = p.total
    with Pass(SOURCE, "warehouseitems") as p:
        for warehouseid, store_id in stores.store_of_warehouse.items():

            def build(item: SitooWarehouseItem, raw_id: int, store: str = store_id) -> Rows:
                return stock_rows(item, store, raw_id)

            for stock in p.read(chunks(client.iter_warehouse_items(warehouseid), BATCH)):
                keyed = [_rekey(f, warehouseid) for f in stock]
                with engine.begin() as conn:
                    landed, problems = land(conn, SOURCE, "warehouseitems", keyed, build)
                p.record(keyed, landed)
                for problem in problems:
                    run.problem(problem)
    out["stock"] = p.total
    return out


def _rekey(fetched: Fetched[SitooWarehouseItem], warehouseid: int) -> Fetched[SitooWarehouseItem]:
    """Warehouse items are keyed by warehouse and SKU (one SKU lives in many warehouses)."""
    return replace(fetched, key=f"{warehouseid}:{fetched.key}")


def collect_sitoo(
    engine: Engine,
    client: SitooClient,
    mappings: Mappings,
    default_tz: str,
    run: RunLog,
    *,
    full: bool = False,
) -> None:
    stores = store_directory(client, mappings, default_tz)
    run.counts["sitoo_stores"] += keep_store_names(engine, client)
    orders = collect_orders(engine, client, stores, run, full=full)
    run.counts["sitoo_orders_new"] += orders.new
    run.counts["sitoo_orders_changed"] += orders.changed
    run.counts["sitoo_orders_unchanged"] += orders.unchanged
    run.counts["quarantined"] += orders.quarantined
    for name, landed in collect_catalogue_and_stock(engine, client, stores, run).items():
        run.counts[f"sitoo_{name}_new"] += landed.new
        run.counts[f"sitoo_{name}_changed"] += landed.changed
        run.counts["quarantined"] += landed.quarantined
