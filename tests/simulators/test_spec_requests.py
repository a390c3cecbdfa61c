"""The simulators refuse what the vendors' schemas refuse: every write body is taken from a
valid one, one field at a time given a value of the wrong type, too long or null (read
from the vendor's schema, not from the simulator), and each must come back as the vendor's
400 while nothing is written."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from recon.simulators import sage200, sitoo
from tests.simulators.conftest import SAGE, SAGE_HEADERS, SITE, SITOO, B
from tests.simulators.spec import SAGE200_SPEC, SITOO_SPEC, Spec

TEE = {"line_type": "EnumLineTypeStandard", "product_id": 77001, "warehouse_id": 3001,
       "code": "TEE-BLK-M", "description": "Tee black M", "line_quantity": 1,
       "selling_unit_price": 20.83, "tax_code_id": 2101}  # fmt: skip
SAGE_BODIES: dict[str, dict[str, Any]] = {
    "/sop_orders": {"customer_id": 1042, "document_no": "", "customer_document_no": "5120",
                    "document_date": "2024-06-01T00:00:00", "lines": [TEE]},
    "/sales_invoices": {"customer_id": 1042, "transaction_date": "2024-06-01T00:00:00",
                        "reference": "5120", "second_reference": "LON1",
                        "document_goods_value": 20.83, "document_tax_value": 4.17,
                        "tax_analysis_items": [{"id": 2101, "goods_amount": 20.83,
                                                "tax_amount": 4.17}],
                        "nominal_analysis_items": [{"code": "4000", "cost_centre": "",
                                                    "department": "", "narrative": "POS sale",
                                                    "value": 20.83}]},
    "/sales_credit_notes": {"customer_id": 1042, "transaction_date": "2024-06-02T00:00:00",
                            "reference": "5121", "second_reference": "5120",
                            "document_goods_value": 20.83, "document_tax_value": 4.17,
                            "tax_analysis_items": [{"id": 2101, "goods_amount": 20.83,
                                                    "tax_amount": 4.17}],
                            "nominal_analysis_items": [{"code": "4000", "value": 20.83}]},
    "/sales_receipts": {"customer_id": 1042, "bank_id": 4002, "cheque_value": 25.0,
                        "transaction_date": "2024-06-01T00:00:00", "reference": "5120",
                        "second_reference": "Card"},
    "/sales_payments": {"customer_id": 1042, "bank_id": 4002, "cheque_value": 25.0,
                        "transaction_date": "2024-06-02T00:00:00", "reference": "5121",
                        "second_reference": "Card"},
    "/bank_receipt": {"bank_id": 4001, "transaction_date": "2024-06-01T00:00:00",
                      "reference": "1-2024-06-01", "second_reference": "Cash",
                      "nominal_analysis_items": [{"code": "4000", "gross_value": 12.0,
                                                  "goods_value": 10.0, "tax_value": 2.0,
                                                  "tax_code_id": 2101}]},
}  # fmt: skip


def _wrong(prop: dict[str, Any]) -> Iterator[Any]:
    """Values the schema `prop` refuses."""
    yield None  # neither vendor's schema has a nullable field
    kind = prop.get("type")
    if kind == "string":
        yield 7
        if "maxLength" in prop:
            yield "x" * (prop["maxLength"] + 1)
    elif kind in ("number", "integer"):
        yield "7"
        if kind == "integer":
            yield 7.5
    elif kind == "boolean":
        yield "true"
    elif kind == "array":
        yield {"not": "an array"}
    elif kind == "object":
        yield ["not an object"]


def _resolve(spec: Spec, node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec.doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def mutations(spec: Spec, schema: dict[str, Any], body: Any) -> Iterator[tuple[str, Any]]:
    """(where, body with that one field wrong) for every writable field of `schema`, and
    for the fields of the first element of each array of objects `body` holds."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        for where, bad in mutations(spec, schema["items"], body[0]):
            yield f"[0]{where}", [bad, *body[1:]]
        return
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(spec, prop)
        if prop.get("readOnly"):
            continue  # a server ignores what it writes itself
        for value in _wrong(prop):
            yield f".{name}={value!r:.20}", {**body, name: value}
        items = _resolve(spec, prop.get("items", {}))
        if prop.get("type") == "array" and "properties" in items and body.get(name):
            for where, bad in mutations(spec, items, body[name][0]):
                yield f".{name}[0]{where}", {**body, name: [bad, *body[name][1:]]}


