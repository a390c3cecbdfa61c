"""The Sage 200 simulator against reference/sage200.md and Sage's OpenAPI files."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from recon.simulators import sage200
from tests.simulators.conftest import SAGE, SAGE_HEADERS, B


def dec(response: Any) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def order_body(lines: list[dict[str, Any]], cdn: str = "5120") -> dict[str, Any]:
    return {
        "customer_id": 1042,
        "customer_document_no": cdn,
        "document_date": "2024-06-01",
        "lines": lines,
    }


TEE = {"product_id": 77001, "warehouse_id": 3001, "line_quantity": 1, "selling_unit_price": 20.83}


@pytest.fixture
def many_products(sage_state: sage200.Sage200State) -> sage200.Sage200State:
    for i in range(12):
        sage_state.add_product(80000 + i, f"P{i:02d}", f"Product {i}", 2101, Decimal("1.00"))
    return sage_state


def test_collections_are_bare_arrays_paged_with_top_and_skip(
    many_products: sage200.Sage200State, sage_client: TestClient
) -> None:
    def codes(response: Any) -> list[str]:
        return [p["code"] for p in response.json()]

    page = sage_client.get(f"{B}/products?$orderby=id asc&$top=5&$skip=10")
    assert codes(page) == ["P08", "P09", "P10", "P11"]  # last partial page
    assert sage_client.get(f"{B}/products?$orderby=id asc&$top=5&$skip=14").json() == []
    assert len(sage_client.get(f"{B}/products").json()) == 14  # default $top 500


@pytest.mark.parametrize(
    "query",
    ["$skip=5", "$top=5001", "$top=-1", "$top=x", "$orderby=id sideways", "$filter=code zz 'a'"],
)
def test_bad_odata_is_400_with_message(sage_client: TestClient, query: str) -> None:
    response = sage_client.get(f"{B}/products?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


def test_top_5000_is_accepted(sage_client: TestClient) -> None:
    assert sage_client.get(f"{B}/products?$top=5000").status_code == 200


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("code eq 'TEE-BLK-M'", ["TEE-BLK-M"]),
        ("code ne 'TEE-BLK-M'", ["BOOK"]),
        ("tax_code_id eq 2100", ["BOOK"]),
        ("startswith(code,'tee')", ["TEE-BLK-M"]),
        ("(code eq 'BOOK' or code eq 'TEE-BLK-M') and id gt 77001", ["BOOK"]),
        ("product_status_type eq EnumStockItemStatusTypeActive", ["TEE-BLK-M", "BOOK"]),
    ],
)
def test_filter_strings_numbers_enums(
    sage_client: TestClient, filter_: str, expected: list[str]
) -> None:
    response = sage_client.get(f"{B}/products", params={"$filter": filter_})
    assert [p["code"] for p in response.json()] == expected


def test_filter_on_datetimes(sage_state: sage200.Sage200State, sage_client: TestClient) -> None:
    first = sage_client.post(f"{B}/sop_orders", json=order_body([TEE], "1")).json()
    second = sage_client.post(f"{B}/sop_orders", json=order_body([TEE], "2")).json()
    assert second["date_time_updated"] > first["date_time_updated"]
    since = first["date_time_updated"]
    newer = sage_client.get(f"{B}/sop_orders", params={"$filter": f"date_time_updated gt {since}"})
    assert [o["customer_document_no"] for o in newer.json()] == ["2"]
    by_day = sage_client.get(f"{B}/sop_orders", params={"$filter": "document_date ge 2024-06-01"})
    assert len(by_day.json()) == 2
    assert (
        sage_client.get(f"{B}/sop_orders?$filter=document_date gt 2024-06-01T00:00:00Z").json()
        == []
    )


def test_orderby_desc_and_select(sage_client: TestClient) -> None:
    rows = sage_client.get(f"{B}/products?$orderby=code desc&$select=id,code").json()
    assert rows == [{"id": 77001, "code": "TEE-BLK-M"}, {"id": 77002, "code": "BOOK"}]


def test_post_sop_order_computes_totals_per_line(sage_client: TestClient) -> None:
    lines = [
        TEE,
        {**TEE, "line_quantity": 3, "selling_unit_price": 6.94333},  # 20.83 net over 3 units
        {"product_id": 77002, "warehouse_id": 3001, "line_quantity": 2, "selling_unit_price": 9.99},
    ]
    response = sage_client.post(f"{B}/sop_orders", json=order_body(lines))
    assert response.status_code == 200
    order = dec(response)
    assert [(ln["line_total_value"], ln["line_tax_value"]) for ln in order["lines"]] == [
        (Decimal("20.83"), Decimal("4.17")),
        (Decimal("20.83"), Decimal("4.17")),
        (Decimal("19.98"), Decimal("0.00")),
    ]
    assert (order["total_net_value"], order["total_tax_value"], order["total_gross_value"]) == (
        Decimal("61.64"),
        Decimal("8.34"),
        Decimal("69.98"),
    )
    assert order["document_no"] and order["customer_document_no"] == "5120"
    listed = sage_client.get(f"{B}/sop_orders?$filter=customer_document_no eq '5120'").json()
    assert [o["id"] for o in listed] == [order["id"]] and "lines" not in listed[0]
    expanded = sage_client.get(f"{B}/sop_orders/{order['id']}?$expand=lines").json()
    assert len(expanded["lines"]) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customer_id": 9999}, "Customer record Id 9999 does not exist."),
        ({"lines": [{**TEE, "product_id": 1}]}, "Product record Id 1 does not exist."),
        ({"lines": [{**TEE, "warehouse_id": 2}]}, "Warehouse record Id 2 does not exist."),
        ({"lines": [{**TEE, "tax_code_id": 3}]}, "Tax code record Id 3 does not exist."),
        ({"lines": []}, "A sales order must have at least one line."),
    ],
)
def test_bad_foreign_ids_are_400_naming_the_first(
    sage_client: TestClient, change: dict[str, Any], message: str
) -> None:
    response = sage_client.post(f"{B}/sop_orders", json={**order_body([TEE]), **change})
    assert (response.status_code, response.json()) == (400, {"message": message})


def test_receipts_payments_credit_notes_return_urn_and_post(sage_client: TestClient) -> None:
    receipt = sage_client.post(
        f"{B}/sales_receipts",
        json={
            "customer_id": 1042,
            "bank_id": 4002,
            "cheque_value": 25.00,
            "reference": "5120",
            "second_reference": "Card",
            "transaction_date": "2024-06-01",
        },
    )
    payment = sage_client.post(
        f"{B}/sales_payments",
        json={
            "customer_id": 1042,
            "bank_id": 4001,
            "cheque_value": 5.00,
            "reference": "5121",
            "second_reference": "Cash",
        },
    )
    credit = sage_client.post(
        f"{B}/sales_credit_notes",
        json={
            "customer_id": 1042,
            "reference": "5121",
            "second_reference": "5120",
            "document_goods_value": 4.17,
            "document_tax_value": 0.83,
            "tax_analysis_items": [{"id": 2101, "goods_amount": 4.17, "tax_amount": 0.83}],
        },
    )
    urns = [r.json()["urn"] for r in (receipt, payment, credit)]
    assert all(isinstance(u, str) for u in urns) and len(set(urns)) == 3
    posted = dec(sage_client.get(f"{B}/sales_posted_transactions?$orderby=urn asc"))
    assert [
        (str(p["urn"]), p["trader_transaction_type"], p["document_gross_value"]) for p in posted
    ] == [
        (urns[0], sage200.TT_RECEIPT, Decimal("-25.00")),
        (urns[1], sage200.TT_PAYMENT, Decimal("5.00")),
        (urns[2], sage200.TT_CREDIT_NOTE, Decimal("-5.00")),
    ]
    bank = dec(sage_client.get(f"{B}/bank_posted_transactions?$filter=reference eq '5120'"))
    assert [(b["bank_id"], b["bank_transaction_type"], b["cheque_value"]) for b in bank] == [
        (4002, sage200.BT_SALES_RECEIPT, Decimal("25.00"))
    ]
    by_urn = sage_client.get(f"{B}/sales_posted_transactions?$filter=urn eq {urns[0]}").json()
    assert by_urn[0]["reference"] == "5120"
    via_bank = sage_client.get(f"{B}/banks/4001/bank_posted_transactions").json()
    assert [b["reference"] for b in via_bank] == ["5121"]


def test_bank_receipt_posts_to_cash_book_only(sage_client: TestClient) -> None:
    response = sage_client.post(
        f"{B}/bank_receipt",
        json={
            "bank_id": 4002,
            "reference": "1-2024-06-01",
            "second_reference": "Card",
            "transaction_date": "2024-06-01",
            "nominal_analysis_items": [
                {
                    "code": "4000",
                    "gross_value": 120.00,
                    "goods_value": 100.00,
                    "tax_value": 20.00,
                    "tax_code_id": 2101,
                },
                {"code": "4000", "gross_value": 10.00, "goods_value": 10.00, "tax_value": 0},
            ],
        },
    )
    assert response.status_code == 200
    rows = dec(sage_client.get(f"{B}/bank_posted_transactions"))
    assert [(r["bank_transaction_type"], r["cheque_value"], r["urn"]) for r in rows] == [
        (sage200.BT_RECEIPT, Decimal("130.00"), int(response.json()["urn"]))
    ]
    assert sage_client.get(f"{B}/sales_posted_transactions").json() == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "sales_receipts",
            {"customer_id": 1042, "bank_id": 4009, "cheque_value": 1},
            "Bank account 1290 is hidden and cannot be posted to.",
        ),
        (
            "sales_receipts",
            {"customer_id": 1042, "bank_id": 4001, "cheque_value": 0},
            "cheque_value must be greater than zero.",
        ),
        (
            "sales_receipts",
            {"customer_id": 1042, "bank_id": 7, "cheque_value": 1},
            "Bank record Id 7 does not exist.",
        ),
        (
            "sales_credit_notes",
            {
                "customer_id": 1042,
                "document_goods_value": 10,
                "document_tax_value": 2,
                "tax_analysis_items": [{"id": 2101, "goods_amount": 9, "tax_amount": 2}],
            },
            "The tax analysis goods amounts do not add up to document_goods_value.",
        ),
        (
            "bank_receipt",
            {"bank_id": 4001, "nominal_analysis_items": [{"code": "4999", "gross_value": 1}]},
            "Nominal code 4999 is hidden and cannot be posted to.",
        ),
        (
            "sales_receipts",
            {"customer_id": 1042, "bank_id": 4001, "cheque_value": 1, "reference": "x" * 21},
            "reference must be a string of at most 20 characters.",
        ),
    ],
)
def test_posting_validation(
    sage_client: TestClient, path: str, body: dict[str, Any], message: str
) -> None:
    response = sage_client.post(f"{B}/{path}", json=body)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert sage_client.get(f"{B}/sales_posted_transactions").json() == []


@pytest.mark.parametrize(
    ("drop", "status", "key"),
    [
        ("ocp-apim-subscription-key", 401, "statusCode"),
        ("Authorization", 401, "statusCode"),
        ("X-Site", 400, "message"),
        ("X-Company", 400, "message"),
    ],
)
def test_auth_and_tenant_headers(
    sage_state: sage200.Sage200State, drop: str, status: int, key: str
) -> None:
    client = TestClient(sage200.create_app(sage_state, SAGE))
    headers = {k: v for k, v in SAGE_HEADERS.items() if k != drop}
    response = client.get(f"{B}/customers", headers=headers)
    assert response.status_code == status and key in response.json()


def test_sites_needs_no_tenant_headers(sage_state: sage200.Sage200State) -> None:
    client = TestClient(sage200.create_app(sage_state, SAGE))
    headers = {
        "Authorization": f"Bearer {SAGE.token}",
        "ocp-apim-subscription-key": SAGE.subscription_key,
    }
    assert client.get(f"{B}/sites", headers=headers).json()[0]["site_id"] == SAGE.site_id


def test_unknown_resource_and_id_are_404(sage_client: TestClient) -> None:
    assert sage_client.get(f"{B}/sop_invoices").status_code == 404
    assert sage_client.get(f"{B}/sop_orders/12345").status_code == 404
    assert sage_client.get("/elsewhere").json() == {
        "message": "The requested resource does not exist."
    }


def test_bad_json_body_is_400(sage_client: TestClient) -> None:
    response = sage_client.post(
        f"{B}/sop_orders", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"message": "The request body is not valid JSON."},
    )
