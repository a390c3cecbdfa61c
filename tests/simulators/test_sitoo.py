"""The Sitoo simulator against the vendor's documented behaviour (reference/sitoo.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from recon.simulators import sitoo
from tests.simulators.conftest import ROOT, SITE, SITOO, sale


def ids(body: dict[str, object]) -> list[int]:
    return [item["orderid"] for item in body["items"]]  # type: ignore[attr-defined]


def test_default_page_is_ten_newest_first(sitoo_client: TestClient) -> None:
    body = sitoo_client.get(f"{ROOT}/orders.json").json()
    assert body["totalcount"] == 25
    assert ids(body) == list(range(5025, 5015, -1))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("start=20&num=10&sort=orderid", list(range(5021, 5026))),  # last partial page
        ("start=25&num=10&sort=orderid", []),  # empty page past the end
        ("start=0&num=3&sort=orderid", [5001, 5002, 5003]),
        ("start=0&num=0", []),
        ("orderidfrom=5020&orderidto=5023&sort=orderid&num=100", [5020, 5021, 5022]),
        ("orderid=5003,5001&sort=orderid", [5001, 5003]),
        ("eshopid=2", []),
    ],
)
def test_paging_and_filters(sitoo_client: TestClient, query: str, expected: list[int]) -> None:
    body = sitoo_client.get(f"{ROOT}/orders.json?{query}").json()
    assert ids(body) == expected


def test_totalcount_counts_the_filter_not_the_page(sitoo_client: TestClient) -> None:
    body = sitoo_client.get(f"{ROOT}/orders.json?orderidfrom=5020&num=2").json()
    assert (body["totalcount"], len(body["items"])) == (6, 2)


def test_id_range_reads_follow_every_change_to_the_orders(
    sitoo_state: sitoo.SitooState, sitoo_client: TestClient
) -> None:
    def read(query: str) -> tuple[int, list[int]]:
        body = sitoo_client.get(f"{ROOT}/orders.json?{query}").json()
        return body["totalcount"], ids(body)

    assert read("orderidfrom=5022&sort=orderid") == (4, [5022, 5023, 5024, 5025])
    sitoo_state.orders[5030] = sale(5030)  # each change below must show in the next read
    del sitoo_state.orders[5023]
    sitoo_state.orders.pop(5024)
    assert read("orderidfrom=5022&sort=orderid") == (3, [5022, 5025, 5030])
    sitoo_state.orders |= {5027: sale(5027)}
    sitoo_state.orders.update({5028: sale(5028) | {"eshopid": 2}})
    assert read("orderidfrom=5022&orderidto=5030") == (4, [5028, 5027, 5025, 5022])  # all sites
    assert read("orderidfrom=5022&eshopid=1") == (4, [5030, 5027, 5025, 5022])
    assert read("orderidfrom=5022&eshopid=2") == (1, [5028])
    sitoo_state.orders.clear()
    assert read("orderidfrom=5022") == (0, [])


def test_state_filters_and_creditorderid(
    sitoo_state: sitoo.SitooState, sitoo_client: TestClient
) -> None:
    sitoo_state.add_order(sale(5030, orderstateid=0, paymentstateid=0))
    sitoo_state.add_order(sale(5031, paymentstateid=10))
    sitoo_state.add_order(sale(5032, "-25.00", creditorderid=5001))
    closed_paid = sitoo_client.get(f"{ROOT}/orders.json?orderstate=10&paymentstate=20&num=100")
    assert 5030 not in ids(closed_paid.json()) and 5031 not in ids(closed_paid.json())
    assert ids(sitoo_client.get(f"{ROOT}/orders.json?orderstate=0").json()) == [5030]
    refunds = sitoo_client.get(f"{ROOT}/orders.json?creditorderid=5001").json()
    assert ids(refunds) == [5032]
    refund = refunds["items"][0]
    assert refund["additionaldata"]["pos-originalsales-orderid"] == "5001"
    assert refund["moneytotal_gross_all"] == "-25.00"
    assert refund["payments"][0]["moneyamount"] == "-25.00"


def test_fields_selection(sitoo_client: TestClient) -> None:
    body = sitoo_client.get(f"{ROOT}/orders.json?num=1&fields=orderid,moneytotal_gross_all").json()
    assert body["items"] == [{"orderid": 5025, "moneytotal_gross_all": "25.00"}]


def test_single_order_and_money_encoding(sitoo_client: TestClient) -> None:
    order = sitoo_client.get(f"{SITE}/orders/5001.json").json()
    item = order["orderitems"][0]
    assert (order["moneyfinal_net"], order["moneyfinal_vat"]) == ("20.83", "4.17")
    assert (item["vatvalue"], item["decimalquantitytotal"]) == (20, "1.000")
    assert isinstance(order["orderdate"], int)
    assert order["additionaldata"]["pos-timezone"] == "Europe/London"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{SITE}/orders/9999.json", 404),
        (f"{ROOT}/sites/7/stores.json", 404),
        (f"{ROOT}/nothing.json", 404),
        (f"{ROOT}/orders.json?num=ten", 400),
        (f"{ROOT}/orders.json?sort=orderdate", 400),
    ],
)
def test_errors_carry_the_error_body(sitoo_client: TestClient, path: str, status: int) -> None:
    response = sitoo_client.get(path)
    assert response.status_code == status
    assert response.json()["statuscode"] == status
    assert response.json()["errortext"]


@pytest.mark.parametrize("auth", [None, ("90210-7", "wrong"), ("someone", SITOO.password)])
def test_bad_auth_is_401(sitoo_state: sitoo.SitooState, auth: tuple[str, str] | None) -> None:
    client = TestClient(sitoo.create_app(sitoo_state, SITOO))
    response = client.get(f"{ROOT}/orders.json", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"statuscode": 401, "errortext": "Authorization failed"}


def test_products_hide_inactive_unless_asked(sitoo_client: TestClient) -> None:
    active = sitoo_client.get(f"{SITE}/products.json").json()
    every = sitoo_client.get(f"{SITE}/products.json?includeinactive=true").json()
    assert [p["sku"] for p in active["items"]] == ["TEE-BLK-M"]
    assert [p["sku"] for p in every["items"]] == ["TEE-BLK-M", "OLD-1"]
    assert active["items"][0]["moneyprice"] == "25.00"


def test_put_warehouse_items_batch(sitoo_state: sitoo.SitooState, sitoo_client: TestClient) -> None:
    sitoo_state.set_stock(101, "TEE-BLK-M", Decimal("3"), modified=1000)
    put = sitoo_client.put(
        f"{SITE}/warehouses/101/warehouseitems.json",
        json=[
            {"sku": "TEE-BLK-M", "decimaltotal": "7.000"},
            {"sku": "NOPE", "decimaltotal": "1.000"},
        ],
    )
    assert put.status_code == 200
    assert [r["statuscode"] for r in put.json()] == [200, 404]
    got = sitoo_client.get(f"{SITE}/warehouses/101/warehouseitems.json?sku=TEE-BLK-M").json()
    assert got["items"][0]["decimaltotal"] == "7.000"
    assert got["items"][0]["datelastmodified"] > 1000
    since = sitoo_client.get(f"{SITE}/warehouses/101/warehouseitems.json?datelastmodifiedfrom=2000")
    assert since.json()["totalcount"] == 1


def test_put_stock_on_fifo_warehouse_is_refused_per_item(sitoo_client: TestClient) -> None:
    put = sitoo_client.put(
        f"{SITE}/warehouses/102/warehouseitems.json",
        json=[{"sku": "TEE-BLK-M", "decimaltotal": "1"}],
    )
    assert put.json() == [{"statuscode": 400, "return": False}]


def prices(client: TestClient) -> dict[str, str]:
    every = client.get(f"{SITE}/products.json?includeinactive=true").json()["items"]
    return {p["sku"]: p["moneyprice"] for p in every}


def test_put_products_updates_by_productid_with_one_status_per_element(
    sitoo_state: sitoo.SitooState, sitoo_client: TestClient
) -> None:
    put = sitoo_client.put(
        f"{SITE}/products.json",
        json=[
            {"productid": 1001, "moneyprice": "27.50"},
            {"productid": 9999, "moneyprice": "1.00"},  # no such product
            {"productid": 1002, "moneyprice": "4.5"},  # not a 2-dp money string
            {"productid": 1002, "price": "4.50"},  # not a product field
        ],
    )
    assert put.status_code == 200
    assert put.json() == [
        {"statuscode": 200, "return": True},
        {"statuscode": 404, "return": False},
        {"statuscode": 400, "return": False},
        {"statuscode": 400, "return": False},
    ]
    assert prices(sitoo_client) == {"TEE-BLK-M": "27.50", "OLD-1": "5.00"}
    tee = next(p for p in sitoo_state.products if p["sku"] == "TEE-BLK-M")
    assert tee["datemodified"] > tee["datecreated"]


def test_put_one_product_answers_true_or_its_error(
    sitoo_state: sitoo.SitooState, sitoo_client: TestClient
) -> None:
    one = sitoo_client.put(
        f"{SITE}/products.json", json=[{"productid": 1002, "moneyprice": "6.00"}]
    )
    assert (one.status_code, one.json()) == (200, True)
    missing = sitoo_client.put(
        f"{SITE}/products.json", json=[{"productid": 7, "moneyprice": "1.00"}]
    )
    assert (missing.status_code, missing.json()["statuscode"]) == (404, 404)
    assert prices(sitoo_client) == {"TEE-BLK-M": "25.00", "OLD-1": "6.00"}


def test_refused_writes_fail_that_element_only(
    sitoo_state: sitoo.SitooState, sitoo_client: TestClient
) -> None:
    sitoo_state.refuse_writes["TEE-BLK-M"] = 400
    put = sitoo_client.put(
        f"{SITE}/products.json",
        json=[
            {"productid": 1001, "moneyprice": "30.00"},
            {"productid": 1002, "moneyprice": "6.00"},
        ],
    )
    assert [r["statuscode"] for r in put.json()] == [400, 200]
    assert prices(sitoo_client) == {"TEE-BLK-M": "25.00", "OLD-1": "6.00"}
    stock = sitoo_client.put(
        f"{SITE}/warehouses/101/warehouseitems.json",
        json=[{"sku": "TEE-BLK-M", "decimaltotal": "7.000"}],
    )
    assert stock.json() == [{"statuscode": 400, "return": False}]


@pytest.mark.parametrize("body", [{"productid": 1001}, [], "x"])
def test_put_products_body_must_be_a_non_empty_array(
    sitoo_client: TestClient, body: object
) -> None:
    put = sitoo_client.put(f"{SITE}/products.json", json=body)
    assert (put.status_code, put.json()["statuscode"]) == (400, 400)


def test_stores_warehouses_sites(sitoo_client: TestClient) -> None:
    assert sitoo_client.get(f"{SITE}/stores.json").json()["items"][0]["externalid"] == "LON1"
    warehouses = sitoo_client.get(f"{SITE}/warehouses.json").json()["items"]
    assert [(w["warehouseid"], w.get("storeid")) for w in warehouses] == [(101, 1), (102, None)]
    assert sitoo_client.get(f"{ROOT}/sites.json").json()["items"][0]["eshopid"] == 1
