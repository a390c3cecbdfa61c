"""Collecting a Sitoo page with one poison order, on SQLite and PostgreSQL: the others land,
the poison one is quarantined with its field and reason (or lands, when it is valid), and a
snapshot export and reconcile still run. Orders are the documented example (sitoo.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from clients import SitooClient
from collectors.sitoo import collect_sitoo
from config.mappings import Mappings
from reconcile.engine import reconcile
from snapshot.schema import read_snapshot
from tests.clients.payloads import sitoo_order
from warehouse.export import export_snapshot
from warehouse.models import PosOrder, PosOrderLine, Quarantine
from warehouse.runs import RunLog, record_run

DEEP = "[" * 300 + "]" * 300


def page_answer(orders: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    """Sitoo with one warehouse (3, store 1) and `orders` as record texts, verbatim."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        items: list[str] = []
        if path.endswith("/orders.json") and request.url.params.get("start", "0") == "0":
            items = orders
        elif path.endswith("/warehouses.json"):
            items = [json.dumps({"warehouseid": 3, "storeid": 1, "currencycode": "GBP"})]
        body = f'{{"totalcount": {len(items)}, "items": [{", ".join(items)}]}}'
        return httpx.Response(
            200, content=body.encode("utf-8", "surrogatepass"),
            headers={"content-type": "application/json"},
        )  # fmt: skip

    return handler


def text(orderid: int, **changes: Any) -> str:
    return json.dumps(sitoo_order(orderid, **changes))


def line(**changes: Any) -> list[dict[str, Any]]:
    base = sitoo_order(0)["orderitems"][0]
    return [base | changes]


SALE = sitoo_order(0)
# The middle order of the page, 5121, as Sitoo sends it -> what becomes of it.
#   quarantined: the reason starts with the text given; landed: None (and the problem note)
CASES: list[tuple[str, str, str | None, str | None]] = [
    #  name                  the order's text                                       reason  / landed with note  # noqa: E501
    ("timezone",   text(5121, additionaldata={"pos-timezone": "Mars/Olympus_Mons"}), None, "'Mars/Olympus_Mons' is not a known time zone; its business day is taken in Europe/London"),  # noqa: E501
    ("orderdate",  text(5121).replace("1717229850", "1e20"),                       "orderdate: Value error, epoch seconds outside 1970-2100", None),  # noqa: E501
    ("rowdiscount", text(5121, orderitems=line(additionaldata={"orderitem-moneyrowdiscount": "abc"})), "orderitems[0].additionaldata.orderitem-moneyrowdiscount: expected a finite decimal number", None),  # noqa: E501
    ("nul_sku",    text(5121, orderitems=line(sku="TEE\x00M")),                    "orderitems[0].sku: text with a NUL character", None),  # noqa: E501
    ("money_20",   text(5121, moneytotal_gross_all="99999999999999999999.99"),     "moneytotal_gross_all: money out of range", None),  # noqa: E501
    ("money_1e400", text(5121).replace('"moneyamount": "25.00"', '"moneyamount": 1e400'), "payments[0].moneyamount: money out of range", None),  # noqa: E501
    ("refund_qty", text(5121, orderitems=line(quantity=-1, moneyitemtotal_net="-20.83", moneyitemtotal_vat="-4.17", decimalquantitytotal="-1.000")), None, None),  # noqa: E501
    ("qty_1e30",   text(5121, orderitems=line(quantity=10**30)),                   "orderitems[0].quantity: Input should be less than 1000000000000000", None),  # noqa: E501
    ("vat_1000",   text(5121, orderitems=line(vatvalue=1000)),                      "orderitems[0].vatvalue: VAT rate outside 0-100", None),  # noqa: E501
    ("nesting",    text(5121).replace('"LON1"', f'{{"a": {DEEP}}}', 1),            "additionaldata: nested deeper than the JSON parser's 200 levels", None),  # noqa: E501
    # beyond the list
    ("surrogate",  text(5121).replace('"TEE-BLK-M"', '"TEE\\ud800"'),              "orderitems: does not parse as JSON", None),  # noqa: E501
    ("currency",   text(5121, currencycode="GBPX"),                                 "pos_orders.currency: longer than 3 characters", None),  # noqa: E501
    ("long_sku",   text(5121, orderitems=line(sku="S" * 61)),                      "pos_order_lines.sku: longer than 60 characters", None),  # noqa: E501
    ("tiny_qty",   text(5121, orderitems=line(decimalquantitytotal="0.0000000000000001")), "pos_order_lines.unit_price_gross:", None),  # noqa: E501
    ("no_payment_amount", text(5121, payments=[{"name": "Card"}]),                  "payments[0].moneyamount: Field required", None),  # noqa: E501
]  # fmt: skip


def collect(engine: Engine, orders: list[str]) -> RunLog:
    transport = httpx.MockTransport(page_answer(orders))
    client = SitooClient("https://sitoo.test", 90210, 1, "90210-7", "pw", transport=transport)
    with client, record_run(engine, "collect") as run:
        collect_sitoo(engine, client, Mappings(), "Europe/London", run)
    return run


@pytest.mark.parametrize(
    ("middle", "reason", "note"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_poison_order_leaves_the_page_landed_and_the_engine_running(
    warehouse: Engine, tmp_path: Path, middle: str, reason: str | None, note: str | None
) -> None:
    run = collect(warehouse, [text(5120), middle, text(5122)])
    with warehouse.connect() as conn:
        landed = set(conn.execute(select(PosOrder.order_id)).scalars())
        quarantined = dict(conn.execute(select(Quarantine.vendor_id, Quarantine.reason)).all())
    if reason is None:
        assert landed == {"5120", "5121", "5122"} and quarantined == {}
    else:
        assert landed == {"5120", "5122"}
        assert list(quarantined) == ["5121"]
        assert quarantined["5121"].startswith(reason), quarantined["5121"]
        assert run.problems == [f"sitoo orders 5121: {quarantined['5121']}"]
    if note is not None:
        assert len(run.problems) == 1 and note in run.problems[0]
    export_snapshot(warehouse, tmp_path / "snap")
    tables = read_snapshot(tmp_path / "snap")
    assert set(tables["pos_orders"].collect()["order_id"]) == landed
    reconcile(tables)  # runs on what landed: no cast error, no traceback


def test_a_fallback_zone_gives_the_stores_day(warehouse: Engine) -> None:
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (BST): the fallback zone decides
    late = text(5121, orderdate=1717198200, additionaldata={"pos-timezone": "Mars/Olympus_Mons"})
    collect(warehouse, [late])
    with warehouse.connect() as conn:
        day = conn.execute(select(PosOrder.business_day)).scalar_one()
    assert day == date(2024, 6, 1)


def test_a_quarantined_order_that_is_put_right_lands_and_leaves_quarantine(
    warehouse: Engine,
) -> None:
    collect(warehouse, [text(5120, orderitems=line(vatvalue=1000))])
    run = collect(warehouse, [text(5120)])
    with warehouse.connect() as conn:
        assert conn.execute(select(Quarantine.vendor_id)).all() == []
        assert conn.execute(select(PosOrderLine.vat_rate)).scalars().all() == [Decimal(20)]
    assert run.problems == []
