"""Seeded scenarios: Sitoo and Sage 200 states, a mappings file, and the expected exceptions.

`build_scenario(name, seed, end_day)` is deterministic for its arguments. Names: `small`
(2 mapped stores + one unmapped, 3 days), `demo` (6 mapped stores incl. Amsterdam + one
unmapped, 14 days), `clean` (like small, no planted drift, truth == []). Planted drift
(small and demo, each exactly once, together covering every CONTRACT exception kind) is
listed in docs/simulators.md. The money is built so that a correct sync yields exactly
`truth`: catalogue prices survive the gross -> net -> gross round trip, and every line's
VAT equals Sage's per-line recomputation (no penny drift) except on the one sale planted
for `vat_rounding`. This module must not do HTTP; it only fills states.

Over 600 lines, kept as one module because it holds one concern: building one seeded scenario
and its ground truth.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from recon.simulators._wire import round2
from recon.simulators.sage200 import TT_CREDIT_NOTE, Sage200Credentials, Sage200State
from recon.simulators.sitoo import (
    ORDERTYPE_PARKED,
    PAY_PENDING,
    STATE_CANCELLED,
    STATE_OPEN,
    SitooCredentials,
    SitooLine,
    SitooPayment,
    SitooState,
    build_order,
)

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "build_scenario"]

SCENARIOS = ("small", "demo", "clean")
TENDER_ACCOUNTS = {"Cash": "1210", "Card": "1220", "Gift Card": "1230"}
TAX_CODES = {Decimal("20"): (2101, 1), Decimal("5"): (2105, 5), Decimal("0"): (2100, 0)}
GUEST_ID = 1042
GHOST_SKU = "GHOST-1"
ORPHAN_DOC_NO = "990001"
# Planted only: a tender mapped to a Sage bank that is hidden, and a VAT rate (with its Sage
# tax code and the one product sold at it) that the mappings lack.
CLOSED_TENDER = ("Voucher", "1240")
UNMAPPED_RATE = Decimal("12.5")
UNMAPPED_TAX_CODE = (2112, 12)
HOT_SKU = "HOT-CHOC"
RMA_REF = "RMA-7001"
# Planted sales: tag -> index of the mapped store it happens in (None: the unmapped store).
_PLANTS: tuple[tuple[str, int | None], ...] = (
    ("a", 0),
    ("b", None),
    ("c", 1),
    ("d", 0),
    ("e", 1),
    ("g", 0),
    ("h", 0),
    ("i", 1),
    ("l", 1),
    ("m", 0),
    ("p", 1),
    ("q", 0),
)


class ScenarioError(ValueError):
    """An unknown scenario name or bad argument (one line)."""


@dataclass(frozen=True)
class StoreSpec:
    store_id: int
    name: str
    externalid: str
    location: str | None  # Sage warehouse name; None = not in the mappings
    timezone: str = "Europe/London"
    currency: str = "GBP"
    sage_warehouse_id: int = 0

    @property
    def warehouseid(self) -> int:
        return 100 + self.store_id


_STORES = {
    "small": [
        StoreSpec(1, "London Oxford St", "LON1", "WH-LON", sage_warehouse_id=3001),
        StoreSpec(2, "Manchester Arndale", "MAN1", "WH-MAN", sage_warehouse_id=3002),
        StoreSpec(9, "Brighton Pop-up", "BRI1", None),
    ],
    "demo": [
        StoreSpec(1, "London Oxford St", "LON1", "WH-LON", sage_warehouse_id=3001),
        StoreSpec(2, "Manchester Arndale", "MAN1", "WH-MAN", sage_warehouse_id=3002),
        StoreSpec(3, "Leeds Briggate", "LDS1", "WH-LDS", sage_warehouse_id=3003),
        StoreSpec(4, "Bristol Cabot", "BRS1", "WH-BRS", sage_warehouse_id=3004),
        StoreSpec(5, "Edinburgh Princes St", "EDI1", "WH-EDI", sage_warehouse_id=3005),
        StoreSpec(7, "Amsterdam Kalverstraat", "AMS1", "WH-AMS", "Europe/Amsterdam", "EUR", 3007),
        StoreSpec(9, "Brighton Pop-up", "BRI1", None),
    ],
    "clean": [
        StoreSpec(1, "London Oxford St", "LON1", "WH-LON", sage_warehouse_id=3001),
        StoreSpec(2, "Manchester Arndale", "MAN1", "WH-MAN", sage_warehouse_id=3002),
    ],
}
_SHAPE = {"small": (3, 10), "demo": (14, 25), "clean": (3, 10)}  # days, sales/day/store

# sku, name, VAT %, approximate gross price (nudged to a round-trip-safe price)
_CATALOGUE: list[tuple[str, str, str, str]] = [
    ("TEE-BLK-S", "Tee black S", "20", "25.00"),
    ("TEE-BLK-M", "Tee black M", "20", "25.00"),
    ("TEE-BLK-L", "Tee black L", "20", "25.00"),
    ("TEE-WHT-M", "Tee white M", "20", "22.00"),
    ("TEE-WHT-L", "Tee white L", "20", "22.00"),
    ("HOOD-GRY-M", "Hoodie grey M", "20", "59.00"),
    ("HOOD-GRY-L", "Hoodie grey L", "20", "59.00"),
    ("HOOD-NVY-M", "Hoodie navy M", "20", "64.00"),
    ("CAP-RED", "Cap red", "20", "18.50"),
    ("CAP-BLU", "Cap blue", "20", "18.50"),
    ("SOCK-3PK", "Socks 3-pack", "20", "12.00"),
    ("SOCK-WOOL", "Wool socks", "20", "14.40"),
    ("MUG-LOGO", "Logo mug", "20", "9.60"),
    ("BAG-TOTE", "Tote bag", "20", "15.00"),
    ("BAG-BACK", "Backpack", "20", "48.00"),
    ("SCARF-WL", "Wool scarf", "20", "36.00"),
    ("GLOVE-LTH", "Leather gloves", "20", "42.00"),
    ("BELT-BRN", "Belt brown", "20", "30.00"),
    ("UMB-COMP", "Compact umbrella", "20", "21.60"),
    ("BOTTLE-SS", "Steel bottle", "20", "19.20"),
    ("CANDLE-L", "Candle large", "20", "26.40"),
    ("PHONE-CSE", "Phone case", "20", "16.80"),
    ("JEAN-32", "Jeans 32", "20", "72.00"),
    ("JEAN-34", "Jeans 34", "20", "72.00"),
    ("SEAT-CHLD", "Child car seat", "5", "126.00"),
    ("BULB-LED", "LED bulb", "5", "8.40"),
    ("PAD-SANI", "Sanitary pads", "5", "3.15"),
    ("INSUL-KIT", "Draught kit", "5", "21.00"),
    ("BOOK-GUIDE", "City guide book", "0", "14.99"),
    ("BOOK-MAP", "Street map", "0", "6.99"),
    ("KID-TEE-4", "Kids tee 4y", "0", "9.00"),
    ("KID-TEE-6", "Kids tee 6y", "0", "9.00"),
    ("KID-HAT", "Kids hat", "0", "7.50"),
    ("KID-SHOE-9", "Kids shoes 9", "0", "32.00"),
    ("FOOD-TEA", "Loose tea", "0", "6.50"),
    ("FOOD-BISC", "Shortbread tin", "0", "8.00"),
    ("FOOD-JAM", "Jam jar", "0", "4.75"),
    ("FOOD-HONEY", "Honey jar", "0", "7.25"),
    ("MAG-MONTH", "Monthly magazine", "0", "5.99"),
    ("CARD-GIFT", "Greeting card", "20", "3.60"),
]
_RETIRED = ("TEE-RETRO", "Retro tee (retired)", "20", "20.00")


def _round_trip_safe(gross: Decimal, rate: Decimal) -> bool:
    net = round2(gross / (1 + rate / 100))
    return round2(net * (1 + rate / 100)) == gross


def _no_drift(row_gross: Decimal, rate: Decimal) -> bool:
    """Sage's per-line VAT on the POS net equals the POS line VAT."""
    vat = round2(row_gross * rate / (100 + rate))
    return round2((row_gross - vat) * rate / 100) == vat


