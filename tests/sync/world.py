"""A small, exact world for the sync tests: Sitoo and Sage 200 states built with the
simulators' `add_*` methods (independent of `recon.simulators.scenario`), served in threads, and
the check that Sage holds every eligible order exactly once.

Prices are chosen so Sage's per-line VAT equals the POS VAT to the penny.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from recon.clients import SitooClient
from recon.config import Settings, load_settings
from recon.config.mappings import parse_mappings
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.poster import Sage200Poster
from recon.simulators import sage200, sitoo
from recon.simulators.faults import Faults
from recon.simulators.serve import serve_in_thread
from recon.simulators.sitoo import SitooLine, SitooPayment, build_order
from recon.warehouse.db import open_warehouse, upgrade
from recon.warehouse.mappings import import_mappings

D = Decimal
LONDON = ZoneInfo("Europe/London")
#            sku      name        gross     rate  sage id  sitoo id
ITEMS = {
    "TEE": ("Tee", D("24.00"), D("20"), 77001, 501),
    "MUG": ("Mug", D("12.00"), D("20"), 77002, 502),
    "BOOK": ("Book", D("7.50"), D("0"), 77003, 503),
}
STORES = {1: (101, "WH-LON", 11), 2: (102, "WH-MAN", 12)}  # store -> sitoo wh, Sage wh, id
TAX = {D("20"): (1, 1), D("0"): (2, 0)}  # rate -> Sage tax code id, code number
BANKS = {"Cash": (4001, "1210"), "Card": (4002, "1220")}


def mappings_toml(mode: str = "per_order", workers: int = 4) -> str:
    return f"""
