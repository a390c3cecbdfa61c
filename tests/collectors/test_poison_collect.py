"""Collecting a Sitoo page with one poison order, on SQLite and PostgreSQL: the others land,
the poison one is quarantined with its field and reason (or lands, when it is valid), and a
snapshot export and reconcile still run. Orders are the documented example (sitoo.md)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from recon.clients import SitooClient
from recon.clients._http import dumps_json, loads_json, validate_record
from recon.clients.sitoo import SitooOrder
from recon.collectors._landing import land
from recon.collectors.sitoo import collect_sitoo, order_rows
from recon.config.mappings import Mappings
from recon.erp.sage200.collector import collect_sage200
from recon.pos.rules import StoreDirectory
from recon.reconcile.engine import reconcile
from recon.simulators.scenario import build_scenario
from recon.snapshot.schema import read_snapshot
from recon.warehouse.db import open_warehouse
from recon.warehouse.export import export_snapshot
from recon.warehouse.models import ErpDocument, PosOrder, PosOrderLine, PosStock, Quarantine
from recon.warehouse.runs import RunLog, record_run
from tests.clients.payloads import Path as FieldPath
from tests.clients.payloads import delete_in, leaf_paths, set_in, shown, sitoo_order
from tests.clients.test_poison import ODD_VALUES, ROW_DISCOUNT
from tests.collectors.test_sage200_collector import client_for as sage_client

DEEP = "[" * 300 + "]" * 300
DEEP_LIST: list[Any] = []
for _ in range(300):
    DEEP_LIST = [DEEP_LIST]


def page_answer(
    orders: list[str], stock: list[str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """Sitoo with one warehouse (3, store 1), `orders` and its `stock` as record texts,
    verbatim."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        items: list[str] = []
        first = request.url.params.get("start", "0") == "0"
        if path.endswith("/orders.json") and first:
            items = orders
        elif path.endswith("/warehouseitems.json") and first:
            items = stock or []
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
    ("rowdiscount", text(5121, orderitems=line(additionaldata={"orderitem-moneyrowdiscount": "abc"})), "orderitems[0].additionaldata.orderitem-moneyrowdiscount: expected money: a decimal number under 10^12", None),  # noqa: E501
    ("nul_sku",    text(5121, orderitems=line(sku="TEE\x00M")),                    "orderitems[0].sku: expected text without NUL characters", None),  # noqa: E501
    ("money_20",   text(5121, moneytotal_gross_all="99999999999999999999.99"),     "moneytotal_gross_all: expected money: a decimal number under 10^12", None),  # noqa: E501
    ("money_1e400", text(5121).replace('"moneyamount": "25.00"', '"moneyamount": 1e400'), "payments[0].moneyamount: expected money: a decimal number under 10^12", None),  # noqa: E501
    ("refund_qty", text(5121, orderitems=line(quantity=-1, moneyitemtotal_net="-20.83", moneyitemtotal_vat="-4.17", decimalquantitytotal="-1.000")), None, None),  # noqa: E501
    ("qty_1e30",   text(5121, orderitems=line(quantity=10**30)),                   "orderitems[0].quantity: Input should be less than 1000000000000000", None),  # noqa: E501
    ("vat_1000",   text(5121, orderitems=line(vatvalue=1000)),                      "orderitems[0].vatvalue: expected a VAT rate: a number from 0 to 100", None),  # noqa: E501
    ("nesting",    text(5121).replace('"LON1"', f'{{"a": {DEEP}}}', 1),            "additionaldata: nested deeper than the JSON parser's 200 levels", None),  # noqa: E501
    # beyond the list
    ("surrogate",  text(5121).replace('"TEE-BLK-M"', '"TEE\\ud800"'),              "orderitems: does not parse as JSON", None),  # noqa: E501
    ("currency",   text(5121, currencycode="GBPX"),                                 "pos_orders.currency: longer than 3 characters", None),  # noqa: E501
    ("long_sku",   text(5121, orderitems=line(sku="S" * 61)),                      "pos_order_lines.sku: longer than 60 characters", None),  # noqa: E501
    ("tiny_qty",   text(5121, orderitems=line(decimalquantitytotal="0.0000000000000001")), "pos_order_lines.unit_price_gross:", None),  # noqa: E501
    ("no_payment_amount", text(5121, payments=[{"name": "Card"}]),                  "payments[0].moneyamount: Field required", None),  # noqa: E501
]  # fmt: skip


def collect(engine: Engine, orders: list[str], stock: list[str] | None = None) -> RunLog:
    transport = httpx.MockTransport(page_answer(orders, stock))
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


def test_stock_rows_that_cannot_be_kept_are_quarantined_and_the_rest_lands(
    warehouse: Engine,
) -> None:
    stock = [  # a warehouse item is keyed "warehouse:sku" in the warehouse
        ("TEE", '{"sku": "TEE", "decimaltotal": "5.000"}', None),
        ("3:T\\0E", '{"sku": "T\\u0000E", "decimaltotal": "1.000"}', "sku: a key with a NUL"),
        ("3:" + "S" * 70, json.dumps({"sku": "S" * 70, "decimaltotal": "1.000"}), "pos_stock.sku: longer than 60"),  # noqa: E501
        ("3:" + "L" * 78, json.dumps({"sku": "L" * 79, "decimaltotal": "1.000"}), "vendor id longer than 80"),  # noqa: E501
        ("3:MUG", '{"sku": "MUG", "decimaltotal": "1e30"}', "decimaltotal: expected a quantity: a decimal number under 10^15"),  # noqa: E501
    ]  # fmt: skip
    run = collect(warehouse, [], [record for _, record, _ in stock])
    with warehouse.connect() as conn:
        skus = conn.execute(select(PosStock.sku)).scalars().all()
        reasons = dict(conn.execute(select(Quarantine.vendor_id, Quarantine.reason)).all())
    assert skus == ["TEE"]
    for key, _, reason in stock[1:]:
        assert reason is not None and reasons[key].startswith(reason), (key, reasons)
    assert len(run.problems) == 4


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


