"""Shared fixtures: small hand-built vendor states and test clients."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from recon.simulators import sage200, sitoo

SITOO = sitoo.SitooCredentials()
SAGE = sage200.Sage200Credentials()
SAGE_HEADERS = {
    "Authorization": f"Bearer {SAGE.token}",
    "ocp-apim-subscription-key": SAGE.subscription_key,
    "X-Site": SAGE.site_id,
    "X-Company": SAGE.company_id,
}
ROOT = f"/v2/accounts/{SITOO.account_id}"
SITE = f"{ROOT}/sites/1"
B = sage200.BASE_PATH


def sale(
    orderid: int, gross: str = "25.00", tender: str = "Card", **kw: object
) -> dict[str, object]:
    line = sitoo.SitooLine("TEE-BLK-M", "Tee black M", 1, Decimal(gross), Decimal("20"))
    return sitoo.build_order(
        orderid=orderid,
        eshopid=1,
        warehouseid=101,
        orderdate=datetime(2024, 6, 1, 9, 0, tzinfo=UTC),
        currency="GBP",
        lines=[line],
        payments=[sitoo.SitooPayment(tender, Decimal(gross))],
        timezone="Europe/London",
        store_externalid="LON1",
        store_name="London",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def sitoo_state() -> sitoo.SitooState:
    state = sitoo.SitooState()
    state.add_store(1, "London", "LON1")
    state.add_warehouse(101, 1, "London", "GBP")
    state.add_warehouse(102, None, "Central FIFO", "GBP", warehousetype=10)
    state.add_product(1001, "TEE-BLK-M", "Tee black M", Decimal("25.00"), Decimal("20"))
    state.add_product(1002, "OLD-1", "Old", Decimal("5.00"), Decimal("20"), active=False)
    for oid in range(5001, 5026):  # 25 orders
        state.add_order(sale(oid))
    return state


@pytest.fixture
def sitoo_client(sitoo_state: sitoo.SitooState) -> TestClient:
    client = TestClient(sitoo.create_app(sitoo_state, SITOO))
    client.auth = (SITOO.api_id, SITOO.password)
    return client


@pytest.fixture
def sage_state() -> sage200.Sage200State:
    state = sage200.Sage200State()
    state.add_site(SAGE.site_id, 3)
    state.add_customer(1042, "CASH01", "Cash", cash=True)
    state.add_tax_code(2101, 1, "Standard", Decimal("20.00"))
    state.add_tax_code(2100, 0, "Zero", Decimal("0.00"))
    state.add_warehouse(3001, "WH-LON", "London")
    state.add_product(77001, "TEE-BLK-M", "Tee black M", 2101, Decimal("20.83"))
    state.add_product(77002, "BOOK", "Book", 2100, Decimal("9.99"))
    state.add_nominal_code(5001, "4000", "Sales")
    state.add_nominal_code(5002, "2200", "VAT")
    state.add_nominal_code(5003, "4999", "Old", active=False)
    state.add_bank(4001, "1210", "Cash")
    state.add_bank(4002, "1220", "Card")
    state.add_bank(4009, "1290", "Old card", active=False)
    return state


@pytest.fixture
def sage_client(sage_state: sage200.Sage200State) -> TestClient:
    client = TestClient(sage200.create_app(sage_state, SAGE))
    client.headers.update(SAGE_HEADERS)
    return client