@dataclass(frozen=True)
class _Item:
    productid: int
    sage_id: int
    sku: str
    name: str
    rate: Decimal
    gross: Decimal

    @property
    def net(self) -> Decimal:
        return round2(self.gross / (1 + self.rate / 100))


def _items() -> list[_Item]:
    out = []
    for i, (sku, name, rate_s, price_s) in enumerate([*_CATALOGUE, _RETIRED]):
        rate, gross = Decimal(rate_s), Decimal(price_s)
        while not (_round_trip_safe(gross, rate) and _no_drift(gross, rate)):
            gross += Decimal("0.01")
        out.append(_Item(1001 + i, 77001 + i, sku, name, rate, gross))
    return out


@dataclass
class _Sale:
    order: dict[str, Any]
    store: StoreSpec
    day: date
    lines: list[SitooLine]
    payments: list[SitooPayment]
    at: datetime
    eligible: bool = True
    planted: str | None = None
    refunded: bool = False

    @property
    def orderid(self) -> int:
        return int(self.order["orderid"])

    @property
    def gross(self) -> Decimal:
        return Decimal(self.order["moneytotal_gross_all"])


@dataclass
class Scenario:
    """A seeded world: both vendor states, the mappings file and the expected exceptions."""

    name: str
    seed: int
    end_day: date
    days: list[date]
    sitoo: SitooState
    sage200: Sage200State
    mappings_toml: str
    truth: list[dict[str, str | None]]
    sitoo_credentials: SitooCredentials = field(default_factory=SitooCredentials)
    sage200_credentials: Sage200Credentials = field(default_factory=Sage200Credentials)

    def ground_truth_json(self) -> str:
        return json.dumps(self.truth, indent=2, sort_keys=True)


