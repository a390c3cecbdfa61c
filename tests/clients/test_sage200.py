"""Sage200Client against a fake OData router: headers, paging, filters, lookups, postings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recon.clients import MalformedResponse, RecordLocked, RejectedError, ServerError
from recon.erp.sage200.client import Customer, Sage200Client, odata_datetime, odata_string
from tests.clients.fakes import FakeSage, Recorder, json_response, scripted

TOKEN = "eyJ-token-secret"
KEY = "0f0f-subscription-secret"


def client(rec: Recorder | Any, page_size: int = 2, max_attempts: int = 3) -> Sage200Client:
    handler = rec if isinstance(rec, Recorder) else Recorder(rec)
    return Sage200Client(
        "https://api.example.test/uk/sage200/accounts/v1/",
        TOKEN,
        KEY,
        "8d2c6f3a-site",
        3,
        transport=handler.transport(),
        page_size=page_size,
        max_attempts=max_attempts,
        min_wait=0.001,
        max_wait=0.01,
    )


def customers(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "reference": f"C{i:03d}", "balance": 10.5} for i in range(1, n + 1)]


@pytest.mark.parametrize(
    ("n_rows", "expected_filters"),
    [
        (0, [None]),  # empty
        (4, [None, "id gt 2", "id gt 4"]),  # exact multiple: one more (empty) page proves the end
        (5, [None, "id gt 2", "id gt 4"]),  # short last page
    ],
)
def test_paging_by_key_until_a_short_page(n_rows: int, expected_filters: list[str | None]) -> None:
    rec = Recorder(FakeSage({"customers": customers(n_rows)}))
    got = [f.key for f in client(rec).iter_customers()]
    assert got == [str(i) for i in range(1, n_rows + 1)]
    assert [r.url.params.get("$filter") for r in rec.requests] == expected_filters
    assert all("$skip" not in r.url.params for r in rec.requests)
    for r in rec.requests:
        assert (r.url.params["$top"], r.url.params["$orderby"]) == ("2", "id asc")
        assert r.url.path == "/uk/sage200/accounts/v1/customers"


@pytest.mark.parametrize(
    "rows",
    [
        [{"id": 1}, {"reference": "no id"}],  # the page ends without a key
        [{"id": 1}, {"id": "2"}],  # a key that is not a number
    ],
)
def test_a_page_without_a_rising_key_is_malformed_not_a_loop(rows: list[dict[str, Any]]) -> None:
    with pytest.raises(MalformedResponse, match="cannot ask for the next page"):
        list(client(FakeSage({"customers": rows})).iter_customers())


def test_a_select_always_carries_the_paging_key() -> None:
    rec = Recorder(FakeSage({"customers": customers(1)}))
    sage = client(rec)
    list(sage.iter_collection("customers", Customer, select="reference"))
    list(sage.iter_collection("customers", Customer, select="id, reference"))
    assert [r.url.params["$select"] for r in rec.requests] == ["reference,id", "id,reference"]


def test_headers_carry_token_key_site_and_company() -> None:
    rec = Recorder(FakeSage({"banks": []}))
    list(client(rec).iter_banks())
    h = rec.requests[0].headers
    assert h["authorization"] == f"Bearer {TOKEN}"
    assert h["ocp-apim-subscription-key"] == KEY
    assert (h["x-site"], h["x-company"]) == ("8d2c6f3a-site", "3")


def test_updated_since_filter_is_utc_with_z() -> None:
    rec = Recorder(FakeSage({"products": []}))
    since = datetime(2024, 6, 1, 11, 52, 11, 452000, tzinfo=timezone(timedelta(hours=2)))
    list(client(rec).iter_products(updated_since=since))
    assert rec.requests[0].url.params["$filter"] == "date_time_updated gt 2024-06-01T09:52:11Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 6, 1, 9, 52, 11, tzinfo=UTC), "2024-06-01T09:52:11Z"),
        (datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2023-12-31T23:30:00Z"),
    ],
)
def test_odata_datetime(value: datetime, expected: str) -> None:
    assert odata_datetime(value) == expected


def test_odata_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="UTC-aware"):
        odata_datetime(datetime(2024, 6, 1))


def test_odata_string_doubles_quotes() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"


def test_models_parse_numbers_exactly_and_dates_as_utc() -> None:
    rows = [
        {
            "id": 2281,
            "document_no": "0000004412",
            "customer_document_no": "5120",
            "document_date": "2024-06-01T00:00:00",
            "total_net_value": 20.83,
            "total_tax_value": 0.10,
            "total_gross_value": 125.5,
            "date_time_updated": "2024-06-01T09:52:11.452Z",
            "lines": [
                {"id": 1, "code": "TEE", "line_quantity": 1.00000, "line_total_value": 20.83}
            ],
        }
    ]
    rec = Recorder(FakeSage({"sop_orders": rows}))
    [f] = list(client(rec).iter_sop_orders())
    o = f.item
    assert o is not None
    assert (o.total_net_value, o.total_gross_value) == (Decimal("20.83"), Decimal("125.5"))
    assert str(o.total_tax_value) == "0.1"  # JSON 0.10 == 0.1: Sage sends numbers
    assert o.document_date == datetime(2024, 6, 1, tzinfo=UTC)
    assert o.date_time_updated == datetime(2024, 6, 1, 9, 52, 11, 452000, tzinfo=UTC)
    assert o.lines[0].line_quantity == Decimal("1.00000")
    assert rec.requests[0].url.params["$expand"] == "lines"


def test_tax_code_validation_error_names_the_field() -> None:
    rows = [
        {"id": 1, "code": 1, "name": "Standard", "tax_rate": 20.00},
        {"id": 2, "code": "T-one", "name": "Bad", "tax_rate": 5},
        {"id": 3, "code": 0, "name": "Zero", "tax_rate": 0},
    ]
    rec = Recorder(FakeSage({"tax_codes": rows}))
    got = list(client(rec, page_size=500).iter_tax_codes())
    assert [(f.key, f.item is not None) for f in got] == [("1", True), ("2", False), ("3", True)]
    assert got[1].error is not None and got[1].error.startswith("code: ")
    assert got[0].item is not None and got[0].item.tax_rate == Decimal("20.00")


def test_find_sop_orders_filters_on_customer_document_no() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["$filter"] == "customer_document_no eq '5120'"
        assert request.url.params["$expand"] == "lines"
        assert "$orderby" in request.url.params
        return json_response(200, [{"id": 7, "customer_document_no": "5120", "lines": []}])

    found = client(handler).find_sop_orders("5120")
    assert [(o.id, o.customer_document_no) for o in found] == [(7, "5120")]


def test_find_posted_transactions_filters_on_reference() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["$filter"])
        return json_response(
            200, [{"id": 1, "reference": "5120", "urn": 118842, "document_gross_value": -25.0}]
        )

    [t] = client(handler, page_size=5).find_posted_transactions("5120")
    assert seen == ["reference eq '5120'"]
    assert (t.urn, t.document_gross_value) == (118842, Decimal("-25.0"))


def test_find_customers_by_email_asks_the_contacts_then_their_customers() -> None:
    asked: list[tuple[str, str, str | None]] = []
    emails = [  # e-mail record -> its contact's customer
        {"id": 1, "email": "o'brien@example.com", "customer_contact": {"id": 11, "customer_id": 7}},
        {"id": 2, "email": "o'brien@example.com", "customer_contact": {"id": 12, "customer_id": 7}},
        {"id": 3, "email": "o'brien@example.com", "customer_contact": {"id": 13, "customer_id": 3}},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1]
        params = request.url.params
        asked.append((resource, params["$filter"], params.get("$expand")))
        if resource == "customer_emails":
            return json_response(200, emails if "brien" in params["$filter"] else [])
        return json_response(200, [{"id": 3, "reference": "OB3"}, {"id": 7, "reference": "OB7"}])

    found = client(handler, page_size=5).find_customers_by_email("o'brien@example.com")
    assert [c.reference for c in found] == ["OB3", "OB7"]
    assert asked == [
        ("customer_emails", "email eq 'o''brien@example.com'", "customer_contact"),
        ("customers", "id eq 3 or id eq 7", None),  # each customer once
    ]
    asked.clear()
    assert client(handler).find_customers_by_email("nobody@example.com") == []
    assert [a[0] for a in asked] == ["customer_emails"]  # no customer to ask for


def test_lookup_with_a_record_that_does_not_fit_raises() -> None:
    rows = [{"id": "not-a-number", "customer_document_no": "5120"}]
    with pytest.raises(MalformedResponse, match="sop_orders"):
        client(FakeSage({"sop_orders": rows})).find_sop_orders("5120")


def test_create_sop_order_sends_decimals_exactly_and_returns_the_order() -> None:
    fake = FakeSage({})
    body = {
        "customer_id": 1042,
        "customer_document_no": "5120",
        "lines": [
            {
                "product_id": 77310,
                "line_quantity": Decimal("1"),
                "selling_unit_price": Decimal("20.83"),
                "unit_discount_value": Decimal("0.10"),
            }
        ],
    }
    order = client(fake).create_sop_order(body)
    assert (order.id, order.document_no, order.customer_document_no) == (9001, "0000000001", "5120")
    [(resource, content)] = fake.posted
    assert resource == "sop_orders"
    assert b'"selling_unit_price":20.83' in content
    assert b'"unit_discount_value":0.10' in content
    assert json.loads(content, parse_float=Decimal)["lines"][0]["unit_discount_value"] == Decimal(
        "0.10"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("create_sales_receipt", "sales_receipts"),
        ("create_sales_payment", "sales_payments"),
        ("create_sales_credit_note", "sales_credit_notes"),
        ("create_bank_receipt", "bank_receipt"),
    ],
)
def test_ledger_postings_return_the_urn(method: str, path: str) -> None:
    fake = FakeSage({})
    urn = getattr(client(fake), method)({"customer_id": 1, "cheque_value": Decimal("125.50")})
    assert urn == "118842"
    assert fake.posted == [(path, b'{"customer_id":1,"cheque_value":125.50}')]


def test_posting_rejected_keeps_sage_message() -> None:
    rec = scripted(json_response(400, {"message": "Customer record Id 9999 does not exist."}))
    with pytest.raises(RejectedError) as info:
        client(rec).create_sales_receipt({"customer_id": 9999})
    assert info.value.detail == "Customer record Id 9999 does not exist."
    assert len(rec.requests) == 1


def test_locked_record_is_retried_then_posts() -> None:
    rec = scripted(
        json_response(400, {"message": "The customer account is in use by another user."}),
        json_response(200, {"urn": "55"}),
    )
    assert client(rec).create_sales_receipt({"customer_id": 1}) == "55"
    assert len(rec.requests) == 2


def test_locked_record_gives_up_as_record_locked() -> None:
    rec = scripted(json_response(400, {"message": "Record is locked"}))
    with pytest.raises(RecordLocked):
        client(rec, max_attempts=2).create_sales_receipt({"customer_id": 1})
    assert len(rec.requests) == 2


def test_504_tunnel_on_reads_is_retried_then_server_error() -> None:
    rec = scripted(httpx.Response(504, text="<html>Gateway Timeout</html>"))
    with pytest.raises(ServerError) as info:
        list(client(rec, max_attempts=3).iter_banks())
    assert len(rec.requests) == 3
    assert info.value.detail == "HTML error page"


def test_no_secret_in_any_log_line(caplog: pytest.LogCaptureFixture) -> None:
    rec = scripted(
        json_response(500, {"message": f"token {TOKEN} key {KEY}"}),
        json_response(200, []),
    )
    with caplog.at_level("DEBUG"):
        list(client(rec).iter_customers())
    assert len([r for r in caplog.records if r.name == "recon.http"]) == 2
    assert TOKEN not in caplog.text and KEY not in caplog.text