[stores]
"1" = "WH-LON"
"2" = "WH-MAN"
[tenders]
"Cash" = "1210"
"Card" = "1220"
[tax]
"20.00" = {{ code = "1", account = "2200" }}
"0.00" = {{ code = "0", account = "2200" }}
[settings]
posting_mode = "{mode}"
guest_customer = "CASH01"
sync_workers = "{workers}"
"""


def sage_state() -> sage200.Sage200State:
    s = sage200.Sage200State()
    creds = sage200.Sage200Credentials()
    s.add_site(creds.site_id, int(creds.company_id))
    s.add_customer(1042, "CASH01", "Cash Sales (POS)", cash=True)
    for rate, (tid, code) in TAX.items():
        s.add_tax_code(tid, code, f"{rate}% rate", rate.quantize(D("0.01")))
    for nid, ref in ((5001, "1210"), (5002, "1220"), (5003, "2200"), (5004, "4000")):
        s.add_nominal_code(nid, ref, f"Nominal {ref}")
    for tender, (bid, bank_code) in BANKS.items():
        s.add_bank(bid, bank_code, tender)
    for _, (_, name, wid) in STORES.items():
        s.add_warehouse(wid, name, name)
    for sku, (name, gross, rate, sage_id, _) in ITEMS.items():
        s.add_product(
            sage_id, sku, name, TAX[rate][0], (gross / (1 + rate / 100)).quantize(D("0.01"))
        )
    return s


def sitoo_state() -> sitoo.SitooState:
    s = sitoo.SitooState()
    for store, (whid, _, _) in STORES.items():
        s.add_store(store, f"Store {store}", f"S{store}")
        s.add_warehouse(whid, store, f"Store {store}", "GBP")
    for sku, (name, gross, rate, _, pid) in ITEMS.items():
        s.add_product(pid, sku, name, gross, rate)
    return s


def order(
    oid: int,
    store: int,
    when: datetime,
    lines: list[tuple[str, int]],
    pays: list[tuple[str, str]] | None = None,
    *,
    refund_of: int | None = None,
    state: int = 10,
    paid: bool = True,
) -> dict[str, Any]:
    """A Sitoo order: `lines` (sku, quantity; negative on refunds), `pays` (tender, amount;
    default the whole gross by Card)."""
    sitoo_lines = [
        SitooLine(sku, ITEMS[sku][0], qty, ITEMS[sku][1], ITEMS[sku][2], productid=ITEMS[sku][4])
        for sku, qty in lines
    ]
    gross = sum((ln.row_gross for ln in sitoo_lines), D("0.00"))
    payments = [SitooPayment(t, D(a)) for t, a in pays] if pays else [SitooPayment("Card", gross)]
    return build_order(
        orderid=oid,
        eshopid=1,
        warehouseid=STORES[store][0],
        orderdate=when,
        currency="GBP",
        lines=sitoo_lines,
        payments=payments,
        timezone="Europe/London",
        store_externalid=f"S{store}",
        store_name=f"Store {store}",
        orderstateid=state,
        paymentstateid=20 if paid else 10,
        creditorderid=refund_of,
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def many_orders(n: int, first: int = 5001, day: date = date(2026, 3, 12)) -> list[dict[str, Any]]:
    """`n` eligible orders over two stores: mixed lines, every 5th split Cash + Card, every
    7th a refund of the sale before it."""
    out: list[dict[str, Any]] = []
    patterns = [[("TEE", 1)], [("MUG", 2), ("BOOK", 1)], [("TEE", 3), ("BOOK", 2)], [("MUG", 1)]]
    for i in range(n):
        oid = first + i
        when = at(day, 9) + timedelta(minutes=i % 600)
        store = 1 + i % 2
        lines = patterns[i % len(patterns)]
        if i % 7 == 6 and out and out[-1].get("creditorderid") is None:
            sale = out[-1]
            back = [(item["sku"], -item["quantity"]) for item in sale["orderitems"]]
            store = 1 if sale["warehouseid"] == 101 else 2
            out.append(order(oid, store, when, back, refund_of=sale["orderid"]))
            continue
        gross = sum((ITEMS[s][1] * q for s, q in lines), D("0.00"))
        pays = None
        if i % 5 == 4:
            cash = (gross / 3).quantize(D("0.01"))
            pays = [("Cash", str(cash)), ("Card", str(gross - cash))]
        out.append(order(oid, store, when, lines, pays))
    return out


@dataclass
class World:
    sitoo: sitoo.SitooState
    sage: sage200.Sage200State
    sitoo_faults: Faults
    sage_faults: Faults
    env: dict[str, str]
    settings: Settings
    engine: Engine
    mappings_text: str
    _stack: ExitStack = field(repr=False, default_factory=ExitStack)

    def sitoo_client(self) -> SitooClient:
        e = self.env
        return SitooClient(
            e["SITOO_BASE_URL"], e["SITOO_ACCOUNT_ID"], e["SITOO_SITE_ID"], e["SITOO_API_ID"],
            e["SITOO_API_PASSWORD"], min_wait=0.01, max_wait=0.05, max_attempts=8,
        )  # fmt: skip

    def sage_client(self) -> Sage200Client:
        e = self.env
        return Sage200Client(
            e["SAGE200_BASE_URL"], e["SAGE200_TOKEN"], e["SAGE200_SUBSCRIPTION_KEY"],
            e["SAGE200_SITE_ID"], e["SAGE200_COMPANY_ID"], min_wait=0.01, max_wait=0.05,
            max_attempts=8,
        )  # fmt: skip

    def poster(self, sage: Sage200Client) -> Sage200Poster:
        mappings = parse_mappings(tomllib.loads(self.mappings_text))
        return Sage200Poster(sage, mappings, wait=0.01)


@contextmanager
def served(
    orders: list[dict[str, Any]],
    warehouse_url: str,
    data_dir: Path,
    *,
    mode: str = "per_order",
    workers: int = 4,
    sitoo_faults: Faults | None = None,
    sage_faults: Faults | None = None,
) -> Iterator[World]:
    """Both simulators in threads with `orders`, the warehouse migrated, mappings imported."""
    st, sg = sitoo_state(), sage_state()
    for o in orders:
        st.add_order(o)
    sf, gf = sitoo_faults or Faults(), sage_faults or Faults()
    sc, gc = sitoo.SitooCredentials(), sage200.Sage200Credentials()
    with ExitStack() as stack:
        sroot = stack.enter_context(serve_in_thread(sitoo.create_app(st, sc, sf)))
        groot = stack.enter_context(serve_in_thread(sage200.create_app(sg, gc, gf)))
        env = sc.env(sroot) | gc.env(groot + sage200.BASE_PATH)
        env |= {"RECON_WAREHOUSE_URL": warehouse_url, "RECON_DATA_DIR": str(data_dir)}
        settings = load_settings(**{k.lower(): v for k, v in env.items()})
        upgrade(warehouse_url)
        engine = open_warehouse(warehouse_url, create=False).engine
        text = mappings_toml(mode, workers)
        import_mappings(engine, parse_mappings(tomllib.loads(text)))
        try:
            yield World(st, sg, sf, gf, env, settings, engine, text)
        finally:
            engine.dispose()


# ---------------------------------------------------------------- the exactly-once check
def _is_eligible(o: dict[str, Any]) -> bool:
    return bool(o["orderstateid"] == 10 and o["paymentstateid"] == 20)


def expected_in_sage(orders: list[dict[str, Any]]) -> dict[str, list[tuple[str, ...]]]:
    """What Sage must hold for `orders`, per document kind, as sorted tuples of strings."""
    sop, credit, cash = [], [], []
    for o in filter(_is_eligible, orders):
        oid = str(o["orderid"])
        gross, vat = D(o["moneytotal_gross_all"]), D(o["moneyfinal_vat"])
        if o.get("creditorderid") is None:
            sop.append((oid, str(gross), str(vat)))
        else:
            credit.append((oid, str(o.get("creditorderid")), str(gross), str(vat)))
        for p in o["payments"]:
            cash.append((oid, p["name"], str(D(p["moneyamount"]))))
    return {"sop_orders": sorted(sop), "credit_notes": sorted(credit), "tenders": sorted(cash)}


def found_in_sage(state: sage200.Sage200State) -> dict[str, list[tuple[str, ...]]]:
    sop = [
        (o["customer_document_no"], str(o["total_gross_value"]), str(o["total_tax_value"]))
        for o in state.sop_orders
    ]
    credit = [
        (t["reference"], t["second_reference"], str(t["document_gross_value"]),
         str(t["document_tax_value"]))
        for t in state.sales_posted
        if t["trader_transaction_type"] == sage200.TT_CREDIT_NOTE
    ]  # fmt: skip
    cash = [
        (t["reference"], t["second_reference"], str(t["cheque_value"]))
        for t in state.bank_posted
        if t["bank_transaction_type"] in (sage200.BT_SALES_RECEIPT, sage200.BT_SALES_PAYMENT)
    ]
    return {"sop_orders": sorted(sop), "credit_notes": sorted(credit), "tenders": sorted(cash)}


def assert_exactly_once(world: World, orders: list[dict[str, Any]]) -> None:
    """Every eligible order in Sage once, with its gross, VAT and one posting per tender;
    nothing else (no other ledger or cash-book rows)."""
    expected, found = expected_in_sage(orders), found_in_sage(world.sage)
    for kind in expected:
        dupes = [k for k, n in Counter(found[kind]).items() if n > 1]
        assert dupes == [], (kind, dupes)
        assert found[kind] == expected[kind], kind
    receipts_and_payments = len(expected["tenders"])
    assert len(world.sage.sales_posted) == len(expected["credit_notes"]) + receipts_and_payments
    assert len(world.sage.bank_posted) == receipts_and_payments
