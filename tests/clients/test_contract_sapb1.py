"""SapB1Client against the SAP B1 Service Layer simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from recon.clients import AuthError, NotFoundError, RecordLocked, RejectedError
from recon.erp.sapb1.client import Item, SapB1Client
from recon.simulators.faults import Faults
from recon.simulators.sapb1 import BASE_PATH, SapB1Credentials, SapB1State, create_app
from recon.simulators.serve import serve_in_thread
from tests.simulators.test_sapb1 import seeded

CREDS = SapB1Credentials()
Served = tuple[str, SapB1State, Faults]


@pytest.fixture
def served() -> Iterator[Served]:
    state, faults = seeded(), Faults(retry_after_seconds=0)
    with serve_in_thread(create_app(state, CREDS, faults)) as root:
        yield root + BASE_PATH, state, faults


def client(base_url: str, password: str = CREDS.password, **kw: object) -> SapB1Client:
    return SapB1Client(
        base_url,
        CREDS.company_db,
        CREDS.user,
        password,
        min_wait=0.001,
        max_wait=0.01,
        **kw,  # type: ignore[arg-type]
    )


SALE = {
    "CardCode": "CASH01",
    "DocDate": "2024-06-01",
    "NumAtCard": "5120",
    "DocumentLines": [
        {
            "ItemCode": "TEE-BLK-M",
            "Quantity": 2,
            "Price": Decimal("20.83"),
            "VatGroup": "1",
            "WarehouseCode": "WH-LON",
        }
    ],
}


def test_reads_every_page_with_the_server_page_size(served: Served) -> None:
    base_url, _, _ = served
    with client(base_url, page_size=7) as c:
        items = [f.item for f in c.iter_items() if f.item]
        one = c.get("Items", "TEE-BLK-M", Item)
        accounts = {f.item.Code: f.item.active for f in c.iter_accounts() if f.item}
        rates = {f.item.Code: f.item.rate() for f in c.iter_vat_groups() if f.item}
        assert c.logins == 1
    assert len(items) == 25  # 4 pages of 7
    assert one.ItemWarehouseInfoCollection[0].available == Decimal(8)
    assert accounts == {"4000": True, "1210": True, "1220": True, "1290": False}
    assert rates == {"1": Decimal("20"), "0": Decimal("0")}


def test_post_invoice_then_find_it_by_num_at_card(served: Served) -> None:
    base_url, _, _ = served
    with client(base_url) as c:
        assert c.find_by_num_at_card("Invoices", "5120") == []
        doc = c.create_invoice(SALE)
        found = c.find_by_num_at_card("Invoices", "5120")
        since = [f.key for f in c.iter_invoices(updated_since=date(2000, 1, 1))]
    assert (doc.DocTotal, doc.VatSum) == (Decimal("49.99"), Decimal("8.33"))
    assert [d.DocEntry for d in found] == [doc.DocEntry]
    assert found[0].DocumentLines[0].WarehouseCode == "WH-LON"
    assert since == [str(doc.DocEntry)]


def test_refund_credit_note_and_tenders(served: Served) -> None:
    base_url, _, _ = served
    with client(base_url) as c:
        doc = c.create_invoice(SALE)
        pay = c.create_incoming_payment(
            {
                "CardCode": "CASH01",
                "CounterReference": "5120",
                "CashAccount": "1210",
                "CashSum": Decimal("9.99"),
                "PaymentCreditCards": [
                    {
                        "CreditCard": 1,
                        "CreditAcct": "1220",
                        "VoucherNum": "5120-2",
                        "CreditSum": Decimal("40.00"),
                    }
                ],
                "PaymentInvoices": [{"DocEntry": doc.DocEntry, "SumApplied": Decimal("49.99")}],
            }
        )
        note = c.create_credit_note(
            {
                "CardCode": "CASH01",
                "NumAtCard": "5121",
                "DocumentLines": [
                    {"BaseType": 13, "BaseEntry": doc.DocEntry, "BaseLine": 0, "Quantity": 1}
                ],
            }
        )
        back = c.create_vendor_payment(
            {
                "CardCode": "CASH01",
                "CounterReference": "5121",
                "CashAccount": "1210",
                "CashSum": note.DocTotal,
            }
        )
        assert [p.DocEntry for p in c.find_payments("IncomingPayments", "5120")] == [pay.DocEntry]
        assert [p.CashSum for p in c.find_payments("VendorPayments", "5121")] == [back.CashSum]
    assert note.DocTotal == Decimal("25.00")
    assert (note.DocumentLines[0].BaseEntry, note.DocumentLines[0].BaseLine) == (doc.DocEntry, 0)
    assert pay.PaymentCreditCards[0].CreditSum == Decimal("40.00")


def test_session_timeout_logs_in_again(served: Served) -> None:
    base_url, state, _ = served
    with client(base_url) as c:
        list(c.iter_warehouses())
        state.expire_sessions()
        assert len(list(c.iter_warehouses())) == 2
        assert c.logins == 2
        c.logout()
        assert state.sessions == {}


def test_wrong_password_is_auth_error(served: Served) -> None:
    base_url, _, _ = served
    with pytest.raises(AuthError) as caught, client(base_url, password="nope") as c:
        list(c.iter_warehouses())
    assert "SAPB1_PASSWORD" in str(caught.value)


def test_vendor_errors_map_to_the_tree(served: Served) -> None:
    base_url, state, faults = served
    with client(base_url, max_attempts=3) as c:
        with pytest.raises(NotFoundError):
            c.get("Items", "NOPE", Item)
        with pytest.raises(RejectedError) as caught:
            c.create_invoice({**SALE, "CardCode": "NOPE"})
        assert "OINV.CardCode" in caught.value.detail
        faults.queue("POST", "/Invoices", "record_lock")  # refused, then accepted
        assert c.create_invoice(SALE).NumAtCard == "5120"
        state.hold("BusinessPartners", "CASH01")
        with pytest.raises(RecordLocked):
            c.create_invoice(SALE)
        faults.queue("GET", "/Warehouses", "server_error", times=2)
        assert len(list(c.iter_warehouses())) == 2
