"""Every answer of the Sitoo and Sage 200 simulators validates against the vendor's OpenAPI
schema (tests/simulators/specs/), walked over a seeded scenario: lists, every single
record, the write answers and the error bodies. A client that passes here passes against
what the vendor publishes, not against a lenient simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from recon.simulators import sage200, sitoo
from recon.simulators._wire import dumps
from recon.simulators.scenario import Scenario, build_scenario
from tests.simulators.conftest import SAGE_HEADERS, SITOO, B
from tests.simulators.spec import SAGE200_SPEC, SITOO_SPEC

ROOT = f"/v2/accounts/{SITOO.account_id}"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario("small", 1, date(2024, 6, 10))


Answer = tuple[str, str, Any, int, Any]  # method, url, spec path, status, body


def _sitoo_answers(scenario: Scenario) -> Iterator[Answer]:
    scenario.sitoo.add_warehouse(999, None, "Central FIFO", "GBP", warehousetype=10)
    client = TestClient(sitoo.create_app(scenario.sitoo, SITOO))
    client.auth = (SITOO.api_id, SITOO.password)
    site = f"{ROOT}/sites/{scenario.sitoo.eshopid}"
    product = scenario.sitoo.products[0]

    def write(method: str, url: str, path: str, body: Any) -> Answer:
        r = client.request(method, site + url, json=body)
        assert r.status_code == 200, f"{method} {url}: {r.text}"  # a write that lands
        return method, url, "/sites/{siteid}" + path, r.status_code, r.json()

    # the write answers first, so the reads after them show what they wrote
    items = "/warehouses/{warehouseid}/warehouseitems.json"
    yield write("PUT", "/warehouses/999/warehouseitems.json", items, [{"sku": product["sku"]}])
    move = {"warehouseid": 999, "transactiontype": 10,
            "items": [{"sku": product["sku"], "decimalquantity": "2.000"}]}  # fmt: skip
    for batch in ([move], [move, move]):  # one transaction: its id; several: an envelope
        yield write("POST", "/warehousetransactions.json", "/warehousetransactions.json", batch)
    title = [{"productid": product["productid"], "title": "Tee"}]
    yield write("PUT", "/products.json", "/products.json", title)

    def get(url: str, path: str) -> Answer:
        r = client.get(url)
        return "GET", url, path, r.status_code, r.json()

    yield get(f"{ROOT}/sites.json", "/sites.json")
    yield get(f"{ROOT}/orders.json?eshopid=1&num=100000&sort=orderid", "/orders.json")
    yield get(f"{site}/orders.json?num=100000", "/sites/{siteid}/orders.json")
    for oid in scenario.sitoo.orders:
        yield get(f"{site}/orders/{oid}.json", "/sites/{siteid}/orders/{orderid}.json")
    yield get(f"{site}/stores.json?num=1000", "/sites/{siteid}/stores.json")
    yield get(f"{site}/warehouses.json?num=1000", "/sites/{siteid}/warehouses.json")
    for wh in scenario.sitoo.warehouses:
        yield get(
            f"{site}/warehouses/{wh['warehouseid']}/warehouseitems.json?num=100000",
            "/sites/{siteid}/warehouses/{warehouseid}/warehouseitems.json",
        )
    yield get(
        f"{site}/products.json?num=100000&includeinactive=true", "/sites/{siteid}/products.json"
    )
    # the error bodies: unknown order, bad parameter, bad credentials, unknown path
    yield get(f"{site}/orders/999999999.json", "/sites/{siteid}/orders/{orderid}.json")
    yield get(f"{ROOT}/orders.json?orderidfrom=x", "/orders.json")
    yield get(f"{ROOT}/no_such_thing.json", "/orders.json")
    client.auth = (SITOO.api_id, "wrong")
    yield get(f"{ROOT}/orders.json", "/orders.json")


def _sage_answers(scenario: Scenario) -> Iterator[Answer]:
    state = scenario.sage200
    state.add_product(99001, "GONE-1", "Discontinued", state.tax_codes[0]["id"], Decimal("1.00"),
                      active=False)  # fmt: skip
    client = TestClient(sage200.create_app(state, sage200.Sage200Credentials()))
    client.headers.update(SAGE_HEADERS)
    customer = state.customers[0]["id"]
    product, warehouse = state.products[0], state.warehouses[0]
    bank = next(b for b in state.banks if b["account_status_type"] == "AccountStatusActive")
    nominal = next(
        n for n in state.nominal_codes if n["account_status_type"] == "AccountStatusActive"
    )
    tax = state.tax_codes[0]
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/sop_orders", {"customer_id": customer, "customer_document_no": "5120",
                         "document_no": "", "document_date": "2024-06-01T00:00:00",
                         "lines": [{"line_type": "EnumLineTypeStandard",
                                    "product_id": product["id"], "warehouse_id": warehouse["id"],
                                    "line_quantity": 1,
                                    "code": product["code"], "description": product["name"],
                                    "selling_unit_price": 20.83, "tax_code_id": tax["id"]},
                                   {"line_type": "EnumLineTypeComment", "product_id": product["id"],
                                    "warehouse_id": warehouse["id"], "line_quantity": 0,
                                    "code": "", "description": "Thank you"}]}),
        ("/sales_credit_notes", {"customer_id": customer, "transaction_date": "2024-06-02T00:00:00",
                                 "reference": "5121", "second_reference": "5120",
                                 "document_goods_value": 20.83, "document_tax_value": 4.17,
                                 "tax_analysis_items": [{"id": tax["id"], "goods_amount": 20.83,
                                                         "tax_amount": 4.17}]}),
        ("/sales_receipts", {"customer_id": customer, "bank_id": bank["id"], "cheque_value": 25.0,
                             "transaction_date": "2024-06-01T00:00:00", "reference": "5120",
                             "second_reference": "Card"}),
        ("/sales_payments", {"customer_id": customer, "bank_id": bank["id"], "cheque_value": 25.0,
                             "transaction_date": "2024-06-02T00:00:00", "reference": "5121",
                             "second_reference": "Card"}),
        ("/bank_receipt", {"bank_id": bank["id"], "transaction_date": "2024-06-01T00:00:00",
                           "reference": "1-2024-06-01", "second_reference": "Cash",
                           "nominal_analysis_items": [{"code": nominal["reference"],
                                                       "cost_centre": "", "department": "",
                                                       "gross_value": 12.0, "goods_value": 10.0,
                                                       "tax_value": 2.0}]}),
    ]  # fmt: skip
    for path, body in posts:
        assert not SAGE200_SPEC.problems(SAGE200_SPEC.request("POST", path), body), (
            path
        )  # a valid request
        r = client.post(B + path, json=body)
        yield "POST", path, path, r.status_code, r.json()

    def get(url: str, path: str) -> Answer:
        r = client.get(B + url)
        return "GET", url, path, r.status_code, r.json()

    yield get("/sites", "/sites")
    tables = {
        "customers": state.customers,
        "customer_contacts": state.customer_contacts,
        "customer_emails": state.customer_emails,
        "products": state.products,
        "warehouses": state.warehouses,
        "warehouse_holdings": state.holdings,
        "tax_codes": state.tax_codes,
        "nominal_codes": state.nominal_codes,
        "banks": state.banks,
        "sop_orders": state.sop_orders,
        "sales_posted_transactions": state.sales_posted,
        "bank_posted_transactions": state.bank_posted,
    }
    for name, rows in tables.items():
        yield get(f"/{name}?$top=5000", f"/{name}")
        for row in list(rows):
            yield get(f"/{name}/{row['id']}", f"/{name}/{{Id}}")
    yield get("/sop_orders?$expand=lines&$top=5000", "/sop_orders")
    for order in list(state.sop_orders):
        yield get(f"/sop_orders/{order['id']}?$expand=lines", "/sop_orders/{Id}")
    yield get("/product_price_views?$top=5000", "/product_price_views")
    yield get(
        f"/banks/{bank['id']}/bank_posted_transactions", "/banks/{bankId}/bank_posted_transactions"
    )
    yield get(f"/customers/{customer}/sales_posted_transactions",
              "/customers/{customerId}/sales_posted_transactions")  # fmt: skip
    yield get(f"/warehouses/{warehouse['id']}/warehouse_holdings",
              "/warehouses/{warehouseId}/warehouse_holdings")  # fmt: skip
    yield get(f"/products/{product['id']}/warehouse_holdings",
              "/products/{productId}/warehouse_holdings")  # fmt: skip
    # error bodies: Sage documents none (400 "will include details"); the simulator's
    # invented shape is one object with a message
    yield get("/products?$skip=5", "/products")
    yield get("/products/999999999", "/products/{Id}")
    client.headers["ocp-apim-subscription-key"] = "wrong"  # the gateway's own 401
    yield get("/products", "/products")


BATCH = {"type": "array", "items": SITOO_SPEC.schema("batchResponse")}
# Sitoo's write answers have no schema in the spec, only words; these say the same.
SITOO_DESCRIBED = {
    # "Returns a batch envelope with warehouseitemid for the warehouseitems set."
    ("PUT", "/sites/{siteid}/warehouses/{warehouseid}/warehouseitems.json"): BATCH,
    # "Returns warehousetransactionid or a batch envelope if multiple transactions were added"
    ("POST", "/sites/{siteid}/warehousetransactions.json"): {"anyOf": [{"type": "integer"}, BATCH]},
    # "Returns true or a batch envelope if multiple products were updated"
    ("PUT", "/sites/{siteid}/products.json"): {"enum": [True]},
}


def _check(spec: Any, answers: Iterator[Answer], error_schema: Any) -> list[str]:
    failures: list[str] = []
    for method, url, path, status, body in answers:
        schema = spec.response(method, path, status) if status < 400 else error_schema
        if schema is None and spec is SITOO_SPEC:
            schema = SITOO_DESCRIBED.get((method, path))
        if schema is None:
            failures.append(f"{method} {url}: the spec has no schema for status {status}")
            continue
        failures += [f"{method} {url} ({status}) {p}" for p in spec.problems(schema, body)]
    return failures


def test_every_sitoo_answer_validates_against_the_sitoo_spec(scenario: Scenario) -> None:
    orders = scenario.sitoo.orders.values()
    assert any("creditorderid" in o for o in orders) and any(
        o["orderstateid"] != 10 for o in orders
    )
    failures = _check(SITOO_SPEC, _sitoo_answers(scenario), SITOO_SPEC.schema("Error-read"))
    assert not failures, "\n".join(failures[:40])


SAGE_ERROR = {"type": "object", "required": ["message"],
              "properties": {"message": {"type": "string"}}}  # fmt: skip


def test_every_sage200_answer_validates_against_sages_spec(scenario: Scenario) -> None:
    failures = _check(SAGE200_SPEC, _sage_answers(scenario), SAGE_ERROR)
    assert not failures, "\n".join(failures[:40])


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
lines = st.builds(
    sitoo.SitooLine,
    sku=st.from_regex(r"[A-Z0-9-]{1,12}", fullmatch=True),
    name=st.text(max_size=20),
    quantity=st.integers(min_value=1, max_value=50),
    unit_price_gross=money,
    vat_rate=st.sampled_from([Decimal(0), Decimal(5), Decimal("12.5"), Decimal(20)]),
    productid=st.none() | st.integers(min_value=1, max_value=10**6),
)
payments = st.builds(
    sitoo.SitooPayment,
    name=st.sampled_from(["Card", "Cash", "Gift Card"]),
    amount=money,
    reftype=st.none() | st.just("adyen"),
)


@settings(max_examples=60, deadline=None)
@given(
    sold=st.lists(lines, min_size=1, max_size=4),
    paid=st.lists(payments, min_size=1, max_size=2),
    refund=st.booleans(),
    register=st.none() | st.just("{3CCB9848-155A-49E1-7CA8-5F7F78FC3067}"),
)
def test_every_order_the_simulator_builds_is_a_sitoo_order(
    sold: list[sitoo.SitooLine], paid: list[sitoo.SitooPayment], refund: bool, register: str | None
) -> None:
    """Whatever the lines, payments and refund link, `build_order` gives Sitoo's order shape."""
    if refund:  # a refund: negative quantities and money, linked to the sale it returns
        sold = [replace(ln, quantity=-ln.quantity, original_orderitemid=0) for ln in sold]
        paid = [replace(p, amount=-p.amount) for p in paid]
    order = sitoo.build_order(
        orderid=5120, eshopid=1, warehouseid=3, orderdate=datetime(2024, 6, 1, tzinfo=UTC),
        currency="GBP", lines=sold, payments=paid, timezone="Europe/London",
        store_externalid="LON1", store_name="London", creditorderid=5119 if refund else None,
        registerid=register,
    )  # fmt: skip
    assert SITOO_SPEC.problems(SITOO_SPEC.schema("order-read"), json.loads(dumps(order))) == []
    assert ("creditorderid" in order) is refund