@pytest.mark.parametrize("path", sorted(SAGE_BODIES))
def test_sage200_refuses_every_body_its_schema_refuses(
    path: str, sage_state: sage200.Sage200State
) -> None:
    client = TestClient(sage200.create_app(sage_state, SAGE))
    client.headers.update(SAGE_HEADERS)
    schema, body = SAGE200_SPEC.request("POST", path), SAGE_BODIES[path]
    assert not SAGE200_SPEC.problems(schema, body)
    written = (
        len(sage_state.sop_orders),
        len(sage_state.sales_posted),
        len(sage_state.bank_posted),
    )
    tried = 0
    for where, bad in mutations(SAGE200_SPEC, schema, body):
        assert SAGE200_SPEC.problems(schema, bad), where  # the schema does refuse it
        answer = client.post(B + path, json=bad)
        assert answer.status_code == 400, f"{path}{where}: {answer.status_code} {answer.text}"
        assert set(answer.json()) == {"message"}, where
        tried += 1
    now = (len(sage_state.sop_orders), len(sage_state.sales_posted), len(sage_state.bank_posted))
    assert now == written
    assert tried > 20
    assert client.post(B + path, json=body).status_code == 200  # the valid body still posts


def _sitoo_refused(answer: Any) -> bool:
    """A one-element batch is refused as a whole (the error body) or in its envelope."""
    body = answer.json()
    if answer.status_code == 400:
        return not SITOO_SPEC.problems(SITOO_SPEC.schema("Error-read"), body)
    return answer.status_code == 200 and [e["statuscode"] for e in body] == [400]


SITOO_BODIES = {
    "/sites/{siteid}/warehouses/{warehouseid}/warehouseitems.json": (
        "PUT", f"{SITE}/warehouses/101/warehouseitems.json",
        [{"sku": "TEE-BLK-M", "decimaltotal": "5.000", "binlocation": "A1"}],
    ),
    "/sites/{siteid}/warehousetransactions.json": (
        "POST", f"{SITE}/warehousetransactions.json",
        [{"warehouseid": 102, "transactiontype": 10, "description": "in",
          "items": [{"sku": "TEE-BLK-M", "decimalquantity": "2.000"}]}],
    ),
    "/sites/{siteid}/products.json": (
        "PUT", f"{SITE}/products.json",
        [{"productid": 1001, "sku": "TEE-BLK-M", "title": "Tee", "moneyprice": "26.00",
          "activepos": True}],
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(SITOO_BODIES))
def test_sitoo_refuses_every_body_its_schema_refuses(
    path: str, sitoo_state: sitoo.SitooState
) -> None:
    client = TestClient(sitoo.create_app(sitoo_state, SITOO))
    client.auth = (SITOO.api_id, SITOO.password)
    method, url, body = SITOO_BODIES[path]
    schema = SITOO_SPEC.request(method, path)
    assert not SITOO_SPEC.problems(schema, body)
    before = copy.deepcopy((sitoo_state.products, sitoo_state.warehouse_items))
    tried = 0
    for where, bad in mutations(SITOO_SPEC, schema, body):
        if where.startswith("[0].sku="):
            continue  # the element's key: an unknown SKU is its own 404
        assert SITOO_SPEC.problems(schema, bad), where
        answer = client.request(method, url, json=bad)
        assert _sitoo_refused(answer), f"{path}{where}: {answer.status_code} {answer.text}"
        tried += 1
    assert (sitoo_state.products, sitoo_state.warehouse_items) == before
    assert sitoo_state.warehouse_transactions == []
    assert tried > 5
    assert client.request(method, url, json=body).status_code == 200


def test_a_number_where_sitoo_wants_a_decimal_string_is_refused(
    sitoo_client: TestClient, sitoo_state: sitoo.SitooState
) -> None:
    answer = sitoo_client.put(
        f"{SITE}/warehouses/101/warehouseitems.json",
        json=[
            {"sku": "TEE-BLK-M", "decimaltotal": 5},
            {"sku": "TEE-BLK-M", "decimaltotal": "5.000"},
        ],
    )
    assert [e["statuscode"] for e in answer.json()] == [400, 200]  # the rest of the batch lands
    assert sitoo_state.warehouse_items[101]["TEE-BLK-M"]["decimaltotal"] == "5.000"


def test_sage_names_the_bad_field_and_where(sage_client: TestClient) -> None:
    bad = {**SAGE_BODIES["/sales_receipts"], "cheque_value": "25.00"}
    answer = sage_client.post(f"{B}/sales_receipts", json=bad)
    assert (answer.status_code, answer.json()) == (
        400,
        {"message": "cheque_value must be a number."},
    )
    order = {**SAGE_BODIES["/sop_orders"], "lines": [TEE, {**TEE, "product_id": "77001"}]}
    answer = sage_client.post(f"{B}/sop_orders", json=order)
    assert answer.json() == {"message": "lines[1].product_id must be an integer."}
