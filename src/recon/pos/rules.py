"""The Sitoo posting rules: which store and business day a POS order belongs to, whether it is
a refund (and of which sale), whether it may post (its state), and its product lines' values.

The one place these are decided: the sync (what posts, and how) and the Sitoo collector (the
canonical rows the engine compares) both import them, so the two sides never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recon.clients.sitoo import SitooClient, SitooOrder, SitooOrderItem
from recon.config.mappings import Mappings

__all__ = [
    "NOT_A_SALE_TYPES",
    "UNSETTLED_HORIZON",
    "StoreDirectory",
    "is_postable",
    "is_refund",
    "known_zone",
    "line_values",
    "looks_like_refund",
    "may_post",
    "order_state",
    "original_order_id",
    "product_lines",
    "store_directory",
]

UNSETTLED_HORIZON = timedelta(days=7)  # an unsettled order younger than this may still change
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


def store_directory(client: SitooClient, mappings: Mappings, default_tz: str) -> StoreDirectory:
    warehouses = {
        f.item.warehouseid: str(f.item.storeid)
        for f in client.list_warehouses()
        if f.item is not None and f.item.storeid is not None
    }
    zones = {s: m.timezone for s, m in mappings.stores.items() if m.timezone}
    return StoreDirectory(warehouses, zones, default_tz)


def may_post(raw: dict[str, Any]) -> bool:
    """Whether an order that did not validate may be one to post: its state fields do not
    say otherwise (closed, paid, not a booking or parked order), or are unreadable."""

    def number(name: str) -> int | None:
        value = raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    state, paid, kind = number("orderstateid"), number("paymentstateid"), number("ordertypeid")
    return state in (None, 10) and paid in (None, 20) and kind not in NOT_A_SALE_TYPES


def looks_like_refund(raw: dict[str, Any]) -> bool:
    data = raw.get("additionaldata")
    original = data.get("pos-originalsales-orderid") if isinstance(data, dict) else None
    return bool(raw.get("creditorderid") or original or _negative(raw.get("moneytotal_gross_all")))


def _negative(value: object) -> bool:
    """Below zero as `is_refund` reads a total (`-0.00` is not); unreadable text by its sign."""
    if not isinstance(value, str | int | Decimal):
        return False
    text = str(value).strip()
    try:
        return Decimal(text) < 0
    except InvalidOperation:
        return text.startswith("-")
