"""SitooClient against a fake Sitoo router: paging, query, models, quarantine, batch writes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from recon.clients import AuthError, MalformedResponse, NotFoundError, SitooClient
from recon.config import ConfigError, load_settings
from tests.clients.fakes import FakeSitoo, Recorder, json_response, scripted

ORDERS = "/v2/accounts/90210/orders.json"


def order(orderid: int, **extra: Any) -> dict[str, Any]:
    return {
        "orderid": orderid,
        "ordertypeid": 10,
        "orderstateid": 10,
        "paymentstateid": 20,
        "orderdate": 1717229850,
        "warehouseid": 3,
        "currencycode": "GBP",
        "moneytotal_gross_all": "25.00",
        "additionaldata": {"pos-timezone": "Europe/London"},
        "orderitems": [
            {
                "orderitemid": 0,
                "productname": "Tee",
                "sku": "TEE-BLK-M",
                "quantity": 1,
                "vatvalue": 20,
                "moneyitemtotal_net": "20.83",
                "moneyitemtotal_vat": "4.17",
            }
        ],
        "payments": [{"name": "Card", "moneyamount": "25.00"}],
        **extra,
    }


def client(rec: Recorder, page_size: int = 2) -> SitooClient:
    return SitooClient(
        "https://api.example.test/",
        90210,
        1,
        "90210-7",
        "pw-secret",
        transport=rec.transport(),
        page_size=page_size,
        min_wait=0.001,
        max_wait=0.01,
    )


@pytest.mark.parametrize(
    ("n_orders", "expected_starts"),
    [
        (0, [0]),  # empty
        (4, [0, 2]),  # exact multiple: start >= totalcount ends it, no empty page
        (5, [0, 2, 4]),  # short last page
        (1, [0]),
    ],
)
def test_iter_orders_pages_with_start_and_num(n_orders: int, expected_starts: list[int]) -> None:
    fake = FakeSitoo({"/orders.json": [order(5120 + i) for i in range(n_orders)]})
    rec = Recorder(fake)
    with client(rec) as c:
        got = [f.key for f in c.iter_orders()]
    assert got == [str(5120 + i) for i in range(n_orders)]
    starts = [int(r.url.params["start"]) for r in rec.requests]
    assert starts == expected_starts
    assert all(r.url.params["num"] == "2" for r in rec.requests)


def test_a_server_that_caps_num_still_gives_every_order() -> None:
    # asked for 5 a page, served 2: totalcount (7) says when to stop, not the short page
    fake = FakeSitoo({"/orders.json": [order(5120 + i) for i in range(7)]}, max_num=2)
    rec = Recorder(fake)
    with client(rec, page_size=5) as c:
        got = [f.key for f in c.iter_orders()]
    assert got == [str(5120 + i) for i in range(7)]
    assert [int(r.url.params["start"]) for r in rec.requests] == [0, 2, 4, 6]


def test_iter_orders_sends_site_watermark_sort_and_fields() -> None:
    rec = Recorder(FakeSitoo({"/orders.json": []}))
    list(client(rec).iter_orders(orderid_from=5121, orderstates=[10], paymentstates=[20]))
    req = rec.requests[0]
    assert req.url.path == ORDERS
    params = req.url.params
    assert (params["eshopid"], params["orderidfrom"], params["sort"]) == ("1", "5121", "orderid")
    assert (params["orderstate"], params["paymentstate"]) == ("10", "20")
    assert {"orderid", "orderitems", "payments", "additionaldata", "orderdate"} <= set(
        params["fields"].split(",")
    )
    expected = "Basic " + base64.b64encode(b"90210-7:pw-secret").decode()
    assert req.headers["authorization"] == expected


def test_order_model_parses_money_dates_and_maps_exactly() -> None:
    raw = order(
        5121,
        moneyfinal_net="-20.83",
        moneyfinal_vat="0.10",
        creditorderid=5120,
        orderitems=[
            {
                "productname": "Tee",
                "sku": "TEE",
                "quantity": -1,
                "vatvalue": 12.5,
                "moneyitemtotal_net": "-20.83",
                "decimalunitquantity": None,
                "additionaldata": [],
            }
        ],
    )
    rec = Recorder(FakeSitoo({"/orders.json": [raw]}))
    [fetched] = list(client(rec).iter_orders())
    o = fetched.item
    assert o is not None and fetched.error is None
    assert (o.moneyfinal_net, o.moneyfinal_vat) == (Decimal("-20.83"), Decimal("0.10"))
    assert str(o.moneyfinal_vat) == "0.10"
    assert o.orderdate == datetime(2024, 6, 1, 8, 17, 30, tzinfo=UTC)
    assert o.pos_timezone == "Europe/London"
    assert o.creditorderid == 5120
    line = o.orderitems[0]
    assert (line.quantity, line.vatvalue, line.additionaldata) == (-1, Decimal("12.5"), {})
    assert o.payments[0].moneyamount == Decimal("25.00")
    assert fetched.raw["orderid"] == 5121


def test_a_bad_record_is_quarantined_and_the_page_still_lands() -> None:
    bad = order(5121, payments=[{"name": "Card", "moneyamount": "twelve"}])
    rec = Recorder(FakeSitoo({"/orders.json": [order(5120), bad, order(5122)]}))
    got = list(client(rec).iter_orders())
    assert [(f.key, f.item is None) for f in got] == [
        ("5120", False),
        ("5121", True),
        ("5122", False),
    ]
    assert got[1].error is not None
    assert got[1].error.startswith("payments[0].moneyamount: ")
    assert "\n" not in got[1].error
    assert got[1].raw == bad


def test_get_order_and_unknown_order() -> None:
    def handler(request: Any) -> Any:
        if request.url.path.endswith("/sites/1/orders/5120.json"):
            return json_response(200, order(5120))
        return json_response(404, {"statuscode": 404, "errortext": "Order not found"})

    rec = Recorder(handler)
    c = client(rec)
    assert c.get_order(5120).item is not None
    with pytest.raises(NotFoundError) as info:
        c.get_order(1)
    assert info.value.detail == "Order not found"


def test_stores_warehouses_stock_and_products() -> None:
    fake = FakeSitoo(
        {
            "/stores.json": [
                {"storeid": 1, "name": "London", "externalid": "LON1", "storetype": 10}
            ],
            "/warehouses.json": [
                {
                    "warehouseid": 3,
                    "storeid": 1,
                    "name": "LON",
                    "currencycode": "GBP",
                    "usetype": 1,
                },
                {"warehouseid": 4, "storeid": None, "name": "Web", "currencycode": "GBP"},
            ],
            "/warehouses/3/warehouseitems.json": [
                {"sku": "TEE", "decimaltotal": "5.000", "datelastmodified": 1462874148},
                {"sku": "CAP", "decimaltotal": "-1.500", "decimalavailable": "0.000"},
                {"sku": "MUG", "decimaltotal": "12.000"},
            ],
            "/products.json": [
                {"productid": 1, "sku": "TEE", "moneyprice": "25.00", "activepos": True},
                {"productid": 2, "sku": "OLD", "moneyprice": "9.90", "activepos": False},
            ],
        }
    )
    rec = Recorder(fake)
    c = client(rec)
    assert [s.item.externalid for s in c.list_stores() if s.item] == ["LON1"]
    assert [(w.key, w.item.storeid) for w in c.list_warehouses() if w.item] == [
        ("3", 1),
        ("4", None),
    ]
    since = datetime(2016, 5, 10, tzinfo=UTC)
    stock = [
        (f.key, f.item.decimaltotal)
        for f in c.iter_warehouse_items(3, modified_from=since)
        if f.item
    ]
    assert stock == [("TEE", Decimal("5.000")), ("CAP", Decimal("-1.500")), ("MUG", Decimal("12"))]
    stock_req = next(r for r in rec.requests if "warehouseitems" in r.url.path)
    assert stock_req.url.params["datelastmodifiedfrom"] == str(int(since.timestamp()))
    products = [(p.key, p.item.moneyprice, p.item.activepos) for p in c.iter_products() if p.item]
    assert products == [("TEE", Decimal("25.00"), True), ("OLD", Decimal("9.90"), False)]
    prod_req = next(r for r in rec.requests if r.url.path.endswith("/products.json"))
    assert prod_req.url.params["includeinactive"] == "true"
    assert prod_req.url.path == "/v2/accounts/90210/sites/1/products.json"


def test_put_warehouse_items_reports_each_item() -> None:
    fake = FakeSitoo({})
    results = client(Recorder(fake)).put_warehouse_items(
        3, [("TEE", Decimal("5")), ("BAD-SKU", Decimal("1.5"))]
    )
    assert [(r.sku, r.statuscode, r.ok) for r in results] == [
        ("TEE", 200, True),
        ("BAD-SKU", 400, False),
    ]
    assert fake.put_bodies == [
        [{"sku": "TEE", "decimaltotal": "5.000"}, {"sku": "BAD-SKU", "decimaltotal": "1.500"}]
    ]


def test_put_product_prices_sends_productid_and_money_and_reports_each_product() -> None:
    fake = FakeSitoo({})
    c = client(Recorder(fake))
    results = c.put_product_prices([(1, "TEE", Decimal("27.5")), (901, "GONE", Decimal("3"))])
    one = c.put_product_prices([(2, "MUG", Decimal("12.00"))])

    assert [(r.sku, r.statuscode, r.ok) for r in results] == [
        ("TEE", 200, True),
        ("GONE", 404, False),
    ]
    assert [(r.sku, r.statuscode, r.ok) for r in one] == [("MUG", 200, True)]
    assert fake.put_bodies == [
        [{"productid": 1, "moneyprice": "27.50"}, {"productid": 901, "moneyprice": "3.00"}],
        [{"productid": 2, "moneyprice": "12.00"}],
    ]


def test_a_price_with_more_than_two_decimals_is_refused_before_sending() -> None:
    fake = FakeSitoo({})
    with pytest.raises(ValueError, match=r"price 9\.995 for TEE"):
        client(Recorder(fake)).put_product_prices([(1, "TEE", Decimal("9.995"))])
    assert fake.put_bodies == []


@pytest.mark.parametrize(
    "answer",
    [
        [{"statuscode": 200, "return": True}],  # one result for two products
        True,  # a bare true is the answer to one product only
        [{"statuscode": "200", "return": True}, {"statuscode": 200, "return": True}],
    ],
)
def test_a_batch_answer_of_the_wrong_shape_is_malformed(answer: object) -> None:
    rec = scripted(json_response(200, answer))
    c = SitooClient(
        "https://api.example.test/", 90210, 1, "90210-7", "pw-secret",
        transport=rec.transport(), max_attempts=1,
    )  # fmt: skip
    with pytest.raises(MalformedResponse):
        c.put_product_prices([(1, "TEE", Decimal("25.00")), (2, "MUG", Decimal("12.00"))])


def test_401_names_sitoo_variables_never_the_password() -> None:
    rec = scripted(json_response(401, {"statuscode": 401, "errortext": "Authorization failed"}))
    with pytest.raises(AuthError) as info:
        list(client(rec).iter_orders())
    assert "SITOO_API_ID / SITOO_API_PASSWORD" in str(info.value)
    assert "pw-secret" not in str(info.value)


def test_from_settings_requires_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "ACCOUNT_ID", "SITE_ID", "API_ID", "API_PASSWORD"):
        monkeypatch.delenv(f"SITOO_{name}", raising=False)
    with pytest.raises(ConfigError, match="SITOO_BASE_URL"):
        SitooClient.from_settings(load_settings(_env_file=None))
    settings = load_settings(
        _env_file=None,
        sitoo_base_url="https://api.example.test",
        sitoo_account_id="90210",
        sitoo_site_id="1",
        sitoo_api_id="90210-7",
        sitoo_api_password="pw-secret",
    )
    rec = Recorder(FakeSitoo({"/orders.json": [order(1)]}))
    with SitooClient.from_settings(settings, transport=rec.transport()) as c:
        assert [f.key for f in c.iter_orders()] == ["1"]
    assert rec.requests[0].url.path == ORDERS
