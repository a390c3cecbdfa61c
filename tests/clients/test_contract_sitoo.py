"""SitooClient against the Sitoo simulator over real HTTP: the same code that meets Sitoo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from recon.clients import AuthError, NotFoundError, ServerError, SitooClient
from recon.simulators.faults import Faults
from recon.simulators.serve import serve_in_thread
from recon.simulators.sitoo import (
    SitooCredentials,
    SitooLine,
    SitooPayment,
    SitooState,
    build_order,
    create_app,
)

CREDS = SitooCredentials()


def seeded(n_orders: int) -> SitooState:
    state = SitooState()
    state.add_store(1, "London", "LON1")
    state.add_warehouse(3, 1, "LON", "GBP", warehousetype=20)
    state.add_product(1, "TEE", "Tee", Decimal("25.00"), Decimal("20"))
    state.add_product(2, "OLD", "Old", Decimal("9.90"), Decimal("20"), active=False)
    state.set_stock(3, "TEE", Decimal("5"), 1717229850)
    for i in range(n_orders):
        state.add_order(
            build_order(
                orderid=5120 + i,
                eshopid=1,
                warehouseid=3,
                orderdate=datetime(2024, 6, 1, 8, 17, 30, tzinfo=UTC),
                currency="GBP",
                lines=[SitooLine("TEE", "Tee", 1, Decimal("25.00"), Decimal("20"))],
                payments=[SitooPayment("Card", Decimal("25.00"))],
                timezone="Europe/London",
                store_externalid="LON1",
                store_name="London",
            )
        )
    return state


@pytest.fixture
def served() -> Iterator[tuple[str, SitooState, Faults]]:
    state, faults = seeded(5), Faults(retry_after_seconds=0)
    with serve_in_thread(create_app(state, CREDS, faults)) as base_url:
        yield base_url, state, faults


def client(base_url: str, password: str = CREDS.password, **kw: object) -> SitooClient:
    return SitooClient(
        base_url,
        CREDS.account_id,
        CREDS.site_id,
        CREDS.api_id,
        password,
        page_size=2,
        min_wait=0.001,
        max_wait=0.01,
        **kw,  # type: ignore[arg-type]
    )


def test_orders_page_through_and_parse(served: tuple[str, SitooState, Faults]) -> None:
    base_url, _, _ = served
    with client(base_url) as c:
        got = list(c.iter_orders())
        later = [f.key for f in c.iter_orders(orderid_from=5123)]
    assert [f.key for f in got] == ["5120", "5121", "5122", "5123", "5124"]
    assert all(f.error is None for f in got)
    first = got[0].item
    assert first is not None
    assert first.moneytotal_gross_all == Decimal("25.00")
    assert first.orderitems[0].moneyitemtotal_net + first.orderitems[0].moneyitemtotal_vat == (  # type: ignore[operator]
        Decimal("25.00")
    )
    assert first.pos_timezone == "Europe/London"
    assert first.orderdate == datetime(2024, 6, 1, 8, 17, 30, tzinfo=UTC)
    assert later == ["5123", "5124"]


def test_master_data_stock_and_push(served: tuple[str, SitooState, Faults]) -> None:
    base_url, _, _ = served
    c = client(base_url)
    assert [s.item.externalid for s in c.list_stores() if s.item] == ["LON1"]
    assert [w.item.storeid for w in c.list_warehouses() if w.item] == [1]
    products = {p.key: p.item.activepos for p in c.iter_products() if p.item}
    assert products == {"TEE": True, "OLD": False}
    results = c.put_warehouse_items(3, [("TEE", Decimal("7")), ("NOPE", Decimal("1"))])
    assert [(r.sku, r.ok) for r in results] == [("TEE", True), ("NOPE", False)]
    stock = {f.key: f.item.decimaltotal for f in c.iter_warehouse_items(3) if f.item}
    assert stock == {"TEE": Decimal("7.000")}


def test_product_prices_land_in_the_simulator(served: tuple[str, SitooState, Faults]) -> None:
    base_url, state, _ = served
    state.refuse_writes["OLD"] = 400
    c = client(base_url)
    two = c.put_product_prices([(1, "TEE", Decimal("27.50")), (2, "OLD", Decimal("8.00"))])
    assert [(r.sku, r.statuscode) for r in two] == [("TEE", 200), ("OLD", 400)]
    one = c.put_product_prices([(1, "TEE", Decimal("26.00"))])
    assert [(r.sku, r.ok) for r in one] == [("TEE", True)]
    with pytest.raises(NotFoundError):  # one product: its error is the response
        c.put_product_prices([(99, "NOPE", Decimal("1.00"))])
    prices = {p.key: p.item.moneyprice for p in c.iter_products() if p.item}
    assert prices == {"TEE": Decimal("26.00"), "OLD": Decimal("9.90")}


def test_errors_from_the_simulator(served: tuple[str, SitooState, Faults]) -> None:
    base_url, _, faults = served
    with pytest.raises(AuthError, match="SITOO_API_PASSWORD"):
        list(client(base_url, password="wrong").iter_orders())
    with pytest.raises(NotFoundError):
        client(base_url).get_order(999999)
    faults.queue("GET", "/orders.json", "rate_limit")
    faults.queue("GET", "/orders.json", "html_error")
    faults.queue("GET", "/orders.json", "truncated_json")
    assert len(list(client(base_url).iter_orders())) == 5
    faults.queue("GET", "/stores.json", "server_error", times=3)
    with pytest.raises(ServerError):
        client(base_url, max_attempts=3).list_stores()