def _truth(kind: str, cause: str, **fields: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "kind": kind,
        "cause": cause,
        "store": None,
        "business_day": None,
        "pos_ref": None,
        "erp_ref": None,
        "sku": None,
        "tender": None,
        "account": None,
        "pos_value": None,
        "erp_value": None,
        "currency": None,
    }
    row.update(fields)
    return row


class _Builder:
    def __init__(self, name: str, seed: int, end_day: date) -> None:
        self.name = name
        self.rng = random.Random(f"recon-scenario:{name}:{seed}:{end_day.isoformat()}")
        ndays, self.per_day = _SHAPE[name]
        self.days = [end_day - timedelta(days=k) for k in range(ndays - 1, -1, -1)]
        self.stores = _STORES[name]
        self.items = _items()
        self.sellable = [i for i in self.items if i.sku != _RETIRED[0]]
        self.ghost = _Item(1999, 0, GHOST_SKU, "Ghost product", Decimal("20"), Decimal("15.00"))
        self.hot = _Item(1998, 77998, HOT_SKU, "Hot chocolate", UNMAPPED_RATE, Decimal("3.60"))
        self.planted = name != "clean"
        self.tenders = dict(TENDER_ACCOUNTS)
        if self.planted:
            self.tenders[CLOSED_TENDER[0]] = CLOSED_TENDER[1]
        self.sitoo = SitooState()
        self.sage = Sage200State()
        self.sales: list[_Sale] = []
        self.held: list[_Sale] = []  # planted sales the sync holds, paid with a mapped tender
        self.planned_refunds: list[tuple[_Sale, datetime, str]] = []
        self.truth: list[dict[str, str | None]] = []
        # (Sitoo warehouse id, sku) of the planted stock variance: never sold there
        self.unstocked: tuple[int, str] | None = None
        self.master_time = datetime.combine(self.days[0], time(6), UTC) - timedelta(days=30)

    # -- money -------------------------------------------------------------------
    def _line(self, item: _Item, original: int | None = None) -> SitooLine:
        qty = 1 if self.rng.random() < 0.7 else self.rng.randint(2, 3)
        discount = Decimal("0.00")
        if self.rng.random() < 0.2:
            discount = round2(item.gross * qty * Decimal(self.rng.choice((5, 10, 15))) / 100)
        for q, d in ((qty, discount), (qty, Decimal("0.00")), (1, Decimal("0.00"))):
            row = round2(item.gross * q - d)
            if _no_drift(row, item.rate):
                qty, discount = q, d
                break
        return SitooLine(item.sku, item.name, qty, item.gross, item.rate, discount, item.productid)

    def _payments(self, gross: Decimal, tender: str | None = None) -> list[SitooPayment]:
        if tender is None and gross >= 20 and self.rng.random() < 0.15:
            rest = self.rng.choice(("Card", "Cash"))
            return [
                SitooPayment("Gift Card", Decimal("10.00"), "giftcard"),
                SitooPayment(rest, gross - Decimal("10.00"), "adyen" if rest == "Card" else None),
            ]
        if tender is None:
            tender = self.rng.choices(("Card", "Cash", "Gift Card"), (6, 3, 1))[0]
        reftype = {"Card": "adyen", "Gift Card": "giftcard", "Swish": "swish"}.get(tender)
        return [SitooPayment(tender, gross, reftype)]

    # -- orders ------------------------------------------------------------------
    def _local_time(self, store: StoreSpec, day: date) -> datetime:
        minute = self.rng.randint(9 * 60, 20 * 60 + 59)
        second = self.rng.randint(0, 59)
        local = datetime.combine(day, time(minute // 60, minute % 60, second))
        return local.replace(tzinfo=ZoneInfo(store.timezone)).astimezone(UTC)

    def _plan_day(self, day: date) -> list[tuple[datetime, StoreSpec, str]]:
        events: list[tuple[datetime, StoreSpec, str]] = []
        for store in self.stores:
            if store.location is None:
                continue
            count = max(1, self.per_day + self.rng.randint(-3, 3))
            events += [(self._local_time(store, day), store, "sale") for _ in range(count)]
            if self.rng.random() < 0.5:
                kind = self.rng.choice(("open", "cancelled", "unpaid", "parked"))
                events.append((self._local_time(store, day), store, kind))
        return events

    def _make(
        self,
        store: StoreSpec,
        at: datetime,
        kind: str = "sale",
        items: list[_Item] | None = None,
        tender: str | None = None,
        planted: str | None = None,
        lines: list[SitooLine] | None = None,
    ) -> _Sale:
        orderid = self.next_orderid
        self.next_orderid += 1
        if lines is None:
            stocked = [i for i in self.sellable if (store.warehouseid, i.sku) != self.unstocked]
            chosen = items or self.rng.sample(stocked, self.rng.randint(1, 4))
            lines = [self._line(item) for item in chosen]
            if planted:
                lines = [
                    SitooLine(i.sku, i.name, 1, i.gross, i.rate, Decimal("0.00"), i.productid)
                    for i in chosen
                ]
        gross = sum((ln.row_gross for ln in lines), Decimal("0.00"))
        payments = self._payments(gross, tender) if kind == "sale" else []
        state = {
            "sale": {},
            "open": {"orderstateid": STATE_OPEN, "paymentstateid": 0},
            "cancelled": {"orderstateid": STATE_CANCELLED, "paymentstateid": 30},
            "unpaid": {"paymentstateid": PAY_PENDING},
            "parked": {
                "ordertypeid": ORDERTYPE_PARKED,
                "orderstateid": STATE_OPEN,
                "paymentstateid": 0,
            },
        }[kind]
        order = build_order(
            orderid=orderid,
            eshopid=self.sitoo.eshopid,
            warehouseid=store.warehouseid,
            orderdate=at,
            currency=store.currency,
            lines=lines,
            payments=payments,
            timezone=store.timezone,
            store_externalid=store.externalid,
            store_name=store.name,
            registerid=f"{{REG-{store.externalid}-01}}",
            receiptid=f"{store.externalid}-{orderid:06d}",
            **state,
        )
        self.sitoo.add_order(order)
        day = at.astimezone(ZoneInfo(store.timezone)).date()
        sale = _Sale(order, store, day, lines, payments, at, kind == "sale", planted)
        self.sales.append(sale)
        return sale

    def _refund(self, original: _Sale, at: datetime) -> _Sale:
        orderid = self.next_orderid
        self.next_orderid += 1
        indexed = list(enumerate(original.lines))
        if len(indexed) > 1 and self.rng.random() < 0.5:
            indexed = self.rng.sample(indexed, self.rng.randint(1, len(indexed) - 1))
            indexed.sort()
        lines = [
            SitooLine(
                ln.sku,
                ln.name,
                -ln.quantity,
                ln.unit_price_gross,
                ln.vat_rate,
                -ln.row_discount_gross,
                ln.productid,
                original_orderitemid=i,
            )
            for i, ln in indexed
        ]
        gross = sum((ln.row_gross for ln in lines), Decimal("0.00"))
        first = original.payments[0]
        payments = [SitooPayment(first.name, gross, first.reftype)]
        store = original.store
        order = build_order(
            orderid=orderid,
            eshopid=self.sitoo.eshopid,
            warehouseid=store.warehouseid,
            orderdate=at,
            currency=store.currency,
            lines=lines,
            payments=payments,
            timezone=store.timezone,
            store_externalid=store.externalid,
            store_name=store.name,
            creditorderid=original.orderid,
            registerid=f"{{REG-{store.externalid}-01}}",
            receiptid=f"{store.externalid}-{orderid:06d}",
        )
        self.sitoo.add_order(order)
        original.refunded = True
        day = at.astimezone(ZoneInfo(store.timezone)).date()
        refund = _Sale(order, store, day, lines, payments, at, True, None, True)
        self.sales.append(refund)
        return refund

    def build(self) -> Scenario:
        self._master_data()
        self.next_orderid = 5001
        planted = self.planted
        mapped = [s for s in self.stores if s.location is not None]
        unmapped = next((s for s in self.stores if s.location is None), None)
        plants: dict[tuple[date, int], list[str]] = {}
        if planted:
            self._master_drift(mapped[0])
            # Not on the last day: a sale younger than the engine's grace period is pending.
            for tag, index in _PLANTS:
                store = unmapped if index is None else mapped[index]
                assert store is not None
                day = self.rng.choice(self.days[:-1])
                plants.setdefault((day, store.store_id), []).append(tag)
        for day in self.days:
            events = self._plan_day(day)
            for (pday, store_id), tags in sorted(plants.items()):
                if pday == day:
                    store = next(s for s in self.stores if s.store_id == store_id)
                    events += [(self._local_time(store, day), store, "plant-" + t) for t in tags]
            events.sort(key=lambda e: (e[0], e[1].store_id, e[2]))
            for at, store, kind in events:
                if kind.startswith("plant-"):
                    self._plant(kind.removeprefix("plant-"), store, at)
                else:
                    self._make(store, at, kind)
            self._refunds_for(day)
            self._planned_refunds_for(day)
        if planted:
            self._orphan_document()
            self._orphan_credit_note()
        self._tender_truth()
        self.sage.frozen_now = None
        self.truth.sort(key=lambda t: json.dumps(t, sort_keys=True))
        return Scenario(
            name=self.name,
            seed=0,
            end_day=self.days[-1],
            days=self.days,
            sitoo=self.sitoo,
            sage200=self.sage,
            mappings_toml=self._mappings(),
            truth=self.truth,
        )

    def _refunds_for(self, day: date) -> None:
        candidates = [
            s
            for s in self.sales
            if s.eligible
            and s.planted is None
            and not s.refunded
            and s.day == day
            and s.payments
            and Decimal(s.order["moneytotal_gross_all"]) > 0
        ]
        for sale in candidates:
            if self.rng.random() >= 0.08:
                continue
            later = sale.at + timedelta(hours=self.rng.randint(1, 60))
            local = later.astimezone(ZoneInfo(sale.store.timezone))
            if local.date() > self.days[-1] or not 9 <= local.hour < 21:
                continue
            self._refund(sale, later)

    # -- planted drift -------------------------------------------------------------
    def _plant(self, tag: str, store: StoreSpec, at: datetime) -> None:
        pick = self.rng.sample([i for i in self.sellable if i.rate == 20], 2)
        if tag == "a":
            sale = self._make(store, at, items=pick[:1], tender="Swish", planted="a")
            self.truth.append(self._missing(sale, "held_unmapped_tender"))
            self.truth.append(_truth("unmapped_tender", "tender_not_mapped", tender="Swish"))
            # j: paid back to Swish an hour later; held too, the tender is reported once.
            self.planned_refunds.append((sale, at + timedelta(hours=1), "j"))
        elif tag == "b":
            sale = self._make(store, at, items=pick, tender="Card", planted="b")
            self.held.append(sale)
            self.truth.append(self._missing(sale, "held_unmapped_location"))
            self.truth.append(
                _truth("unmapped_location", "store_not_mapped", store=str(store.store_id))
            )
        elif tag == "c":
            sale = self._make(store, at, items=[self.ghost], tender="Cash", planted="c")
            self.held.append(sale)
            self.truth.append(self._missing(sale, "held_unknown_sku"))
            self.truth.append(_truth("unknown_sku", "sku_not_in_erp", sku=GHOST_SKU))
        elif tag == "p":
            tender = self.rng.choice(("Card", "Cash"))
            sale = self._make(store, at, items=[self.hot], tender=tender, planted="p")
            self.held.append(sale)
            self.truth.append(self._missing(sale, "held_unmapped_tax_code"))
            rate = UNMAPPED_RATE.quantize(Decimal("0.01"))
            self.truth.append(
                _truth("unmapped_tax_code", "vat_rate_not_mapped", sku=HOT_SKU, pos_value=str(rate))
            )
        elif tag == "q":
            sale = self._make(store, at, items=pick[:1], tender=CLOSED_TENDER[0], planted="q")
            self.held.append(sale)
            self.truth.append(self._missing(sale, "held_closed_account"))
            self.truth.append(
                _truth(
                    "closed_account",
                    "account_closed",
                    account=CLOSED_TENDER[1],
                    tender=CLOSED_TENDER[0],
                )
            )
        else:
            self._plant_keyed(tag, store, at, pick)

    def _plant_keyed(self, tag: str, store: StoreSpec, at: datetime, pick: list[_Item]) -> None:
        """Sales that Sage already holds a hand-keyed SOP order for (the sync leaves it)."""
        tender = self.rng.choice(("Card", "Cash"))
        if tag == "d":
            sale = self._make(store, at, items=pick, tender=tender, planted="d")
            doc = self._hand_keyed(sale, at + timedelta(hours=2), bump=Decimal("5.00"))
            self._hand_receipts(sale, at + timedelta(hours=2, minutes=1))
            self.truth.append(
                self._keyed(
                    "amount_mismatch",
                    "amount_differs",
                    sale,
                    doc,
                    pos_value=str(sale.gross),
                    erp_value=str(doc["total_gross_value"]),
                )
            )
        elif tag == "e":
            sale = self._make(store, at, items=pick, tender=tender, planted="e")
            self._hand_keyed(sale, at + timedelta(hours=1))
            self._hand_receipts(sale, at + timedelta(hours=1, minutes=1))
            later = self._hand_keyed(sale, at + timedelta(hours=5))
            self.truth.append(self._keyed("duplicate_in_erp", "posted_twice", sale, later))
        elif tag == "g":  # keyed in the next morning, dated that day; the sync posts receipts
            sale = self._make(store, at, items=pick, tender=tender, planted="g")
            doc = self._hand_keyed(sale, at + timedelta(days=1), day=sale.day + timedelta(days=1))
            self.truth.append(self._keyed("day_mismatch", "posted_next_day", sale, doc))
        elif tag == "h":  # keyed at another store's warehouse
            other = next(s for s in self.stores if s.location and s != store)
            sale = self._make(store, at, items=pick, tender=tender, planted="h")
            doc = self._hand_keyed(
                sale, at + timedelta(hours=1), warehouse_id=other.sage_warehouse_id
            )
            self.truth.append(self._keyed("store_mismatch", "wrong_location", sale, doc))
        elif tag == "i":  # a parked basket keyed into Sage as if it were sold
            sale = self._make(store, at, "parked", items=pick, planted="i")
            doc = self._hand_keyed(sale, at + timedelta(hours=1))
            self.truth.append(self._keyed("incomplete_order_posted", "order_open", sale, doc))
        elif tag == "l":  # a discount whose line VAT Sage recomputes a penny off
            line = self.rng.choice(
                [
                    ln
                    for ln in self._drifting_lines()
                    if (store.warehouseid, ln.sku) != self.unstocked
                ]
            )
            sale = self._make(store, at, tender=tender, planted="l", lines=[line])
            doc = self._hand_keyed(sale, at + timedelta(hours=1))
            vat = sum((ln.row_vat for ln in sale.lines), Decimal("0.00"))
            erp_vat = Decimal(doc["total_tax_value"])
            self.truth.append(
                self._keyed(
                    "vat_rounding",
                    f"rounding_{abs(erp_vat - vat)}",
                    sale,
                    doc,
                    pos_value=str(vat),
                    erp_value=str(erp_vat),
                )
            )
        elif tag == "m":  # "2 for 1" rung up as 2 at half price, keyed as 1 at full price
            item = pick[0]
            two = SitooLine(
                item.sku, item.name, 2, item.gross, item.rate, item.gross, item.productid
            )
            sale = self._make(store, at, tender=tender, planted="m", lines=[two])
            doc = self._hand_keyed(sale, at + timedelta(hours=1), quantity=1)
            self.truth.append(
                self._keyed(
                    "line_mismatch",
                    "quantity_differs",
                    sale,
                    doc,
                    sku=item.sku,
                    pos_value="2.000",
                    erp_value="1.000",
                )
            )
        else:
            raise ScenarioError(f"unknown plant {tag!r}")

    def _drifting_lines(self) -> list[SitooLine]:
        """Discounted single lines whose POS VAT differs from Sage's per-line VAT by a penny."""
        out = []
        for item in self.sellable:
            for pct in (5, 10, 15, 20, 25, 30):
                discount = round2(item.gross * pct / 100)
                if item.rate and not _no_drift(item.gross - discount, item.rate):
                    out.append(
                        SitooLine(
                            item.sku, item.name, 1, item.gross, item.rate, discount, item.productid
                        )
                    )
        return out

    def _planned_refunds_for(self, day: date) -> None:
        for original, when, tag in [r for r in self.planned_refunds if r[0].day == day]:
            refund = self._refund(original, when)
            refund.planted = tag
            self.truth.append(
                self._missing(refund, "held_unmapped_tender", "refund_without_credit_note")
            )

    def _missing(
        self, sale: _Sale, cause: str, kind: str = "missing_in_erp"
    ) -> dict[str, str | None]:
        return _truth(
            kind,
            cause,
            store=str(sale.store.store_id),
            business_day=sale.day.isoformat(),
            pos_ref=str(sale.orderid),
            pos_value=str(sale.gross),
            currency=sale.store.currency,
        )

    def _keyed(
        self, kind: str, cause: str, sale: _Sale, doc: dict[str, Any], **fields: str | None
    ) -> dict[str, str | None]:
        """The truth row of a sale whose hand-keyed SOP order `doc` is wrong in one way."""
        return _truth(
            kind,
            cause,
            store=str(sale.store.store_id),
            business_day=sale.day.isoformat(),
            pos_ref=str(sale.orderid),
            erp_ref=doc["document_no"],
            currency=sale.store.currency,
            **fields,
        )

    def _sage_item(self, sku: str) -> _Item:
        return next(i for i in self.items if i.sku == sku)

    def _hand_keyed(
        self,
        sale: _Sale,
        when: datetime,
        bump: Decimal = Decimal(0),
        *,
        day: date | None = None,
        warehouse_id: int | None = None,
        quantity: int | None = None,
    ) -> dict[str, Any]:
        """A SOP order for `sale` as a person would key it (same lines unless told)."""
        self.sage.frozen_now = when
        lines = []
        for n, ln in enumerate(sale.lines):
            item = self._sage_item(ln.sku)
            qty = quantity or ln.quantity
            price = (ln.row_net / qty).quantize(Decimal("0.00001"))
            lines.append(
                {
                    "line_type": "EnumLineTypeStandard",
                    "product_id": item.sage_id,
                    "warehouse_id": warehouse_id or sale.store.sage_warehouse_id,
                    "line_quantity": Decimal(qty),
                    "selling_unit_price": price + (bump if n == 0 else 0),
                    "tax_code_id": TAX_CODES[item.rate][0],
                }
            )
        return self.sage.create_sop_order(
            {
                "customer_id": GUEST_ID,
                "customer_document_no": str(sale.orderid),
                "document_date": (day or sale.day).isoformat(),
                "lines": lines,
            }
        )

    def _hand_receipts(self, sale: _Sale, when: datetime) -> None:
        self.sage.frozen_now = when
        for pay in sale.payments:
            bank = next(b for b in self.sage.banks if b["code"] == self.tenders[pay.name])
            self.sage.post_sales_cash(
                {
                    "customer_id": GUEST_ID,
                    "bank_id": bank["id"],
                    "cheque_value": pay.amount,
                    "transaction_date": sale.day.isoformat(),
                    "reference": str(sale.orderid),
                    "second_reference": pay.name,
                },
                "TradingAccountEntryTypePurchasePaymentSalesReceipt",
            )

    def _orphan_document(self) -> None:
        store = self.stores[0]
        day = self.rng.choice(self.days)
        self.sage.frozen_now = datetime.combine(day, time(17, 30), UTC)
        item = self.rng.choice([i for i in self.sellable if i.rate == 20])
        doc = self.sage.create_sop_order(
            {
                "customer_id": GUEST_ID,
                "customer_document_no": ORPHAN_DOC_NO,
                "document_date": day.isoformat(),
                "lines": [
                    {
                        "line_type": "EnumLineTypeStandard",
                        "product_id": item.sage_id,
                        "warehouse_id": store.sage_warehouse_id,
                        "line_quantity": Decimal(1),
                        "selling_unit_price": item.net,
                        "tax_code_id": TAX_CODES[item.rate][0],
                    }
                ],
            }
        )
        self.truth.append(
            _truth(
                "missing_in_pos",
                "no_pos_order",
                store=str(store.store_id),
                business_day=day.isoformat(),
                erp_ref=doc["document_no"],
                erp_value=str(doc["total_gross_value"]),
                currency=store.currency,
            )
        )

    def _orphan_credit_note(self) -> None:
        """k: a return keyed in Sage's sales ledger against a POS sale the POS never refunded."""
        store = next(s for s in self.stores if s.location and s != self.stores[0])
        sale = self.rng.choice(
            [
                s
                for s in self.sales
                if s.store == store
                and s.eligible
                and s.planted is None
                and not s.refunded
                and s.gross > 0
            ]
        )
        day = min(sale.day + timedelta(days=1), self.days[-1])
        self.sage.frozen_now = datetime.combine(day, time(16, 10), UTC)
        goods: dict[int, Decimal] = {}
        taxes: dict[int, Decimal] = {}
        for ln in sale.lines:
            tax_id = TAX_CODES[ln.vat_rate][0]
            goods[tax_id] = goods.get(tax_id, Decimal("0.00")) + ln.row_net
            taxes[tax_id] = taxes.get(tax_id, Decimal("0.00")) + ln.row_vat
        net, vat = sum(goods.values(), Decimal("0.00")), sum(taxes.values(), Decimal("0.00"))
        urn = self.sage.post_sales_document(
            {
                "customer_id": GUEST_ID,
                "transaction_date": day.isoformat(),
                "reference": RMA_REF,
                "second_reference": str(sale.orderid),
                "document_goods_value": net,
                "document_tax_value": vat,
                "tax_analysis_items": [
                    {"id": t, "goods_amount": goods[t], "tax_amount": taxes[t]} for t in goods
                ],
                "nominal_analysis_items": [{"code": "4000", "value": net}],
            },
            TT_CREDIT_NOTE,
        )
        self.truth.append(
            _truth(
                "credit_note_without_refund",
                "no_pos_refund",
                store=str(store.store_id),
                business_day=day.isoformat(),
                erp_ref=str(urn),
                erp_value=str(-(net + vat)),
                currency=store.currency,
            )
        )

    def _tender_truth(self) -> None:
        """Tender variances that follow from the held sales paid with a mapped tender."""
        missing: dict[tuple[int, date, str], Decimal] = {}
        for held in self.held:
            for pay in held.payments:
                key = (held.store.store_id, held.day, pay.name)
                missing[key] = missing.get(key, Decimal("0.00")) + pay.amount
        for (store_id, day, tender), amount in sorted(missing.items()):
            store = next(s for s in self.stores if s.store_id == store_id)
            pos = sum(
                (
                    p.amount
                    for s in self.sales
                    if s.eligible and s.store == store and s.day == day
                    for p in s.payments
                    if p.name == tender
                ),
                Decimal("0.00"),
            )
            self.truth.append(
                _truth(
                    "tender_variance",
                    "explained_by_missing_in_erp",
                    store=str(store_id),
                    business_day=day.isoformat(),
                    tender=tender,
                    account=self.tenders[tender],
                    pos_value=str(pos),
                    erp_value=str(pos - amount),
                    currency=store.currency,
                )
            )

    # -- master data -------------------------------------------------------------------
    def _master_data(self) -> None:
        sage, sitoo = self.sage, self.sitoo
        sage.frozen_now = self.master_time
        creds = Sage200Credentials()
        sage.add_site(creds.site_id, int(creds.company_id))
        sage.add_customer(GUEST_ID, "CASH01", "Cash Sales (POS)", cash=True)
        sage.add_customer(1043, "ACME01", "Acme Corporate Ltd")
        for rate, (tid, code) in TAX_CODES.items():
            label = {20: "Standard rate", 5: "Reduced rate", 0: "Zero rated"}[int(rate)]
            sage.add_tax_code(tid, code, label, rate.quantize(Decimal("0.01")))
        if self.planted:
            tid, code = UNMAPPED_TAX_CODE
            sage.add_tax_code(
                tid, code, "Hospitality rate", UNMAPPED_RATE.quantize(Decimal("0.01"))
            )
        for nid, ref, name in (
            (5001, "1100", "Debtors Control"),
            (5002, "1210", "Cash in tills"),
            (5003, "1220", "Card receipts clearing"),
            (5004, "1230", "Gift card liability"),
            (5005, "2200", "Sales Tax Control Account"),
            (5006, "4000", "Sales - retail"),
            (5007, "4009", "Discounts allowed"),
        ):
            sage.add_nominal_code(nid, ref, name)
        for bid, (tender, bank_code) in enumerate(self.tenders.items(), start=4001):
            # The planted Voucher account was retired in Sage: bank and nominal hidden.
            retired = (tender, bank_code) == CLOSED_TENDER
            if retired:
                sage.add_nominal_code(5008, bank_code, "Voucher clearing", active=False)
            sage.add_bank(bid, bank_code, tender, active=not retired)
        stamp = int(self.master_time.timestamp())
        for store in self.stores:
            sitoo.add_store(
                store.store_id,
                store.name,
                store.externalid,
                "NL" if store.currency == "EUR" else "GB",
            )
            sitoo.add_warehouse(store.warehouseid, store.store_id, store.name, store.currency)
            if store.location is not None:
                sage.add_warehouse(store.sage_warehouse_id, store.location, store.name)
        for item in self.items:
            active = item.sku != _RETIRED[0]
            sage.add_product(item.sage_id, item.sku, item.name, TAX_CODES[item.rate][0], item.net)
            sitoo.add_product(
                item.productid, item.sku, item.name, item.gross, item.rate, active, stamp
            )
        if self.planted:
            ghost, hot = self.ghost, self.hot
            sitoo.add_product(
                ghost.productid, GHOST_SKU, ghost.name, ghost.gross, ghost.rate, True, stamp
            )
            sage.add_product(hot.sage_id, HOT_SKU, hot.name, UNMAPPED_TAX_CODE[0], hot.net)
            sitoo.add_product(hot.productid, HOT_SKU, hot.name, hot.gross, hot.rate, True, stamp)
        for store in self.stores:
            if store.location is None:
                continue
            for item in self.items:
                in_stock = Decimal(self.rng.randint(5, 80))
                allocated = Decimal(self.rng.choice((0, 0, 0, 1, 2, 3)))
                sage.add_holding(store.sage_warehouse_id, item.sage_id, in_stock, allocated)
                sitoo.set_stock(store.warehouseid, item.sku, in_stock - allocated, stamp)

    def _master_drift(self, store: StoreSpec) -> None:
        """n: a Sage price rise not yet pushed to the POS; o: POS stock Sage has no holding for."""
        item = self.rng.choice([i for i in self.sellable if i.rate == 20])
        factor = 1 + item.rate / 100
        gross = item.gross + Decimal("2.00")
        while round2(gross / factor) * factor != gross:  # exact, whatever the rounding mode
            gross += Decimal("0.01")
        view = next(v for v in self.sage.price_views if v["product_id"] == item.sage_id)
        view["product_price_price"] = round2(gross / factor)
        self.truth.append(
            _truth(
                "price_mismatch",
                "price_differs",
                sku=item.sku,
                pos_value=str(item.gross),
                erp_value=str(gross),
            )
        )
        # The SKU was never linked to the store's ERP warehouse: no holding there, while the
        # POS holds stock (the stock push leaves SKUs without an ERP level alone). It is
        # never sold or keyed there either (not 20% VAT: the planted documents and the orphan
        # are), so an ERP that moves stock with its documents (SAP B1) has no level for it
        # either, and its stock push cannot erase the variance.
        counted = self.rng.choice([i for i in self.sellable if i.rate != 20])
        self.unstocked = (store.warehouseid, counted.sku)
        holding = next(
            h
            for h in self.sage.holdings
            if h["warehouse_id"] == store.sage_warehouse_id and h["product_id"] == counted.sage_id
        )
        self.sage.holdings.remove(holding)
        pos = Decimal(self.sitoo.warehouse_items[store.warehouseid][counted.sku]["decimaltotal"])
        self.truth.append(
            _truth(
                "stock_variance",
                "quantity_differs",
                store=str(store.store_id),
                sku=counted.sku,
                pos_value=str(pos.quantize(Decimal("0.001"))),
                erp_value="0.000",
            )
        )

    def _mappings(self) -> str:
        out = ["[stores]            # Sitoo store id -> Sage 200 warehouse name"]
        for s in self.stores:
            if s.location is None:
                continue
            if s.timezone == "Europe/London":
                out.append(f'"{s.store_id}" = "{s.location}"')
            else:
                out.append(
                    f'"{s.store_id}" = {{ location = "{s.location}", timezone = "{s.timezone}" }}'
                )
        out += ["", "[tenders]           # Sitoo payment name -> Sage 200 bank code"]
        out += [f'"{t}" = "{a}"' for t, a in self.tenders.items()]
        out += ["", "[tax]               # POS VAT rate -> Sage tax code number and VAT account"]
        for rate, (_, code) in TAX_CODES.items():
            out.append(
                f'"{rate.quantize(Decimal("0.01"))}" = {{ code = "{code}", account = "2200" }}'
            )
        out += ["", "[settings]", 'posting_mode = "per_order"', 'guest_customer = "CASH01"', ""]
        return "\n".join(out)


def build_scenario(name: str = "demo", seed: int = 1, end_day: date | None = None) -> Scenario:
    """The scenario `name` for `seed`, ending on `end_day` (default: yesterday, UTC)."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}: use one of {', '.join(SCENARIOS)}")
    if end_day is None:
        end_day = datetime.now(UTC).date() - timedelta(days=1)
    scenario = _Builder(name, seed, end_day).build()
    scenario.seed = seed
    return scenario
