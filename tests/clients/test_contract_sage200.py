"""Sage200Client against the Sage 200 simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recon.clients import AuthError, RejectedError, Unreachable
from recon.erp.sage200.client import Sage200Client
from recon.simulators.faults import Faults
from recon.simulators.sage200 import BASE_PATH, Sage200Credentials, Sage200State, create_app
from recon.simulators.serve import serve_in_thread

CREDS = Sage200Credentials()


def seeded() -> Sage200State:
    state = Sage200State()
    state.add_site(CREDS.site_id, int(CREDS.company_id))
    state.add_customer(1042, "CASH01", "Cash sales", cash=True)
    state.add_tax_code(1, 1, "Standard", Decimal("20.00"))
    state.add_bank(7, "1220", "Card clearing")
    state.add_warehouse(12, "WH-LON", "London")
    for i in range(5):
        state.add_product(77310 + i, f"SKU{i}", f"Item {i}", 1, Decimal("20.83"))
    state.add_holding(12, 77310, Decimal("5"))
    return state


@pytest.fixture
def served() -> Iterator[tuple[str, Sage200State, Faults]]:
    state, faults = seeded(), Faults(retry_after_seconds=0)
    with serve_in_thread(create_app(state, CREDS, faults)) as root:
        yield root + BASE_PATH, state, faults


def client(base_url: str, token: str = CREDS.token, **kw: object) -> Sage200Client:
    return Sage200Client(
        base_url,
        token,
        CREDS.subscription_key,
        CREDS.site_id,
        CREDS.company_id,
        page_size=2,
        min_wait=0.001,
        max_wait=0.01,
        **kw,  # type: ignore[arg-type]
    )


def test_master_data_pages_and_parses(served: tuple[str, Sage200State, Faults]) -> None:
    base_url, _, _ = served
    with client(base_url) as c:
        products = [f.item.code for f in c.iter_products() if f.item]
        holdings = [f.item for f in c.iter_warehouse_holdings() if f.item]
        banks = [f.item.code for f in c.iter_banks() if f.item]
        taxes = [(f.item.code, f.item.tax_rate) for f in c.iter_tax_codes() if f.item]
        future = list(c.iter_products(updated_since=datetime.now(UTC) + timedelta(days=1)))
    assert products == [f"SKU{i}" for i in range(5)]
    assert [(h.warehouse_id, h.product_id, h.quantity_in_stock) for h in holdings] == [
        (12, 77310, Decimal("5"))
    ]
    assert banks == ["1220"]
    assert taxes == [(1, Decimal("20.00"))]
    assert future == []


def test_post_then_find_sop_order_and_receipt(served: tuple[str, Sage200State, Faults]) -> None:
    base_url, _, _ = served
    c = client(base_url)
    assert c.find_sop_orders("5120") == []
    order = c.create_sop_order(
        {
            "customer_id": 1042,
            "document_date": "2024-06-01",
            "customer_document_no": "5120",
            "lines": [
                {
                    "line_type": "EnumLineTypeStandard",
                    "product_id": 77310,
                    "warehouse_id": 12,
                    "code": "SKU0",
                    "description": "Item 0",
                    "line_quantity": Decimal("1"),
                    "selling_unit_price": Decimal("20.83"),
                    "tax_code_id": 1,
                }
            ],
        }
    )
    assert order.customer_document_no == "5120" and order.document_no
    [found] = c.find_sop_orders("5120")
    assert found.id == order.id
    assert found.lines[0].line_total_value == Decimal("20.83")
    urn = c.create_sales_receipt(
        {
            "customer_id": 1042,
            "bank_id": 7,
            "cheque_value": Decimal("25.00"),
            "transaction_date": "2024-06-01",
            "reference": "5120",
            "second_reference": "Card",
        }
    )
    posted = c.find_posted_transactions("5120")
    assert [str(p.urn) for p in posted] == [urn]


def test_customers_found_by_a_contacts_email(served: tuple[str, Sage200State, Faults]) -> None:
    base_url, state, _ = served
    state.add_customer(2001, "ANN", "Ann", email="ann@example.com")
    state.add_customer(2002, "BOB", "Bob", email="bob@example.com")
    state.add_customer_email(2002, "ann@example.com")  # a second contact of Bob's
    with client(base_url) as c:
        #      e-mail                 customers
        table = [
            ("ann@example.com", ["ANN", "BOB"]),
            ("bob@example.com", ["BOB"]),
            ("nobody@example.com", []),
        ]
        got = [(e, [x.reference for x in c.find_customers_by_email(e)]) for e, _ in table]
    assert got == table


def test_errors_from_the_simulator(served: tuple[str, Sage200State, Faults]) -> None:
    base_url, _, faults = served
    with pytest.raises(AuthError, match="SAGE200_TOKEN"):
        list(client(base_url, token="wrong").iter_banks())
    with pytest.raises(RejectedError, match="9999"):
        client(base_url).create_sales_receipt(
            {"customer_id": 9999, "bank_id": 7, "cheque_value": Decimal("1.00")}
        )
    faults.queue("POST", "/sales_receipts", "record_lock")
    faults.queue("POST", "/sales_receipts", "rate_limit")
    urn = client(base_url).create_sales_receipt(
        {"customer_id": 1042, "bank_id": 7, "cheque_value": Decimal("1.00"), "reference": "77"}
    )
    assert [str(p.urn) for p in client(base_url).find_posted_transactions("77")] == [urn]
    faults.queue("GET", "/banks", "html_error")
    faults.queue("GET", "/banks", "truncated_json")
    assert len(list(client(base_url).iter_banks())) == 1
    # The write lands but the answer is lost: not re-sent, the caller must look it up.
    faults.queue("POST", "/sales_receipts", "drop_after_commit")
    with pytest.raises(Unreachable) as info:
        client(base_url).create_sales_receipt(
            {"customer_id": 1042, "bank_id": 7, "cheque_value": Decimal("2.00"), "reference": "78"}
        )
    assert not info.value.safe_to_repeat
    assert len(client(base_url).find_posted_transactions("78")) == 1