# ------------------------------------------------------------------ one field mutated
WIRE_ODD: list[Any] = [*ODD_VALUES, "\ud800", "a\udfffb", DEEP_LIST]
POISON_ON_THE_WIRE = st.one_of(
    st.sampled_from(WIRE_ODD), st.integers(), st.text(max_size=70),
    st.decimals(allow_nan=False, allow_infinity=False),
)  # fmt: skip
STORES = StoreDirectory({3: "1"}, {}, "Europe/London")
EXAMPLES = itertools.count()
CANONICAL = ("pos_orders.", "pos_order_lines.", "pos_payments.", "cannot be mapped")


@st.composite
def one_field_mutated(draw: st.DrawFn) -> tuple[FieldPath, dict[str, Any]]:
    paths = [*leaf_paths(SALE), ROW_DISCOUNT]
    path = draw(st.sampled_from(paths))
    if path != ROW_DISCOUNT and path[0] != "orderid" and draw(st.booleans()):
        return path, delete_in(SALE, path)
    return path, set_in(SALE, path, draw(POISON_ON_THE_WIRE))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=one_field_mutated())
def test_one_mutated_field_quarantines_at_most_its_order(
    tmp_path: Path, case: tuple[FieldPath, dict[str, Any]]
) -> None:
    path, mutated = case
    n = next(EXAMPLES)  # a fresh warehouse per example
    engine = open_warehouse(f"sqlite:///{tmp_path}/w{n}.db").engine
    first = 10 * n + 1
    middle = dict(mutated) | ({} if path[0] == "orderid" else {"orderid": first + 1})
    page = loads_json(
        f'{{"items": [{text(first)}, {dumps_json(middle)}, {text(first + 2)}]}}'.encode(
            "utf-8", "surrogatepass"
        )
    )
    batch = [validate_record(SitooOrder, r, "orderid") for r in page["items"]]
    with engine.begin() as conn:
        landed, problems = land(
            conn, "sitoo", "orders", batch, lambda o, rid: order_rows(o, STORES, rid)
        )
    with engine.connect() as conn:
        orders = set(conn.execute(select(PosOrder.order_id)).scalars())
        reasons = conn.execute(select(Quarantine.reason)).scalars().all()
    assert {str(first), str(first + 2)} <= orders  # the others always land
    assert landed.quarantined == len(reasons) == len(problems) <= 1
    for reason in reasons:  # the bad one says which field
        named = reason.split(":", 1)[0]
        assert (
            shown(path).startswith(named)
            or named.startswith(shown(path))
            or reason.startswith(CANONICAL)
        ), (reason, path)
    export_snapshot(engine, tmp_path / f"snap{n}")
    reconcile(read_snapshot(tmp_path / f"snap{n}"))
    engine.dispose()


# ------------------------------------------------------------------ an ERP: Sage 200
# One field of one SOP order (the Sage 200 simulator serves the page) -> the reason it is
# quarantined with, on SQLite and PostgreSQL; the other orders land.
SAGE_CASES: list[tuple[str, Any, str]] = [
    ("customer_document_no", "51\x0020",                   "customer_document_no: expected text without NUL"),  # noqa: E501
    ("total_gross_value",    Decimal("1E+400"),            "total_gross_value: expected money: a decimal number under 10^12"),  # noqa: E501
    ("total_tax_value",      "99999999999999999999.99",    "total_tax_value: expected money: a decimal number under 10^12"),  # noqa: E501
    ("document_date",        "0001-01-01T00:00:00+05:00",  "document_date: Value error, instant outside 1970-2100"),  # noqa: E501
    ("document_no",          "D" * 41,                     "erp_documents.doc_no: longer than 40 characters"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("field", "value", "reason"), SAGE_CASES, ids=[c[0] for c in SAGE_CASES])
def test_a_poison_sage_order_is_quarantined_and_the_rest_lands(
    warehouse: Engine, field: str, value: Any, reason: str
) -> None:
    state = build_scenario("small", 3, date(2026, 3, 14)).sage200
    bad = state.sop_orders[1]
    bad[field] = value
    with sage_client(state) as client, record_run(warehouse, "collect") as run:
        collect_sage200(warehouse, client, Mappings(), run)
    doc_id = f"sop_order:{bad['id']}"
    with warehouse.connect() as conn:
        docs = set(conn.execute(select(ErpDocument.doc_id)).scalars())
        reasons = dict(conn.execute(select(Quarantine.vendor_id, Quarantine.reason)).all())
    assert doc_id not in docs and f"sop_order:{state.sop_orders[0]['id']}" in docs
    assert reasons[str(bad["id"])].startswith(reason), reasons
    assert run.problems == [f"sage200 sop_orders {bad['id']}: {reasons[str(bad['id'])]}"]
