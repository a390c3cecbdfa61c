"""Sitoo collector: orders (lines, payments), stock and the catalogue into the warehouse.

Orders are read by ascending `orderid` from a watermark (reference gotcha 1: `orderdate`
is the register's clock and offline registers upload late). An order that is not settled
(open, unpaid) may still change, so the watermark never passes the oldest unsettled order
younger than `UNSETTLED_HORIZON`. The watermark moves per batch, in the batch's transaction,
so an outage mid-run resumes where the last good batch ended.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from recon.clients import Fetched
from recon.clients.sitoo import (
    SitooClient,
    SitooOrder,
    SitooOrderItem,
    SitooProduct,
    SitooWarehouseItem,
)
from recon.collectors._landing import Landed, Pass, Rows, chunks, get_watermark, land, set_watermark
from recon.config.mappings import Mappings
from recon.warehouse.db import table, upsert
from recon.warehouse.runs import RunLog

SOURCE = "sitoo"
BATCH = 500
UNSETTLED_HORIZON = timedelta(days=7)
CENT = Decimal("0.01")
PRODUCT_LINE_TYPES = (None, 10)
NOT_A_SALE_TYPES = (100, 110)  # booking, parked
log = logging.getLogger("recon.collect")


@lru_cache(maxsize=256)
def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, or None when it names none (`Mars/Olympus_Mons`, a path)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class StoreDirectory:
    """Which store a Sitoo warehouse belongs to, and each store's time zone.

    A sale's day is taken in the zone its register sent (`pos-timezone`); when that names
    no known zone, in the store's zone from the mappings, else the default: the fallback
    is logged as a warning and kept in `notes` (the collect reports them as problems)."""

    store_of_warehouse: Mapping[int, str]
    timezone_of_store: Mapping[str, str]
    default_timezone: str
    notes: list[str] = field(default_factory=list, compare=False)

    def store_id(self, warehouseid: int | None) -> str:
        if warehouseid is None:
            return "unknown"
        return self.store_of_warehouse.get(warehouseid, f"warehouse-{warehouseid}")

    def zone(self, order: SitooOrder, store_id: str, *, note: bool = True) -> ZoneInfo:
        """The zone of the sale's business day (a fallback is noted when `note`)."""
        fallback = self.timezone_of_store.get(store_id) or self.default_timezone
        sent = order.pos_timezone
        zone = known_zone(sent) if sent else None
        if sent and zone is None and note:
            text = (
                f"sitoo order {order.orderid}: additionaldata.pos-timezone {sent!r} is not a"
                f" known time zone; its business day is taken in {fallback} (store {store_id})"
            )
            log.warning(text)
            self.notes.append(text)
        return zone or known_zone(fallback) or ZoneInfo("UTC")

    def business_day(self, order: SitooOrder, store_id: str) -> date:
        when = order.orderdate or datetime.now(UTC)
        return when.astimezone(self.zone(order, store_id)).date()

    def take_notes(self) -> list[str]:
        """The fallback notes since the last call."""
        taken = self.notes[:]
        del self.notes[: len(taken)]
        return taken


def order_state(order: SitooOrder) -> str:
    if order.ordertypeid in NOT_A_SALE_TYPES:
        return "open"
    return {10: "completed", 20: "cancelled", -1: "cancelled"}.get(order.orderstateid or 0, "open")


def original_order_id(order: SitooOrder) -> str | None:
    if order.creditorderid is not None:
        return str(order.creditorderid)
    return order.originalsales_orderid or None


def is_refund(order: SitooOrder) -> bool:
    gross = order.moneytotal_gross_all
    return original_order_id(order) is not None or (gross is not None and gross < 0)


def is_postable(order: SitooOrder) -> bool:
    """Completed and paid: the only orders that may reach the ERP (DOMAIN "Posting sales")."""
    return order_state(order) == "completed" and order.paymentstateid == 20


def product_lines(order: SitooOrder) -> list[SitooOrderItem]:
    return [i for i in order.orderitems if i.orderitemtype in PRODUCT_LINE_TYPES]


def line_values(item: SitooOrderItem) -> dict[str, Decimal]:
    """Quantity, gross list price, gross discount, gross and VAT of a line (refunds negative)."""
    qty = (
        item.decimalquantitytotal
        if item.decimalquantitytotal is not None
        else Decimal(item.quantity)
    )
    net = item.moneyitemtotal_net or Decimal(0)
    vat = item.moneyitemtotal_vat or Decimal(0)
    gross = net + vat
    rate = item.vatvalue or Decimal(0)
    sign = Decimal(-1) if qty < 0 else Decimal(1)
    if item.rowdiscount is not None:
        discount = abs(item.rowdiscount) * sign
    elif not item.moneydiscount:
        discount = Decimal(0)
    else:
        discount = (abs(item.moneydiscount * qty) * (1 + rate / 100)).quantize(CENT) * sign
    unit = ((gross + discount) / qty).quantize(CENT) if qty else Decimal(0)
    return {
        "quantity": qty,
        "unit_price_gross": abs(unit),
        "line_discount": discount,
        "line_gross": gross,
        "line_vat": vat,
        "vat_rate": rate,
    }


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


def store_directory(client: SitooClient, mappings: Mappings, default_tz: str) -> StoreDirectory:
    warehouses = {
        f.item.warehouseid: str(f.item.storeid)
        for f in client.list_warehouses()
        if f.item is not None and f.item.storeid is not None
    }
    zones = {s: m.timezone for s, m in mappings.stores.items() if m.timezone}
    return StoreDirectory(warehouses, zones, default_tz)


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
